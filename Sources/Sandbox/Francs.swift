/// Sums of francs for people: `15 000 F CFA`, thousands grouped by spaces as is usual in French. Unlike
/// `Amount`, any sum: a balance may be 0 or below TMoney's 100 F minimum for a payment.
enum Francs {
    static func formatted(_ francs: Int64) -> String {
        let digits = Array(String(francs.magnitude))
        var out = francs < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(" ") }
            out.append(digit)
        }
        return out + " F CFA"
    }
}
