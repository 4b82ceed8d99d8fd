import OrderStorage
import Payments
import Support

/// The CSV export: RFC 4180 (a header row, CRLF line ends, fields with commas, quotes or line breaks quoted
/// and their quotes doubled), with any value a spreadsheet would take for a formula (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) prefixed with a single quote. Written from the store's rows as bytes
/// into one buffer sized once (100,000 rows are about 10 MB).
enum AdminCSV {
    /// `operator` (`tmoney`, `flooz`, empty before any attempt) came last, after the others had been in use: a
    /// spreadsheet that reads the columns by position still finds the first seven where they were.
    static let header = ["purchaseref", "status", "amount", "created_at", "paid_at", "phone", "key", "operator"]

    static func export(_ query: OrderQuery, _ listing: any OrderListing) throws(StoreError) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: header.joined(separator: ",").utf8)
        out.append(contentsOf: [13, 10])
        try listing.export(query, estimate: { rows, textBytes in
            out.reserveCapacity(64 + rows * 100 + textBytes * 2)
        }) { row in
            field(row.ref, &out)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: row.status.rawValue.utf8)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: String(row.amount).utf8)
            out.append(UInt8(ascii: ","))
            UTCTime.append(seconds: row.createdAt, to: &out)
            out.append(UInt8(ascii: ","))
            if let paidAt = row.paidAt { UTCTime.append(seconds: paidAt, to: &out) }
            out.append(UInt8(ascii: ","))
            field(row.phone, &out)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: (Hex.encode(row.key.high) + Hex.encode(row.key.low)).utf8)
            out.append(UInt8(ascii: ","))
            if let name = row.operator { out.append(contentsOf: name.rawValue.utf8) }
            out.append(contentsOf: [13, 10])
        }
        return out
    }

    /// One value, neutralised and quoted as needed.
    static func field(_ value: some Collection<UInt8>, _ out: inout [UInt8]) {
        var formula = false
        if let first = value.first {
            switch first {
            case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13: formula = true
            default: break
            }
        }
        let quoted = value.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 13 || $0 == 10 }
        if quoted { out.append(UInt8(ascii: "\"")) }
        if formula { out.append(UInt8(ascii: "'")) }
        if quoted {
            for byte in value {
                if byte == UInt8(ascii: "\"") { out.append(byte) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: value)
        }
    }
}
