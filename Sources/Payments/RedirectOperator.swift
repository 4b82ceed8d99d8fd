/// An operator whose own payment page the shopper is sent to (TMoney Online): Cross opens a session server to
/// server, its checkout page posts a form of hidden fields there, and the operator notifies Cross of the outcome.
/// The checkout pages know only this protocol; the wire format is the operator's module's.
public protocol RedirectOperator: Sendable {
    var `operator`: Operator { get }
    /// Asks the operator for a session, server to server (it may take seconds: never under an order's lock).
    func openSession() -> Result<RedirectSession, OperatorFailure>
    /// The form the shopper's browser posts to pay `order` in `attempt`'s session; `returnPages` bring the
    /// shopper back to Cross after each outcome.
    func paymentForm(for order: Order, attempt: Attempt, returnPages: ReturnURLs) -> PaymentForm
}

/// A session an operator opened for one attempt.
public struct RedirectSession: Sendable, Equatable {
    /// The attempt's reference at the operator (TMoney Online's session id).
    public let reference: String
    public let lifetimeSeconds: Int64

    public init(reference: String, lifetimeSeconds: Int64) {
        self.reference = reference
        self.lifetimeSeconds = lifetimeSeconds
    }
}

/// The form of hidden fields that takes the shopper to the operator's payment page.
public struct PaymentForm: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public let action: String
    public let fields: [Field]

    public init(action: String, fields: [Field]) {
        self.action = action
        self.fields = fields
    }
}

/// Why a call to an operator gave nothing to act on.
public enum OperatorFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operator said no, with its code (TMoney Online: `NOK:UNKNOWN_MERCHANT`).
    case refused(code: String)
    /// An answer that is not one of the protocol's (an HTML error page, an empty body, a truncated answer):
    /// `expected` says what it should have been.
    case unrecognized(expected: String, excerpt: String)
    /// Not a 2xx.
    case httpStatus(Int)
    case timeout
    /// Could not connect, TLS failed, the connection broke.
    case transport(String)

    public var description: String {
        switch self {
        case .refused(let code): "the operator refused: \(code)"
        case .unrecognized(let expected, let excerpt): "the operator answered something that is not \(expected): \"\(excerpt)\""
        case .httpStatus(let status): "the operator answered HTTP \(status)"
        case .timeout: "the operator did not answer in time"
        case .transport(let reason): "the operator is unreachable: \(reason)"
        }
    }
}
