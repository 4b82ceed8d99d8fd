import Foundation
import Testing
@testable import MBanking
import Payments
import TestStack

/// The client against a real HTTP server answering as MBANKING does (recorded answers): the token's header,
/// its cache, one login again on a 401, and one login for many threads.
@Suite struct ClientTests {
    static let request = OperatorRequest(
        reference: "0123456789abcdef0123456789abcdef-0011223344", phone: PhoneNumber("90000001")!, amount: 15000, label: "CMD-1",
        description: "Commande", requestedAt: Timestamp(seconds: 1_796_160_600))

    static func client(_ url: String, bearer: Bool = true, clock: @escaping @Sendable () -> Timestamp = { .now() }) -> MBankingClient {
        MBankingClient(
            MBankingClient.Settings(
                loginURL: url, pushURL: url + "/tmoney-middleware", creditURL: url + "/api/tpcredit", user: "cross", password: "secret-pw",
                timeoutSeconds: 5, dialect: Wire.Dialect(bearerPrefix: bearer)),
            clock: clock)
    }

    static func login(exp: Int64) -> HTTPStandIn.Behaviour {
        .respond(status: 200, body: #"{"code":"2000","data":{"token":"\#(WireTests.jwt(exp: exp))"}}"#)
    }

    @Test func debitCarriesTheBearerToken() throws {
        let exp = Int64(Date().timeIntervalSince1970) + 3600
        let server = try HTTPStandIn { line in
            line.hasPrefix("POST /login") ? Self.login(exp: exp) : .respond(status: 200, body: #"{"code":"2000","message":"en attente"}"#)
        }
        defer { server.stop() }
        let client = Self.client(server.url)
        #expect(throws: Never.self) { try client.requestDebit(Self.request).get() }
        #expect(throws: Never.self) { try client.requestDebit(Self.request).get() }
        let received = server.receivedRequests
        #expect(received.map { String($0.requestLine.split(separator: " ")[1]) } == ["/login", "/tmoney-middleware/debit", "/tmoney-middleware/debit"])
        #expect(received[0].text.contains(#""motDePasse":"secret-pw""#))
        #expect(received[1].header("authorization") == "Bearer " + WireTests.jwt(exp: exp))
        #expect(client.logins == 1)
    }

    @Test func bareTokenDialect() throws {
        let exp = Int64(Date().timeIntervalSince1970) + 3600
        let server = try HTTPStandIn { line in
            line.hasPrefix("POST /login") ? Self.login(exp: exp) : .respond(status: 200, body: #"{"total":0,"data":[]}"#)
        }
        defer { server.stop() }
        #expect(try Self.client(server.url, bearer: false).status(ofRequest: "x").get() == .unknown)
        #expect(server.receivedRequests.last?.header("authorization") == WireTests.jwt(exp: exp))
    }

    @Test func aRefusedDebitCarriesItsCode() throws {
        let exp = Int64(Date().timeIntervalSince1970) + 3600
        let server = try HTTPStandIn { line in
            line.hasPrefix("POST /login") ? Self.login(exp: exp) : .respond(status: 200, body: #"{"code":"4004","message":"Numéro client inconnu"}"#)
        }
        defer { server.stop() }
        #expect(throws: OperatorFailure.refused(code: "4004 Numéro client inconnu")) { try Self.client(server.url).requestDebit(Self.request).get() }
    }

    /// A 401 (the token revoked) logs in again once and repeats the call; a second 401 is a failure, not a loop.
    @Test func unauthorizedLogsInAgainOnce() throws {
        let exp = Int64(Date().timeIntervalSince1970) + 3600
        let calls = Counter()
        let server = try HTTPStandIn { line in
            if line.hasPrefix("POST /login") { return Self.login(exp: exp) }
            return calls.next() == 1 ? .respond(status: 401, body: #"{"code":"4010"}"#) : .respond(status: 200, body: #"{"total":0,"data":[]}"#)
        }
        defer { server.stop() }
        let client = Self.client(server.url)
        #expect(try client.status(ofRequest: "x").get() == .unknown)
        #expect(client.logins == 2)

        server.setBehaviour { line in line.hasPrefix("POST /login") ? Self.login(exp: exp) : .respond(status: 401, body: "{}") }
        #expect(throws: OperatorFailure.httpStatus(401)) { try client.status(ofRequest: "x").get() }
        #expect(client.logins == 3)
    }

    /// The token is renewed shortly before its `exp`, not after a refusal.
    @Test func tokenRenewedBeforeExpiry() throws {
        let now = Lock(Int64(1_800_000_000))
        let server = try HTTPStandIn { line in
            line.hasPrefix("POST /login") ? Self.login(exp: 1_800_000_000 + 600) : .respond(status: 200, body: #"{"total":0,"data":[]}"#)
        }
        defer { server.stop() }
        let client = Self.client(server.url) { Timestamp(seconds: now.withLock { $0 }) }
        _ = client.status(ofRequest: "x")
        now.withLock { $0 += 500 }
        _ = client.status(ofRequest: "x")
        #expect(client.logins == 1)
        now.withLock { $0 += 45 }  // 55 s before exp: within the margin of a tenth of the lifetime (60 s)
        _ = client.status(ofRequest: "x")
        #expect(client.logins == 2)
    }

    /// 16 threads wanting a token at once: one login, every call made with its token.
    @Test func sixteenThreadsOneLogin() throws {
        let exp = Int64(Date().timeIntervalSince1970) + 3600
        let server = try HTTPStandIn { line in
            line.hasPrefix("POST /login") ? Self.login(exp: exp) : .respond(status: 200, body: #"{"total":0,"data":[]}"#)
        }
        defer { server.stop() }
        let client = Self.client(server.url)
        let failures = Lock(0)
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            if (try? client.status(ofRequest: "x").get()) != .unknown { failures.withLock { $0 += 1 } }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(client.logins == 1)
        #expect(server.receivedRequests.filter { $0.requestLine.hasPrefix("POST /login") }.count == 1)
        #expect(server.receivedRequests.count == 17)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}

final class Lock<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}
