/// What the merchant allows of an operator: whether it is offered at all, and the amounts per transaction it is
/// offered for (an operator's own caps, or the merchant's choice).
public struct OperatorLimits: Sendable, Equatable {
    public var enabled: Bool
    /// Whole francs, both included.
    public var minimum: Int64
    public var maximum: Int64

    public init(enabled: Bool = true, minimum: Int64 = Amount.minimum, maximum: Int64 = Amount.maximum) {
        self.enabled = enabled
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Whether an order of `amount` francs may be paid with the operator, and why not.
    public enum Availability: Sendable, Equatable {
        case offered
        /// The merchant turned it off, or it is not configured.
        case disabled
        case belowMinimum(Int64)
        case aboveMaximum(Int64)
    }

    public func availability(for amount: Int64) -> Availability {
        guard enabled else { return .disabled }
        if amount < minimum { return .belowMinimum(minimum) }
        if amount > maximum { return .aboveMaximum(maximum) }
        return .offered
    }
}
