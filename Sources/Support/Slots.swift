/// A bounded number of places for a slow kind of work (a call to an operator, a password hash): taken without
/// waiting, so that a worker finding none answers "busy" at once instead of joining a queue that would hold the
/// workers other requests need.
public final class Slots: Sendable {
    public let capacity: Int
    private let taken = Lock(0)

    public init(_ capacity: Int) {
        self.capacity = capacity
    }

    /// Runs `body` in a place, or returns nil at once when every place is taken.
    public func ifFree<Result>(_ body: () throws -> Result) rethrows -> Result? {
        let got = taken.withLock { count -> Bool in
            guard count < capacity else { return false }
            count += 1
            return true
        }
        guard got else { return nil }
        defer { taken.withLock { $0 -= 1 } }
        return try body()
    }

    public var inUse: Int { taken.withLock { $0 } }
}
