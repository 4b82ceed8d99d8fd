// FlatFileStore's IndexTable: the dashboard's in-memory copy of the order index (`index/orders.tsv`), read
// incrementally with `refresh(path:)`; and IndexFilter, which pages through it.
//
// Input: the bytes of an index file: lines of 10 tab-separated fields, `key revision created updated status amount
// paid-at phone purchaseref operator` (the ref percent-encoded), or of the first 9 (a line written before the
// operator was in the index). The input is written to a file (one per process, in a temporary folder), and its
// first byte also chooses where the file is first cut.
//
// Invariants:
// - IndexTable reads any bytes without crashing, and holds what a plain reading of the lines says (a model
//   written out here): a complete line of 9 or 10 fields with a key of 32 lowercase hex digits, integers of at
//   most 19 characters (a leading `-` allowed) that fit in 64 bits, a revision not below 0, a known status and,
//   in a 10th field, a known operator or nothing, adds its order (a 9-field line's operator: none when pending,
//   else TMoney), whose ref is the percent-decoding of the 9th field (which must not be empty), or updates the
//   order when its key was seen (the latest line of at least the same revision wins; the ref and the creation
//   time stay the first line's); any other complete line is counted in `skippedLines`; bytes after the last
//   line break are not read at all (a writer in the middle of its append);
// - summaries: keys are 32 lowercase hex digits, refs and phones (at most 255 bytes) are those bytes, `row(_:)`
//   finds every key;
// - the file read in two steps (a prefix cut anywhere, maybe mid-line, then the rest appended, a `refresh`
//   after each, as the dashboard reads an index being appended to) gives the same table as the file read at
//   once, `skippedLines` included: a line cut mid-way is neither applied nor skipped until its line break
//   comes; after the first step the table is the prefix's complete lines';
// - IndexFilter lists the rows newest first (by creation, then by arrival), a status filter keeps exactly the
//   orders in that status, an operator filter exactly the orders of that operator, and a search for an order's
//   whole ref finds it;
// - a rebuilt index put in place by rename is read again from the start (`loads` grows by one), to the table of
//   the new file alone (`skippedLines` counts over the table's life: it grows by the new file's skipped lines);
//   the new file is the next invariant's line, or the same input again when no row has a valid ref;
// - a line made by `OrderIndex.line(order)` for a valid order (made from the newest row with a purchaseref the
//   validation accepts: its phone if valid, an amount of 100 to 9 999 999 999, times from 1970 to 9999, paid
//   through the row's operator when it has a paid-at) reads back as that order's summary, operator included.
import Foundation
@testable import FlatFileStore
import FuzzSupport
import OrderStorage
import Payments
import Support

/// A folder of this process's own, made once, for the index file; removed when libFuzzer exits.
private let folder: String = {
    var template = Array((NSTemporaryDirectory() + "/cross-fuzz-index.XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { fail("cannot make a temporary folder") }
    atexit {
        unlink(indexPath)
        unlink(rebuiltPath)
        rmdir(folder)
    }
    return String(cString: made)
}()
private let indexPath = folder + "/orders.tsv"
private let rebuiltPath = folder + "/orders.tsv.rebuild"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIndexTable(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(bytes(data, count))
    let cut = count == 0 ? 0 : count * Int(input[0]) / 255

    // In two steps, as the dashboard reads an index that grows.
    write(indexPath, input[..<cut], append: false)
    let stepwise = IndexTable()
    refresh(stepwise, indexPath)
    let prefix = Model(input[..<cut])
    check(stepwise, against: prefix, "the prefix of \(cut) bytes")
    write(indexPath, input[cut...], append: true)
    refresh(stepwise, indexPath)
    invariant(stepwise.loads == 1, "an index that was only appended to was read from the start again")

    // At once.
    let whole = IndexTable()
    refresh(whole, indexPath)
    let model = Model(input[...])
    note("\(model.orders.count) orders, \(model.skipped) lines skipped; \(whole.count) rows, \(whole.skippedLines) skipped")
    check(whole, against: model, "the whole file")
    check(stepwise, against: model, "the file read in two steps (cut at \(cut))")
    invariant(stepwise.skippedLines == whole.skippedLines, "skipped \(stepwise.skippedLines) lines in two steps, \(whole.skippedLines) at once")

    checkListing(whole, model, choice: count)

    // Rebuilt: a new file put in place by rename is read anew, and nothing of the old one stays. The new file is
    // the line the store writes for a valid order made from the newest row (or, without a valid ref, the same
    // input again). Every read costs the table a fresh 1 MiB buffer (most of this target's time): one read
    // serves both checks.
    let skippedBefore = stepwise.skippedLines
    if let (order, expected) = validOrder(model) {
        let line = OrderIndex.line(order)
        write(rebuiltPath, Array(line.utf8)[...], append: false)
        rebuild(stepwise)
        invariant(stepwise.count == 1 && stepwise.skippedLines == skippedBefore, "the line of a valid order does not read alone: \(show(line))")
        guard let id = stepwise.row(order.key) else { fail("the line of a valid order reads under another key: \(show(line))") }
        let summary = stepwise.summary(id)
        invariant(summary == expected, "the line \(show(line)) reads as \(summary), not \(expected)")
        invariant(stepwise.ref(stepwise.rows[Int(id)]).elementsEqual(order.ref.utf8), "the line \(show(line)) reads another ref, \(show(summary.ref))")
    } else {
        write(rebuiltPath, input[...], append: false)
        rebuild(stepwise)
        check(stepwise, against: model, "the rebuilt file", skippedBefore: skippedBefore)
    }
    return 0
}

private func rebuild(_ table: IndexTable) {
    guard rename(rebuiltPath, indexPath) == 0 else { fail("cannot rename \(rebuiltPath): \(errno)") }
    refresh(table, indexPath)
    invariant(table.loads == 2, "a rebuilt index was not read anew (\(table.loads) loads)")
}

// MARK: - The model: the index's lines read as plainly as possible

private struct Expected {
    let arrival: Int
    let key: String
    let ref: [UInt8]
    let created: Int64
    var revision: UInt32
    var status: OrderStatus
    var amount: Int64
    var paidAt: Int64?
    var phone: [UInt8]
    var `operator`: Operator?
}

private struct Model {
    var orders: [String: Expected] = [:]
    var skipped = 0

    init(_ bytes: ArraySlice<UInt8>) {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // What follows the last line break is not a line yet (all of it, when there is no line break).
        lines.removeLast()
        for line in lines { read(line) }
    }

    private mutating func read(_ line: ArraySlice<UInt8>) {
        let fields = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
        guard fields.count == 9 || fields.count == 10, fields[0].count == 32, fields[0].allSatisfy(isLowercaseHex),
              let revision = integer(fields[1]), revision >= 0, let created = integer(fields[2]), integer(fields[3]) != nil,
              let status = OrderStatus.allCases.first(where: { $0.rawValue.utf8.elementsEqual(fields[4]) }),
              let amount = integer(fields[5]) else {
            skipped += 1
            return
        }
        var paidAt: Int64?
        if !fields[6].isEmpty {
            guard let value = integer(fields[6]) else {
                skipped += 1
                return
            }
            paidAt = value
        }
        var chosen: Operator?
        if fields.count == 10 {
            if !fields[9].isEmpty {
                guard let known = Operator.allCases.first(where: { $0.rawValue.utf8.elementsEqual(fields[9]) }) else {
                    skipped += 1
                    return
                }
                chosen = known
            }
        } else {
            // Before the field: TMoney was the only operator, and only `pending` may be without an attempt.
            chosen = status == .pending ? nil : .tmoney
        }
        let key = String(decoding: fields[0], as: UTF8.self)
        let phone = Array(fields[7].prefix(255))
        if var order = orders[key] {
            guard UInt32(clamping: revision) >= order.revision else { return }
            order.revision = UInt32(clamping: revision)
            order.status = status
            order.amount = amount
            order.paidAt = paidAt
            order.phone = phone
            order.operator = chosen
            orders[key] = order
            return
        }
        guard !fields[8].isEmpty, let ref = percentDecoded(fields[8]), ref.count <= Int(UInt16.max) else {
            skipped += 1
            return
        }
        orders[key] = Expected(
            arrival: orders.count, key: key, ref: ref, created: created, revision: UInt32(clamping: revision), status: status,
            amount: amount, paidAt: paidAt, phone: phone, operator: chosen)
    }

    /// Newest first: by creation time, then by arrival.
    var newestFirst: [Expected] {
        orders.values.sorted { $0.created != $1.created ? $0.created > $1.created : $0.arrival > $1.arrival }
    }
}

private func isLowercaseHex(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
}

/// At most 19 characters, digits after an optional `-`, and a value that fits in 64 bits.
private func integer(_ bytes: ArraySlice<UInt8>) -> Int64? {
    guard (1...19).contains(bytes.count) else { return nil }
    let negative = bytes.first == UInt8(ascii: "-")
    let digits = negative ? bytes.dropFirst() : bytes
    guard !digits.isEmpty, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
    return Int64(String(decoding: bytes, as: UTF8.self))
}

private func percentDecoded(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
    func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    var out: [UInt8] = []
    var index = bytes.startIndex
    while index < bytes.endIndex {
        if bytes[index] == UInt8(ascii: "%") {
            guard index + 2 < bytes.endIndex, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) else { return nil }
            out.append(high << 4 | low)
            index += 3
        } else {
            out.append(bytes[index])
            index += 1
        }
    }
    return out
}

// MARK: - Checks

/// `skippedBefore`: `skippedLines` counts over the table's life, across reloads.
private func check(_ table: IndexTable, against model: Model, _ what: String, skippedBefore: Int = 0) {
    invariant(table.count == model.orders.count, "\(what): \(table.count) rows, the model has \(model.orders.count) orders")
    invariant(table.skippedLines == skippedBefore + model.skipped,
              "\(what): \(table.skippedLines - skippedBefore) lines skipped, the model skips \(model.skipped)")
    for expected in model.orders.values {
        guard let key = OrderKey(hex: expected.key), let id = table.row(key) else { fail("\(what): no row for the key \(expected.key)") }
        let row = table.rows[Int(id)]
        let summary = table.summary(id)
        invariant(Hex.isLowercase(summary.key.hex.utf8, count: 32) && same(summary.key.hex, expected.key),
                  "\(what): the row of \(expected.key) has the key \(show(summary.key.hex))")
        invariant(table.ref(row).elementsEqual(expected.ref) && same(summary.ref, String(decoding: expected.ref, as: UTF8.self)),
                  "\(what): the ref of \(expected.key) is \(show(summary.ref)), the line says \(show(String(decoding: expected.ref, as: UTF8.self)))")
        invariant(table.phone(row).elementsEqual(expected.phone), "\(what): the phone of \(expected.key) is \(show(summary.phone))")
        invariant(row.revision == expected.revision, "\(what): revision \(row.revision) of \(expected.key), the model's is \(expected.revision)")
        invariant(summary.createdAt == expected.created && summary.status == expected.status && summary.amount == expected.amount
                  && summary.paidAt == expected.paidAt && summary.operator == expected.operator,
                  "\(what): \(expected.key) is \(summary), the model says created \(expected.created), \(expected.status), \(expected.amount), paid \(expected.paidAt.map(String.init) ?? "-"), operator \(expected.operator?.rawValue ?? "-")")
    }
    let absent = OrderKey(ref: "not in the index")
    if model.orders[absent.hex] == nil { invariant(table.row(absent) == nil, "\(what): row(_:) finds a key that is not in the index") }
}

private func checkListing(_ table: IndexTable, _ model: Model, choice: Int) {
    let newestFirst = model.newestFirst
    let pick = choice % (OrderStatus.allCases.count + 1)
    let status: OrderStatus? = pick < OrderStatus.allCases.count ? OrderStatus.allCases[pick] : nil
    let filter = IndexFilter(OrderQuery(status: status))
    let page = filter.page(1, size: 1000, in: table)
    let expected = newestFirst.filter { status == nil || $0.status == status }
    invariant(page.total == expected.count, "listing \(status.map(\.rawValue) ?? "all"): \(page.total) orders, the model has \(expected.count)")
    let listed = page.rows.map { table.summary($0).key.hex }
    invariant(listed == expected.prefix(1000).map(\.key), "listing \(status.map(\.rawValue) ?? "all"): not newest first, or not the model's orders")

    let chosen = Operator.allCases[(choice / (OrderStatus.allCases.count + 1)) % Operator.allCases.count]
    let ofOperator = IndexFilter(OrderQuery(status: status, operator: chosen)).page(1, size: 1000, in: table)
    let expectedOfOperator = expected.filter { $0.operator == chosen }
    invariant(ofOperator.total == expectedOfOperator.count,
              "listing \(chosen.rawValue): \(ofOperator.total) orders, the model has \(expectedOfOperator.count)")
    invariant(ofOperator.rows.map { table.summary($0).key.hex } == expectedOfOperator.prefix(1000).map(\.key),
              "listing \(chosen.rawValue): not newest first, or not the model's orders")

    for order in newestFirst.prefix(3) {
        let ref = String(decoding: order.ref, as: UTF8.self)
        guard let search = IndexSearch(ref), let id = table.row(OrderKey(hex: order.key)!) else { continue }
        invariant(search.matches(table, table.rows[Int(id)]), "a search for the whole ref \(show(ref)) does not find its order")
    }
}

/// A valid order made from the newest row's values (the first with a ref that validation accepts; its phone if
/// valid), and the summary its index line must read back as.
private func validOrder(_ model: Model) -> (Order, OrderSummary)? {
    let ref: (Expected) -> String = { String(decoding: $0.ref, as: UTF8.self) }
    guard let row = model.newestFirst.first(where: { (try? FieldRule.purchaseRef(ref($0))) != nil }) else { return nil }
    let phone = try? FieldRule.phone(String(decoding: row.phone, as: UTF8.self))
    let amount = Amount(francs: row.amount)
        ?? Amount(francs: Amount.minimum + Int64(row.amount.magnitude % UInt64(Amount.maximum - Amount.minimum + 1)))!
    let created = Timestamp(seconds: clamp(row.created))
    var order = Order(
        NewOrder(ref: ref(row), amount: amount, currency: "952", brand: "Boutique", language: .fr, details: OrderDetails(phone: phone)),
        createdAt: created, lifetimeSeconds: 7 * 86_400)
    order.status = row.status
    order.revision = Int(row.revision)
    order.updatedAt = created.adding(seconds: 60)
    if let paidAt = row.paidAt {
        let event = PaymentEvent(
            operator: row.operator ?? .tmoney, outcome: .paid, purchaseref: order.ref, amount: amount.francs, currency: "952", transactionID: "P1",
            receipt: "PR1", payer: Payer(account: "C1", name: "Kofi", phone: "22890000001"), occurredAt: "1795706700")
        order.payment = Payment(event, receivedAt: Timestamp(seconds: clamp(paidAt)))
    }
    // What a listing shows: the paid-at of a paid (or in review) order, the order's phone else the payer's.
    let paid = order.status == .paid || order.status == .review ? order.payment?.receivedAt.seconds : nil
    let summary = OrderSummary(
        key: order.key, ref: order.ref, phone: phone ?? order.payment?.payer.phone ?? "", createdAt: created.seconds, paidAt: paid,
        status: order.status, amount: amount.francs, operator: order.operator)
    return (order, summary)
}

/// A time from 1970 to 9999, as orders have.
private func clamp(_ seconds: Int64) -> Int64 { min(max(seconds, 0), 253_402_300_799) }

// MARK: - Files

private func refresh(_ table: IndexTable, _ path: String) {
    do {
        try table.refresh(path: path)
    } catch {
        fail("refresh(\(path)): \(error)")
    }
}

private func write(_ path: String, _ bytes: ArraySlice<UInt8>, append: Bool) {
    let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
    guard fd >= 0 else { fail("cannot open \(path): \(errno)") }
    defer { close(fd) }
    var written = 0
    bytes.withUnsafeBytes { buffer in
        while written < buffer.count {
            let result = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
            guard result > 0 else { fail("cannot write \(path): \(errno)") }
            written += result
        }
    }
}
