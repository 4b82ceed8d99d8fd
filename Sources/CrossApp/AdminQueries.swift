import Foundation
import Payments

/// What a listing keeps: a status, a span of creation dates, a search. Applied to the table's rows in place,
/// newest first, without copying them.
struct AdminFilter {
    var status: UInt8?
    var from: Int64?
    var until: Int64?
    var search: AdminSearch?

    func matches(_ table: AdminTable, _ row: AdminTable.Row) -> Bool {
        if let status, row.status != status { return false }
        if let search, !search.matches(table, row) { return false }
        return true
    }

    /// Calls `body` with each matching row, newest first, until it returns false.
    func walk(_ table: AdminTable, _ body: (Int32) -> Bool) {
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
    func page(_ page: Int, size: Int, in table: AdminTable) -> (total: Int, rows: [Int32]) {
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
struct AdminSearch {
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

    func matches(_ table: AdminTable, _ row: AdminTable.Row) -> Bool {
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

/// The CSV export: RFC 4180 (a header row, CRLF line ends, fields with commas, quotes or line breaks quoted
/// and their quotes doubled), with any value a spreadsheet would take for a formula (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) prefixed with a single quote.
enum AdminCSV {
    static let header = ["purchaseref", "status", "amount", "created_at", "paid_at", "phone", "key"]

    static func export(_ filter: AdminFilter, _ table: AdminTable) -> [UInt8] {
        // Two passes: the matching rows and a bound on their size, then the bytes written straight into one
        // buffer of that size (100,000 rows are about 10 MB).
        var ids: [Int32] = []
        var bound = 256
        table.rows.withUnsafeBufferPointer { rows in
            filter.walk(table) { id in
                ids.append(id)
                bound += 2 * (Int(rows[Int(id)].refLength) + Int(rows[Int(id)].phoneLength)) + 128
                return true
            }
        }
        return [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            var out = Writer(base: buffer.baseAddress!)
            for (index, name) in header.enumerated() {
                if index > 0 { out.byte(UInt8(ascii: ",")) }
                for byte in name.utf8 { out.byte(byte) }
            }
            out.byte(13)
            out.byte(10)
            var dates = DateCache()
            table.rows.withUnsafeBufferPointer { rows in
                table.arena.withUnsafeBufferPointer { arena in
                    for id in ids {
                        let row = rows[Int(id)]
                        let refStart = Int(row.refStart), refEnd = refStart + Int(row.refLength)
                        field(UnsafeBufferPointer(rebasing: arena[refStart..<refEnd]), &out)
                        out.byte(UInt8(ascii: ","))
                        statusBytes[Int(row.status)].withUnsafeBufferPointer { out.bytes($0) }
                        out.byte(UInt8(ascii: ","))
                        number(row.amount, &out)
                        out.byte(UInt8(ascii: ","))
                        time(row.created, &out, &dates)
                        out.byte(UInt8(ascii: ","))
                        if row.paidAt != .min { time(row.paidAt, &out, &dates) }
                        out.byte(UInt8(ascii: ","))
                        field(UnsafeBufferPointer(rebasing: arena[refEnd..<refEnd + Int(row.phoneLength)]), &out)
                        out.byte(UInt8(ascii: ","))
                        hex(row.k0, &out)
                        hex(row.k1, &out)
                        out.byte(13)
                        out.byte(10)
                    }
                }
            }
            precondition(out.count <= bound, "the CSV outgrew its bound")
            count = out.count
        }
    }

    private static let statusBytes = AdminTable.statuses.map { Array($0.rawValue.utf8) }

    /// Bytes written one after the other into memory sized beforehand.
    struct Writer {
        let base: UnsafeMutablePointer<UInt8>
        var count = 0

        mutating func byte(_ byte: UInt8) {
            base[count] = byte
            count += 1
        }

        mutating func bytes(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
            (base + count).update(from: source, count: bytes.count)
            count += bytes.count
        }
    }

    /// One value, neutralised and quoted as needed (at most 2 × its length + 3 bytes).
    static func field(_ value: UnsafeBufferPointer<UInt8>, _ out: inout Writer) {
        var formula = false
        if let first = value.first {
            switch first {
            case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13: formula = true
            default: break
            }
        }
        var quoted = false
        for byte in value where byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == 13 || byte == 10 {
            quoted = true
            break
        }
        if quoted { out.byte(UInt8(ascii: "\"")) }
        if formula { out.byte(UInt8(ascii: "'")) }
        if quoted {
            for byte in value {
                if byte == UInt8(ascii: "\"") { out.byte(byte) }
                out.byte(byte)
            }
            out.byte(UInt8(ascii: "\""))
        } else {
            out.bytes(value)
        }
    }

    static func field(_ value: String, into out: inout [UInt8]) {
        var copy = value
        copy.withUTF8 { value in
            let bytes = [UInt8](unsafeUninitializedCapacity: 2 * value.count + 3) { buffer, count in
                var writer = Writer(base: buffer.baseAddress!)
                field(value, &writer)
                count = writer.count
            }
            out.append(contentsOf: bytes)
        }
    }

    private static func number(_ value: Int64, _ out: inout Writer) {
        if value < 0 { out.byte(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var scale: UInt64 = 1
        while magnitude / scale >= 10 {
            scale *= 10
            digits += 1
        }
        for _ in 0..<digits {
            out.byte(UInt8(ascii: "0") + UInt8(magnitude / scale))
            magnitude %= scale
            scale /= 10
        }
    }

    private static func padded(_ value: Int64, _ width: Int, _ out: inout Writer) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.byte(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (rest / divisor) % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    /// The last day written, as `YYYY-MM-DD`: rows come in creation order, so most share it with the one before.
    struct DateCache {
        var day = Int64.min
        var text: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    }

    /// `2026-11-26T15:23:28Z` (20 bytes), without a date formatter.
    static func time(_ seconds: Int64, _ out: inout Writer, _ cache: inout DateCache) {
        let day = floorDivide(seconds, 86_400)
        if day != cache.day {
            let (year, month, dayOfMonth) = civil(day)
            var scratch = [UInt8](repeating: 0, count: 16)
            scratch.withUnsafeMutableBufferPointer { scratch in
                var date = Writer(base: scratch.baseAddress!)
                padded(year, 4, &date)
                date.byte(UInt8(ascii: "-"))
                padded(month, 2, &date)
                date.byte(UInt8(ascii: "-"))
                padded(dayOfMonth, 2, &date)
            }
            cache.day = day
            cache.text = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5], scratch[6], scratch[7], scratch[8], scratch[9])
        }
        withUnsafeBytes(of: cache.text) { out.bytes($0.bindMemory(to: UInt8.self)) }
        let second = seconds - day * 86_400
        out.byte(UInt8(ascii: "T"))
        padded(second / 3600, 2, &out)
        out.byte(UInt8(ascii: ":"))
        padded(second / 60 % 60, 2, &out)
        out.byte(UInt8(ascii: ":"))
        padded(second % 60, 2, &out)
        out.byte(UInt8(ascii: "Z"))
    }

    static func time(_ seconds: Int64, into out: inout [UInt8]) {
        var cache = DateCache()
        let bytes = [UInt8](unsafeUninitializedCapacity: 24) { buffer, count in
            var writer = Writer(base: buffer.baseAddress!)
            time(seconds, &writer, &cache)
            count = writer.count
        }
        out.append(contentsOf: bytes)
    }

    private static func hex(_ value: UInt64, _ out: inout Writer) {
        for shift in stride(from: 60, through: 0, by: -4) {
            let digit = UInt8((value >> UInt64(shift)) & 0xF)
            out.byte(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
        }
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard Hinnant's algorithm.
    static func civil(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Paid orders per day of payment, newest day first.
enum AdminTotals {
    struct Day: Equatable {
        let day: Int64
        var count: Int
        var sum: Int64
    }

    /// Orders now `paid`, grouped by the UTC day of their payment, in `[from, until)` of the payment time.
    static func perDay(_ table: AdminTable, from: Int64?, until: Int64?) -> [Day] {
        let paid = AdminTable.statusCode(.paid)
        var days: [Int64: Day] = [:]
        for row in table.rows where row.status == paid && row.paidAt != .min {
            if let from, row.paidAt < from { continue }
            if let until, row.paidAt >= until { continue }
            let day = AdminCSV.floorDivide(row.paidAt, 86_400)
            days[day, default: Day(day: day, count: 0, sum: 0)].count += 1
            days[day]!.sum += row.amount
        }
        return days.values.sorted { $0.day > $1.day }
    }
}
