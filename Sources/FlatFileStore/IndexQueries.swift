import Foundation
import OrderStorage
import Payments
import Support

/// What a listing keeps: a status, an operator, a span of creation dates, a search. Applied to the table's rows
/// in place, newest first, without copying them.
struct IndexFilter {
    var status: UInt8?
    /// `IndexTable.operatorCode`, never 0: a filter asks for an operator.
    var operatorCode: UInt8?
    var from: Int64?
    var until: Int64?
    var search: IndexSearch?

    init(_ query: OrderQuery) {
        status = query.status.map(IndexTable.statusCode)
        operatorCode = query.operator.map { IndexTable.operatorCode($0) }
        from = query.createdFrom
        until = query.createdUntil
        search = IndexSearch(query.search)
    }

    func matches(_ table: IndexTable, _ row: IndexTable.Row) -> Bool {
        if let status, row.status != status { return false }
        if let operatorCode, row.operatorCode != operatorCode { return false }
        if let search, !search.matches(table, row) { return false }
        return true
    }

    /// Calls `body` with each matching row, newest first, until it returns false.
    func walk(_ table: IndexTable, _ body: (Int32) -> Bool) {
        let span = table.span(from: from, until: until)
        table.rows.withUnsafeBufferPointer { rows in
            table.byCreated.withUnsafeBufferPointer { order in
                var index = span.upperBound
                while index > span.lowerBound {
                    index -= 1
                    let id = order[index]
                    if matches(table, rows[Int(id)]) && !body(id) { return }
                }
            }
        }
    }

    /// The rows of page `page` (from 1) and how many rows match in all.
    func page(_ page: Int, size: Int, in table: IndexTable) -> (total: Int, rows: [Int32]) {
        let first = (page - 1) * size
        var total = 0
        var rows: [Int32] = []
        walk(table) { id in
            if total >= first && total < first + size { rows.append(id) }
            total += 1
            return true
        }
        return (total, rows)
    }
}

/// A search in the purchaseref (a substring, in any case) or, for a query of digits, in the phone (a substring
/// of its digits).
struct IndexSearch {
    let needle: [UInt8]
    let ascii: Bool
    let lowered: String
    let digits: [UInt8]?

    init?(_ text: String) {
        guard !text.isEmpty else { return nil }
        lowered = text.lowercased()
        needle = Array(lowered.utf8)
        ascii = needle.allSatisfy { $0 < 0x80 }
        // "+228 90 00 00 01", "90000001": a phone number; "CMD-1001" is not, even with digits in it.
        let phoneLike = text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || " +-.".unicodeScalars.contains($0) }
        let digits = text.utf8.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        self.digits = phoneLike && !digits.isEmpty ? digits : nil
    }

    func matches(_ table: IndexTable, _ row: IndexTable.Row) -> Bool {
        table.arena.withUnsafeBufferPointer { arena in
            let ref = UnsafeBufferPointer(rebasing: arena[Int(row.refStart)..<Int(row.refStart) + Int(row.refLength)])
            if refMatches(ref) { return true }
            guard let digits else { return false }
            let phone = UnsafeBufferPointer(rebasing: arena[ref.count + Int(row.refStart)..<ref.count + Int(row.refStart) + Int(row.phoneLength)])
            return Self.containsDigits(phone, digits)
        }
    }

    private func refMatches(_ ref: UnsafeBufferPointer<UInt8>) -> Bool {
        if ascii {
            guard ref.count >= needle.count else { return false }
            var nonASCII = false
            let found = needle.withUnsafeBufferPointer { needle -> Bool in
                let last = ref.count - needle.count
                var start = 0
                outer: while start <= last {
                    for offset in 0..<needle.count {
                        var byte = ref[start + offset]
                        if byte >= 0x80 { nonASCII = true; return false }
                        if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
                        if byte != needle[offset] { start += 1; continue outer }
                    }
                    return true
                }
                return false
            }
            if found { return true }
            // A ref with letters beyond ASCII: compared as Unicode text below.
            if !nonASCII && !ref.contains(where: { $0 >= 0x80 }) { return false }
        }
        return String(decoding: ref, as: UTF8.self).lowercased().contains(lowered)
    }

    private static func containsDigits(_ phone: UnsafeBufferPointer<UInt8>, _ digits: [UInt8]) -> Bool {
        var only: [UInt8] = []
        only.reserveCapacity(phone.count)
        for byte in phone where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { only.append(byte) }
        guard only.count >= digits.count else { return false }
        for start in 0...(only.count - digits.count) where only[start..<start + digits.count].elementsEqual(digits) { return true }
        return false
    }
}

/// The dashboard's queries on the index, through the store's interface: one table for the store (loaded on first
/// use, then brought up to date from the index file on each query, under one lock).
final class IndexListing: OrderListing {
    private let path: String
    private let table = Lock(IndexTable())

    init(path: String) {
        self.path = path
    }

    /// Runs `body` on the table brought up to date with the index.
    func withTable<Result>(_ body: (IndexTable) throws(StoreError) -> Result) throws(StoreError) -> Result {
        do {
            return try table.withLock { table in
                do {
                    try table.refresh(path: path)
                } catch {
                    throw StoreError.unavailable("the order index cannot be read: \(error)")
                }
                return try body(table)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unavailable("\(error)")
        }
    }

    func page(_ query: OrderQuery, number: Int, size: Int) throws(StoreError) -> (total: Int, number: Int, orders: [OrderSummary]) {
        let filter = IndexFilter(query)
        return try withTable { table in
            var result = filter.page(number, size: size, in: table)
            let last = max(1, (result.total + size - 1) / size)
            var number = number
            if number > last {
                // Past the end: the last page.
                number = last
                result = filter.page(last, size: size, in: table)
            }
            return (result.total, number, result.rows.map { table.summary($0) })
        }
    }

    func export(_ query: OrderQuery, estimate: (Int, Int) -> Void, _ body: (OrderRowBytes) -> Void) throws(StoreError) {
        let filter = IndexFilter(query)
        try withTable { table in
            var ids: [Int32] = []
            var bytes = 0
            table.rows.withUnsafeBufferPointer { rows in
                filter.walk(table) { id in
                    ids.append(id)
                    bytes += Int(rows[Int(id)].refLength) + Int(rows[Int(id)].phoneLength)
                    return true
                }
            }
            estimate(ids.count, bytes)
            table.rows.withUnsafeBufferPointer { rows in
                table.arena.withUnsafeBufferPointer { arena in
                    for id in ids {
                        let row = rows[Int(id)]
                        let refStart = Int(row.refStart), refEnd = refStart + Int(row.refLength)
                        body(OrderRowBytes(
                            key: (row.k0, row.k1), ref: UnsafeBufferPointer(rebasing: arena[refStart..<refEnd]),
                            phone: UnsafeBufferPointer(rebasing: arena[refEnd..<refEnd + Int(row.phoneLength)]),
                            createdAt: row.created, paidAt: row.paidAt == .min ? nil : row.paidAt,
                            status: IndexTable.statuses[Int(row.status)], amount: row.amount,
                            operator: IndexTable.operator(row.operatorCode)))
                    }
                }
            }
        }
    }

    /// Orders now `paid`, grouped by the UTC day of their payment, in `[from, until)` of the payment time, and
    /// within a day by operator. Each day has a run of sums in one flat array, one per operator code; rows come
    /// in about the order they were paid, so a row's day is mostly the previous row's and needs no look-up at
    /// all (the split by operator costs nothing next to the totals alone). A day's total is the sum of its
    /// operators', made once per day.
    func paidTotals(from: Int64?, until: Int64?) throws(StoreError) -> [DayTotal] {
        try withTable { table in
            let paid = IndexTable.statusCode(.paid)
            let codes = IndexTable.operators.count + 1
            var starts: [Int64: Int] = [:]
            var sums: [DayTotal.Sum] = []
            var lastDay = Int64.min, lastStart = 0
            table.rows.withUnsafeBufferPointer { rows in
                for row in rows where row.status == paid && row.paidAt != .min {
                    if let from, row.paidAt < from { continue }
                    if let until, row.paidAt >= until { continue }
                    let day = UTCTime.floorDivide(row.paidAt, 86_400)
                    if day != lastDay {
                        if let start = starts[day] {
                            lastStart = start
                        } else {
                            lastStart = sums.count
                            starts[day] = lastStart
                            sums.append(contentsOf: repeatElement(DayTotal.Sum(count: 0, sum: 0), count: codes))
                        }
                        lastDay = day
                    }
                    sums[lastStart + Int(row.operatorCode)].count += 1
                    sums[lastStart + Int(row.operatorCode)].sum += row.amount
                }
            }
            return starts.map { day, start in
                var total = DayTotal(day: day, count: 0, sum: 0)
                for code in 0..<codes where sums[start + code].count > 0 {
                    total.count += sums[start + code].count
                    total.sum += sums[start + code].sum
                    if let name = IndexTable.operator(UInt8(code)) { total.byOperator[name] = sums[start + code] }
                }
                return total
            }.sorted { $0.day > $1.day }
        }
    }
}
