import Foundation

/// Addresses allowed to call the notification URL (the seed: only TMoney's): single addresses and CIDR
/// ranges, IPv4 or IPv6 (`196.168.10.4`, `196.168.10.0/24`, `::1`, `2001:db8::/32`).
public struct AddressAllowlist: Sendable, Equatable {
    public struct Range: Sendable, Equatable, CustomStringConvertible {
        let network: [UInt8]
        let prefixLength: Int
        public let description: String

        public init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let bytes = AddressAllowlist.parse(String(parts[0])) else { return nil }
            let bits = bytes.count * 8
            if parts.count == 2 {
                guard let length = Int(parts[1]), (0...bits).contains(length), parts[1].allSatisfy(\.isNumber) else { return nil }
                prefixLength = length
            } else {
                prefixLength = bits
            }
            network = bytes
            description = text
        }

        /// Whether the two ranges share an address: the wider one holds the other's network.
        func overlaps(_ other: Range) -> Bool {
            guard network.count == other.network.count else { return false }
            let (wide, narrow) = prefixLength <= other.prefixLength ? (self, other) : (other, self)
            return wide.contains(narrow.network)
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == network.count else { return false }
            var remaining = prefixLength
            for index in 0..<network.count where remaining > 0 {
                let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
                if address[index] & mask != network[index] & mask { return false }
                remaining -= 8
            }
            return true
        }
    }

    public let ranges: [Range]

    /// Nil, with the entry at fault, when an entry is not an address or a range.
    public init(_ entries: [String]) throws(FieldError) {
        var ranges: [Range] = []
        for entry in entries {
            guard let range = Range(entry) else {
                throw FieldError("notification_allowlist", "\"\(entry)\" is not an IP address or CIDR range")
            }
            ranges.append(range)
        }
        self.ranges = ranges
    }

    /// Whether `address` (as nginx gives it in REMOTE_ADDR) is allowed. IPv4-mapped IPv6 addresses
    /// (`::ffff:1.2.3.4`) count as their IPv4 address.
    public func allows(_ address: String) -> Bool {
        guard var bytes = Self.parse(address) else { return false }
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        return ranges.contains { $0.contains(bytes) }
    }

    /// Entries that take in more than public addresses: all of them (`/0`), or any loopback, private, shared
    /// (100.64/10), link-local or unique-local address. A notification allowlist in production names TMoney's
    /// public servers only.
    public var nonPublicEntries: [Range] {
        ranges.filter { range in range.prefixLength == 0 || Self.nonPublic.contains { $0.overlaps(range) } }
    }

    private static let nonPublic: [Range] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
        "::/127", "fc00::/7", "fe80::/10", "::ffff:0.0.0.0/96",
    ].map { Range($0)! }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
