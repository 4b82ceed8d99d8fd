/// A credential an operator's API hands out and later calls carry (MBANKING's JWT, Flooz's key), shared by every
/// thread of a process: kept until `renewAt` of its own (before its expiry), then renewed by one caller while the
/// others wait for its result, so that there are never two logins at once.
public final class SharedCredential<Failure: Error>: Sendable {
    private struct Entry: Sendable {
        let value: String
        let renewAt: Int64
    }

    private let entry = Lock<Entry?>(nil)
    /// Held for the whole of a renewal; counts them.
    private let gate = Lock<Int>(0)

    public init() {}

    /// How many times the credential was obtained: tests hold it to one under many threads.
    public var renewals: Int { gate.withLock { $0 } }

    /// A credential good at `now()` (Unix seconds): the kept one, or one from `obtain`, which returns it with the
    /// time from which it is renewed. `obtain` runs on one thread at a time, and only when no other thread renewed
    /// the credential meanwhile.
    public func value(now: () -> Int64, obtain: () -> Result<(value: String, renewAt: Int64), Failure>) -> Result<String, Failure> {
        if let value = valid(at: now()) { return .success(value) }
        return gate.withLock { count in
            if let value = valid(at: now()) { return .success(value) }
            count += 1
            switch obtain() {
            case .success(let obtained):
                entry.withLock { $0 = Entry(value: obtained.value, renewAt: obtained.renewAt) }
                return .success(obtained.value)
            case .failure(let failure):
                return .failure(failure)
            }
        }
    }

    /// Forgets `value` after the operator refused it, unless another thread already replaced it.
    public func invalidate(_ value: String) {
        entry.withLock { current in
            if current?.value == value { current = nil }
        }
    }

    private func valid(at now: Int64) -> String? {
        entry.withLock { current in
            guard let current, now < current.renewAt else { return nil }
            return current.value
        }
    }
}
