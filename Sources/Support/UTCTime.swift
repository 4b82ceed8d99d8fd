/// Dates and times in UTC (Lomé's time), written without a date formatter: the journal, order files, log
/// lines and the CSV export write them by the thousand. The one place that turns seconds into a calendar date.
public enum UTCTime {
    /// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard Hinnant's algorithm.
    public static func civil(day days: Int64) -> (year: Int64, month: Int64, day: Int64) {
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

    /// The day number of a date (the inverse of `civil`); nil for a date that does not exist (31 February).
    public static func day(year: Int64, month: Int64, day: Int64) -> Int64? {
        guard (1...12).contains(month), (1...31).contains(day) else { return nil }
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivide(shiftedYear, 400)
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let result = era * 146_097 + dayOfEra - 719_468
        let check = civil(day: result)
        return check.month == month && check.day == day ? result : nil
    }

    public static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// `2026-11-26`.
    public static func appendDate(day: Int64, to out: inout [UInt8]) {
        let (year, month, dayOfMonth) = civil(day: day)
        appendDigits(year, 4, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, 2, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(dayOfMonth, 2, &out)
    }

    /// `2026-11-26T15:23:28Z`; `2026-11-26T15:23:28.123Z` with milliseconds; `separator: " ", zone: false` gives
    /// `2026-11-26 15:23:28` for people.
    public static func append(
        seconds: Int64, milliseconds: Int? = nil, separator: UInt8 = UInt8(ascii: "T"), zone: Bool = true, to out: inout [UInt8]
    ) {
        let day = floorDivide(seconds, 86_400)
        let second = seconds - day * 86_400
        appendDate(day: day, to: &out)
        out.append(separator)
        appendDigits(second / 3600, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(second / 60 % 60, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(second % 60, 2, &out)
        if let milliseconds {
            out.append(UInt8(ascii: "."))
            appendDigits(Int64(milliseconds), 3, &out)
        }
        if zone { out.append(UInt8(ascii: "Z")) }
    }

    public static func string(seconds: Int64, separator: UInt8 = UInt8(ascii: "T"), zone: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(20)
        append(seconds: seconds, separator: separator, zone: zone, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` in exactly `width` digits, zero-padded (the lowest digits when it has more).
    private static func appendDigits(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value.magnitude
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (rest / UInt64(divisor)) % 10))
            rest %= UInt64(divisor)
            divisor /= 10
        }
    }
}
