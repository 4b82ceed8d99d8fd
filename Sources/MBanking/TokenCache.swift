import Payments
import Support

/// The JWT every MBANKING call carries, shared by all the workers of a process: kept until shortly before its
/// `exp`, then renewed by one login. While one thread logs in, the others wanting a token wait for its result
/// rather than logging in too: there are never two logins at once.
final class TokenCache: Sendable {
    struct Entry: Sendable {
        let token: String
        /// Renewed from this time on.
        let renewAt: Timestamp
    }

    private let entry = Lock<Entry?>(nil)
    /// Held for the whole of a login.
    private let loginGate = Lock<Int>(0)
    /// For a token that is not a JWT (or has no `exp`): kept this long.
    let fallbackLifetimeSeconds: Int64

    init(fallbackLifetimeSeconds: Int64 = 300) {
        self.fallbackLifetimeSeconds = fallbackLifetimeSeconds
    }

    /// How many logins were made: tests hold it to one under many threads.
    var logins: Int { loginGate.withLock { $0 } }

    /// A token good at `now`: the cached one, or one from `login` (called by one thread at a time, and only when
    /// no other thread renewed the token meanwhile).
    func token(at now: @Sendable () -> Timestamp, login: () -> Result<String, OperatorFailure>) -> Result<String, OperatorFailure> {
        if let token = valid(at: now()) { return .success(token) }
        return loginGate.withLock { count in
            if let token = valid(at: now()) { return .success(token) }
            count += 1
            let result = login()
            if case .success(let token) = result {
                let issued = now()
                let expiry = Wire.expiry(ofJWT: token) ?? issued.adding(seconds: fallbackLifetimeSeconds)
                // A margin of a tenth of the lifetime (at most a minute): a call never leaves with a token about to expire.
                let lifetime = max(expiry.seconds - issued.seconds, 0)
                let renewAt = expiry.adding(seconds: -min(60, lifetime / 10))
                entry.withLock { $0 = Entry(token: token, renewAt: renewAt) }
            }
            return result
        }
    }

    /// Forgets `token` after the operator refused it (a 401), unless another thread already replaced it.
    func invalidate(_ token: String) {
        entry.withLock { current in
            if current?.token == token { current = nil }
        }
    }

    private func valid(at now: Timestamp) -> String? {
        entry.withLock { current in
            guard let current, now < current.renewAt else { return nil }
            return current.token
        }
    }
}
