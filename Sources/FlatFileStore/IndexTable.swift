import Foundation
import OrderStorage
import Payments
import Support

/// The store's in-memory copy of the order index (`index/orders.tsv`, see `OrderIndex`): the latest line of each
/// order, kept compact and sorted by creation time, so that a page of the dashboard is a filtered walk over
/// plain values and never a read of order files or a sort.
///
/// - One fixed-size `Row` per order (56 bytes); the purchaseref and the phone live as UTF-8 bytes in one shared
///   `arena`, not as a `String` each (100,000 orders take about 11 MB all told).
/// - `slots`: an open-addressing table from the key to its row, `Int32`s only.
/// - `byCreated`: row numbers in creation order (ties by row number), which every listing walks backwards.
///
/// It reads the index incrementally: the first use reads it whole, each later `refresh` reads only the bytes
/// appended since, from the offset reached last time. The file stays open between refreshes: a rebuilt index
/// is a new file put in place by rename, so the path naming another inode than the open file means a rebuild,
/// and the table is read again from the start (holding the old file open also keeps its inode number from
/// being reused by a later rebuild). Not thread-safe: `IndexListing` holds it behind one lock.
final class IndexTable {
    struct Row {
        var k0: UInt64
        var k1: UInt64
        var amount: Int64
        var created: Int64
        /// `Int64.min`: not paid.
        var paidAt: Int64
        var revision: UInt32
        /// Where the purchaseref starts in the arena; the phone's bytes follow it.
        var refStart: UInt32
        var refLength: UInt16
        var phoneLength: UInt8
        var status: UInt8
        /// 0: none yet; else `operators[code - 1]`. Fits in the row's padding: still 56 bytes.
        var operatorCode: UInt8
    }

    static let statuses = OrderStatus.allCases
    static func statusCode(_ status: OrderStatus) -> UInt8 { UInt8(statuses.firstIndex(of: status)!) }

    static let operators = Operator.allCases
    static func operatorCode(_ operator: Operator?) -> UInt8 { `operator`.map { UInt8(operators.firstIndex(of: $0)! + 1) } ?? 0 }
    static func `operator`(_ code: UInt8) -> Operator? { code == 0 ? nil : operators[Int(code) - 1] }

    private(set) var rows: [Row] = []
    private(set) var arena: [UInt8] = []
    private(set) var byCreated: [Int32] = []
    private var slots: [Int32] = []
    /// Scratch space: where the tabs of the line being read are.
    private var tabs: [Int] = []
    private var file: Int32 = -1
    private var identity: (device: UInt64, inode: UInt64) = (0, 0)
    /// How far the index has been read: the start of the first line not yet complete.
    private(set) var offset: Int64 = 0
    /// How many times the table was read from the start (the first load, then each rebuild seen).
    private(set) var loads = 0
    /// Lines that did not parse and were skipped.
    private(set) var skippedLines = 0
    /// For a compaction (`OrderIndex.compact`): where each row's winning line is in the file (its latest
    /// revision's, the last of equals), by row. Nil in the dashboard's table, which has no use for it.
    private(set) var lineOrigins: [(offset: Int64, length: Int32)]?
    /// The line being applied: where it starts in the file, and its length.
    private var lineOrigin: (offset: Int64, length: Int32) = (0, 0)

    init(tracksLines: Bool = false) {
        lineOrigins = tracksLines ? [] : nil
    }

    /// Whether the file the table reads is (still) the one at `path`.
    func reads(_ path: String) -> Bool {
        var info = stat()
        return file >= 0 && stat(path, &info) == 0 && (UInt64(info.st_dev), UInt64(info.st_ino)) == identity
    }

    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }

    deinit { if file >= 0 { close(file) } }

    var count: Int { rows.count }

    // MARK: - Reading the index

    /// Brings the table up to date with the index file at `path`.
    func refresh(path: String) throws(ReadError) {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw ReadError(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
            // No index yet (no order yet): an empty table.
            if file >= 0 || !rows.isEmpty { reset() }
            return
        }
        if file < 0 || (UInt64(info.st_dev), UInt64(info.st_ino)) != identity {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ReadError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
            reset()
            file = fd
            var opened = stat()
            fstat(fd, &opened)
            identity = (UInt64(opened.st_dev), UInt64(opened.st_ino))
            loads += 1
        }
        var now = stat()
        guard fstat(file, &now) == 0 else { throw ReadError(description: "cannot stat \(path): \(String(cString: strerror(errno)))") }
        let size = Int64(now.st_size)
        if size < offset {
            // Truncated in place (nothing in Cross does that): start again.
            reset(keepingFile: true)
            loads += 1
        }
        guard size > offset else { return }
        try read(upTo: size, path: path)
    }

    private func reset(keepingFile: Bool = false) {
        if !keepingFile {
            if file >= 0 { close(file) }
            file = -1
            identity = (0, 0)
        }
        rows = []
        arena = []
        byCreated = []
        slots = []
        offset = 0
        if lineOrigins != nil { lineOrigins = [] }
    }

    private func read(upTo size: Int64, path: String) throws(ReadError) {
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var carried: [UInt8] = []
        var position = offset
        var added: [Int32] = []
        let firstNew = rows.count
        while position < size {
            let wanted = min(chunk, Int(size - position))
            let got = buffer.withUnsafeMutableBytes { pread(file, $0.baseAddress, wanted, off_t(position)) }
            if got < 0 {
                if errno == EINTR { continue }
                throw ReadError(description: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            let chunkStart = position
            position += Int64(got)
            buffer.withUnsafeBufferPointer { bytes in
                var start = 0
                while start < got, let found = memchr(bytes.baseAddress! + start, Int32(UInt8(ascii: "\n")), got - start) {
                    let index = bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    lineOrigin = (chunkStart + Int64(start) - Int64(carried.count), Int32(clamping: carried.count + index - start))
                    if carried.isEmpty {
                        apply(UnsafeBufferPointer(rebasing: bytes[start..<index]), &added)
                    } else {
                        carried.append(contentsOf: bytes[start..<index])
                        carried.withUnsafeBufferPointer { apply($0, &added) }
                        carried.removeAll(keepingCapacity: true)
                    }
                    start = index + 1
                }
                carried.append(contentsOf: bytes[start..<got])
            }
        }
        // An incomplete last line (a writer in the middle of its append) is read next time.
        offset = position - Int64(carried.count)
        place(added)
        if rows.count - firstNew > 10_000 { shrink() }
    }

    /// Gives back the spare capacity the arrays grew while a large part of the index was read.
    private func shrink() {
        rows = rows.withUnsafeBufferPointer { Array($0) }
        arena = arena.withUnsafeBufferPointer { Array($0) }
        byCreated = byCreated.withUnsafeBufferPointer { Array($0) }
    }

    /// One line: `key revision created updated status amount paid-at phone purchaseref(percent-encoded) operator`,
    /// or, written before orders had an operator in the index, the same without the last field (see
    /// `legacyOperator`).
    private func apply(_ line: UnsafeBufferPointer<UInt8>, _ added: inout [Int32]) {
        tabs.removeAll(keepingCapacity: true)
        for index in line.indices where line[index] == UInt8(ascii: "\t") {
            tabs.append(index)
            if tabs.count > 9 { break }
        }
        let tabs = self.tabs
        guard tabs.count == 9 || tabs.count == 8 else { skippedLines += 1; return }
        func field(_ number: Int) -> UnsafeBufferPointer<UInt8> {
            let start = number == 0 ? 0 : tabs[number - 1] + 1
            let end = number == tabs.count ? line.count : tabs[number]
            return UnsafeBufferPointer(rebasing: line[start..<end])
        }
        guard let (k0, k1) = Self.key(field(0)), let revision = Self.integer(field(1)), revision >= 0,
              let created = Self.integer(field(2)), Self.integer(field(3)) != nil,
              let status = Self.status(field(4)), let amount = Self.integer(field(5)) else {
            skippedLines += 1
            return
        }
        let paidField = field(6)
        let paidAt: Int64
        if paidField.isEmpty {
            paidAt = .min
        } else if let value = Self.integer(paidField) {
            paidAt = value
        } else {
            skippedLines += 1
            return
        }
        let operatorCode: UInt8
        if tabs.count == 9 {
            guard let code = Self.operatorCode(field(9)) else { skippedLines += 1; return }
            operatorCode = code
        } else {
            operatorCode = Self.legacyOperator(status: status)
        }
        let phone = field(7)
        let phoneLength = min(phone.count, Int(UInt8.max))
        if let id = find(k0, k1) {
            var row = rows[Int(id)]
            // Lines of one order may come out of order (recovery re-appends): the highest revision wins.
            guard UInt32(clamping: revision) >= row.revision else { return }
            row.revision = UInt32(clamping: revision)
            row.status = status
            row.amount = amount
            row.paidAt = paidAt
            row.operatorCode = operatorCode
            // Compared in place: a slice of the arena held across the appends below would make them copy it whole.
            let phoneStart = Int(row.refStart) + Int(row.refLength)
            let samePhone = Int(row.phoneLength) == phoneLength && arena.withUnsafeBufferPointer {
                UnsafeBufferPointer(rebasing: $0[phoneStart..<phoneStart + phoneLength]).elementsEqual(phone.prefix(phoneLength))
            }
            if !samePhone {
                // The phone changed (the payment brought the shopper's number): the ref and the new phone anew.
                let ref = arena.withUnsafeBufferPointer { Array($0[Int(row.refStart)..<Int(row.refStart) + Int(row.refLength)]) }
                guard arena.count + ref.count + phoneLength <= Int(UInt32.max) else { skippedLines += 1; return }
                row.refStart = UInt32(arena.count)
                arena.append(contentsOf: ref)
                arena.append(contentsOf: phone.prefix(phoneLength))
                row.phoneLength = UInt8(phoneLength)
            }
            rows[Int(id)] = row
            lineOrigins?[Int(id)] = lineOrigin
            return
        }
        let start = arena.count
        guard !field(8).isEmpty, PercentEncoding.decode(field(8), plusIsSpace: false, into: &arena), arena.count - start <= Int(UInt16.max),
              arena.count + phoneLength <= Int(UInt32.max), rows.count < Int(Int32.max) else {
            arena.removeSubrange(start...)
            skippedLines += 1
            return
        }
        let refLength = arena.count - start
        arena.append(contentsOf: phone.prefix(phoneLength))
        let id = Int32(rows.count)
        rows.append(Row(
            k0: k0, k1: k1, amount: amount, created: created, paidAt: paidAt, revision: UInt32(clamping: revision),
            refStart: UInt32(start), refLength: UInt16(refLength), phoneLength: UInt8(phoneLength), status: status,
            operatorCode: operatorCode))
        insertSlot(id)
        added.append(id)
        lineOrigins?.append(lineOrigin)
    }

    /// Puts new rows into `byCreated`. New orders come in creation order, so this is usually an append; a few
    /// out of place are inserted, many are sorted in with the rest.
    private func place(_ added: [Int32]) {
        guard !added.isEmpty else { return }
        rows.withUnsafeBufferPointer { rows in
            func before(_ a: Int32, _ b: Int32) -> Bool {
                let x = rows[Int(a)].created, y = rows[Int(b)].created
                return x != y ? x < y : a < b
            }
            var inOrder = byCreated.last.map { before($0, added[0]) } ?? true
            if inOrder {
                for index in added.indices.dropFirst() where !before(added[index - 1], added[index]) {
                    inOrder = false
                    break
                }
            }
            if inOrder {
                byCreated.append(contentsOf: added)
            } else if added.count <= 256 {
                for id in added {
                    var low = 0, high = byCreated.count
                    while low < high {
                        let middle = (low + high) / 2
                        if before(byCreated[middle], id) { low = middle + 1 } else { high = middle }
                    }
                    byCreated.insert(id, at: low)
                }
            } else {
                byCreated.append(contentsOf: added)
                byCreated.sort(by: before)
            }
        }
    }

    // MARK: - Keys

    private func find(_ k0: UInt64, _ k1: UInt64) -> Int32? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: k0) & mask
        while true {
            let id = slots[index]
            if id < 0 { return nil }
            if rows[Int(id)].k0 == k0 && rows[Int(id)].k1 == k1 { return id }
            index = (index + 1) & mask
        }
    }

    /// The row of an order, by its key.
    func row(_ key: OrderKey) -> Int32? {
        guard let (k0, k1) = Self.key(Array(key.hex.utf8)) else { return nil }
        return find(k0, k1)
    }

    private func insertSlot(_ id: Int32) {
        if (rows.count) * 2 > slots.count {
            // Double (the table stays at most half full, 1 MB for 100,000 orders), and place every row again.
            var capacity = 1024
            while capacity < rows.count * 2 { capacity <<= 1 }
            slots = [Int32](repeating: -1, count: capacity)
            for existing in 0..<Int32(rows.count) { placeSlot(existing) }
            return
        }
        placeSlot(id)
    }

    private func placeSlot(_ id: Int32) {
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: rows[Int(id)].k0) & mask
        while slots[index] >= 0 { index = (index + 1) & mask }
        slots[index] = id
    }

    // MARK: - Parsing fields

    static func key(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard bytes.count == 32, let k0 = Hex.uint64(bytes[0..<16]), let k1 = Hex.uint64(bytes[16..<32]) else { return nil }
        return (k0, k1)
    }

    static func key(_ bytes: [UInt8]) -> (UInt64, UInt64)? { bytes.withUnsafeBufferPointer { key($0) } }

    static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
        var value: Int64 = 0
        var negative = false
        for (position, byte) in bytes.enumerated() {
            if position == 0 && byte == UInt8(ascii: "-") && bytes.count > 1 { negative = true; continue }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            // A damaged line with a number past Int64 is skipped, never a trap (found by fuzz/FuzzIndexTable).
            let (tens, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowedAgain) = tens.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflowed && !overflowedAgain else { return nil }
            value = sum
        }
        return negative ? -value : value
    }

    private static let statusBytes = statuses.map { Array($0.rawValue.utf8) }

    static func status(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt8? {
        for (code, name) in statusBytes.enumerated() where name.count == bytes.count && name.elementsEqual(bytes) { return UInt8(code) }
        return nil
    }

    private static let operatorBytes = operators.map { Array($0.rawValue.utf8) }

    /// An operator's name (`tmoney`, `flooz`), or empty for none; nil for anything else (a damaged line, or one
    /// from a later Cross with an operator this one does not know: skipped rather than shown as another's).
    static func operatorCode(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt8? {
        if bytes.isEmpty { return 0 }
        for (index, name) in operatorBytes.enumerated() where name.count == bytes.count && name.elementsEqual(bytes) { return UInt8(index + 1) }
        return nil
    }

    /// The operator of a line written before the index had the field. Until then TMoney was the only operator Cross
    /// spoke, so every attempt and payment was TMoney's; and an order leaves `pending` only by an operator's word
    /// (paid, review, declined, cancelled, expired), so any other status had a TMoney attempt. A `pending` line
    /// cannot tell: the order may have no attempt yet, or one under way, or be back for a retry. It reads as no
    /// operator (and matches no operator filter) rather than as a guess; the order's next change appends a line
    /// with the field, and `cross index rebuild` writes every line anew from the order files.
    static func legacyOperator(status: UInt8) -> UInt8 { status == pendingCode ? 0 : tmoneyCode }

    private static let pendingCode = statusCode(.pending)
    private static let tmoneyCode = operatorCode(.tmoney)

    // MARK: - Reading rows

    func ref(_ row: Row) -> ArraySlice<UInt8> { arena[Int(row.refStart)..<Int(row.refStart) + Int(row.refLength)] }

    func phone(_ row: Row) -> ArraySlice<UInt8> {
        let start = Int(row.refStart) + Int(row.refLength)
        return arena[start..<start + Int(row.phoneLength)]
    }

    /// A row as a listing shows it.
    func summary(_ id: Int32) -> OrderSummary {
        let row = rows[Int(id)]
        return OrderSummary(
            key: OrderKey(hex: Hex.encode(row.k0) + Hex.encode(row.k1))!, ref: String(decoding: ref(row), as: UTF8.self),
            phone: String(decoding: phone(row), as: UTF8.self), createdAt: row.created, paidAt: row.paidAt == .min ? nil : row.paidAt,
            status: Self.statuses[Int(row.status)], amount: row.amount, operator: Self.operator(row.operatorCode))
    }

    /// The span of `byCreated` created in `[from, until)`.
    func span(from: Int64?, until: Int64?) -> Range<Int> {
        func firstAtOrAfter(_ time: Int64) -> Int {
            var low = 0, high = byCreated.count
            while low < high {
                let middle = (low + high) / 2
                if rows[Int(byCreated[middle])].created < time { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let low = from.map(firstAtOrAfter) ?? 0
        let high = until.map(firstAtOrAfter) ?? byCreated.count
        return low..<max(low, high)
    }
}
