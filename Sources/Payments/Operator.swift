/// A mobile-money operator of Togo whose wallets Cross takes payments from. Each speaks its own wire protocol,
/// in a module of its own (TMoney Online now; MBANKING and Flooz to come); the payment domain knows only this name.
public enum Operator: String, Sendable, Codable, CaseIterable, Comparable {
    /// Togocom's TMoney.
    case tmoney
    /// Moov Africa's Flooz.
    case flooz

    /// As shoppers and merchants know it.
    public var displayName: String {
        switch self {
        case .tmoney: "TMoney"
        case .flooz: "Flooz"
        }
    }

    public static func < (lhs: Operator, rhs: Operator) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How a shopper pays. `redirect`: their browser is sent to the operator's payment page with a hidden form
/// (TMoney Online), and the operator notifies Cross. `push`: Cross asks the operator to prompt the shopper's
/// phone, the shopper approves with their PIN, and the operator calls Cross back.
public enum PaymentMethod: String, Sendable, Codable, CaseIterable {
    case redirect
    case push
}
