// FlatFileStore's JournalLine: how the regular checkpoint reads a change's journal line without decoding it (the
// key, revision, pid, `unfinished`, and the order's bytes, found in the line's bytes), beside `Journal.decode`,
// which reads the same line as a JournalRecord.
//
// Input: one journal line (without its line break), as `Journal.scanLines` hands it over.
//
// Invariants:
// - JournalLine reads any bytes without crashing; what it finds is its line's: the order's bytes are a slice
//   of the line that starts with `{` (and, in a line that is JSON, ends with its `}`), and the key is 32
//   lowercase hex digits;
// - a decodable line, written again as `Journal.append` writes it (`JSONBytes.encode(record, order:)`, with
//   the order's bytes as the store made them, and also with the line's own order bytes when JournalLine found
//   some that decode): JournalLine finds exactly the lines whose record has an order, a key, a revision and a
//   pid (the last two written as digits: not negative), with the record's key, revision, pid and
//   `unfinished`, and the very order bytes that went in, which decode to the record's order;
// - the same holds for the input line itself when it is such a line (the bytes `Journal.append` would write
//   for its record). Other JSON may decode to a record and still be misread (a space before `true`, a key
//   given twice, an unknown object holding a `revision`): JournalLine reads only what JSONBytes writes, and
//   the journal holds nothing else (see JournalLine's comment).
import Foundation
@testable import FlatFileStore
import FuzzSupport
import Payments

private let decoder = JSONDecoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJournalLine(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let line = Array(bytes(data, count))[...]
    let found = JournalLine(line)
    if let found { checkWithin(found, line) }
    guard let record = Journal.decode(line, with: decoder) else {
        note("not a record; JournalLine: \(found.map(describe) ?? "nil")")
        return 0
    }
    if let found { invariant(found.order.last == UInt8(ascii: "}"), "JournalLine's order bytes in a line of JSON do not end with }") }
    note("a record \(record.kind.rawValue), revision \(record.revision.map(String.init) ?? "-"); JournalLine: \(found.map(describe) ?? "nil")")

    // As the store writes it: the order's bytes as `JSONBytes.encode(order)` made them (the file's content).
    let orderBytes = record.order.map(JSONBytes.encode)
    let written = JSONBytes.encode(record, order: orderBytes)
    invariant(written == JSONBytes.encode(record, order: nil), "a record with its order given as bytes is written differently")
    check(written, record, orderBytes: orderBytes, what: "the record written again")

    // With the line's own order bytes (an order file of another shape: Cross 0.2's, spaced out, ...).
    if let found, let own = try? decoder.decode(Order.self, from: Data(found.order)), record.order != nil {
        var copy = record
        copy.order = own
        let rewritten = JSONBytes.encode(copy, order: Array(found.order))
        check(rewritten, copy, orderBytes: Array(found.order), what: "the record written again around the line's order bytes")
        if rewritten[...] == line { note("the line is as Journal.append writes it") }
    } else if line == written[...] {
        note("the line is as Journal.append writes it")
    }
    return 0
}

/// `line`, written by JSONBytes for `record` with `orderBytes` as its order: JournalLine finds it exactly when it
/// must, and finds what was written.
private func check(_ line: [UInt8], _ record: JournalRecord, orderBytes: [UInt8]?, what: String) {
    let found = JournalLine(line[...])
    let text = String(decoding: line, as: UTF8.self)
    let findable = orderBytes != nil && record.key != nil && (record.revision ?? -1) >= 0 && (record.pid ?? -1) >= 0
    guard let found else {
        invariant(!findable, "JournalLine does not read \(what):\n\(text)")
        return
    }
    invariant(findable, "JournalLine reads \(what), which lacks an order, a key, a revision or a pid:\n\(text)")
    checkWithin(found, line[...])
    invariant(found.key == record.key, "JournalLine finds the key \(found.key), the record's is \(record.key.map(\.hex) ?? "nil"):\n\(text)")
    invariant(found.revision == record.revision,
              "JournalLine finds the revision \(found.revision), the record's is \(record.revision.map(String.init) ?? "nil"):\n\(text)")
    invariant(found.pid == record.pid, "JournalLine finds the pid \(found.pid), the record's is \(record.pid.map(String.init) ?? "nil"):\n\(text)")
    invariant(found.unfinished == (record.unfinished == true),
              "JournalLine finds unfinished \(found.unfinished), the record's is \(record.unfinished.map(String.init) ?? "nil"):\n\(text)")
    invariant(orderBytes.map { found.order.elementsEqual($0) } ?? false,
              "JournalLine's order bytes are not the ones written:\n\(String(decoding: found.order, as: UTF8.self))\n\(text)")
    let order = try? decoder.decode(Order.self, from: Data(found.order))
    invariant(order != nil && order == record.order, "JournalLine's order bytes do not decode to the record's order:\n\(text)")
}

/// What JournalLine found lies in its line: a slice that starts with `{`, and a key of 32 lowercase hex digits.
private func checkWithin(_ found: JournalLine, _ line: ArraySlice<UInt8>) {
    invariant(found.order.startIndex >= line.startIndex && found.order.endIndex <= line.endIndex && found.order.count >= 2,
              "JournalLine's order bytes \(found.order.indices) are not within the line \(line.indices)")
    invariant(found.order.first == UInt8(ascii: "{"), "JournalLine's order bytes do not start with {")
    invariant(OrderKey(hex: found.key.hex) != nil, "JournalLine's key \(show(found.key.hex))")
}

private func describe(_ found: JournalLine) -> String {
    "key \(found.key), revision \(found.revision), pid \(found.pid), unfinished \(found.unfinished), \(found.order.count) order bytes"
}
