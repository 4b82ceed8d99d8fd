import Crypto
import Foundation
import Support

/// The name an order is filed under: 32 hex digits of SHA-256 of its purchaseref. Any reference, of any
/// characters (`../../x`, `CON`, 250 × `é`), gives a safe file name of fixed length, distinct for distinct
/// references, and never two names that differ only by case.
public struct OrderKey: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let hex: String

    public init(ref: String) {
        hex = String(Hex.encode(SHA256.hash(data: Data(ref.utf8))).prefix(32))
    }

    /// A key as found in a file name or a link: exactly 32 lowercase hex digits.
    public init?(hex: String) {
        guard Hex.isLowercase(hex.utf8, count: 32) else { return nil }
        self.hex = hex
    }

    public var description: String { hex }
    public static func < (lhs: OrderKey, rhs: OrderKey) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let key = OrderKey(hex: try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an order key of 32 hex digits")
        }
        self = key
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// How an order is named in links given to shoppers (checkout and return pages): its key and a MAC of it.
/// Not guessable from a reference, so that nobody reads another shopper's order by trying `CMD-1002`; and
/// short enough for TMoney's 150-character return URLs.
public struct OrderLink: Sendable {
    private let key: SymmetricKey
    /// How shoppers reach Cross: `https://pay.example.tg`.
    public let publicURL: String

    public init(secret: String, publicURL: String) {
        key = SymmetricKey(data: Data(secret.utf8))
        self.publicURL = publicURL
    }

    /// The page that takes the shopper to pay the order: `https://pay.example.tg/pay/<token>`.
    public func checkoutURL(for orderKey: OrderKey) -> String { publicURL + "/pay/" + token(for: orderKey) }

    /// `<32 hex key>-<16 hex MAC>`.
    public func token(for orderKey: OrderKey) -> String {
        orderKey.hex + "-" + mac(orderKey.hex)
    }

    /// The order key a token names, if its MAC is right (compared in constant time).
    public func orderKey(fromToken token: String) -> OrderKey? {
        let parts = token.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let orderKey = OrderKey(hex: String(parts[0])), parts[1].utf8.count == 16 else { return nil }
        return ConstantTime.equal(mac(orderKey.hex).utf8, parts[1].utf8) ? orderKey : nil
    }

    private func mac(_ text: String) -> String {
        String(Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)).prefix(16))
    }
}
