import TMoneyOnline
import FastCGI
import Payments
import Testing
@testable import Sandbox

/// `GET /online/online.php?merchantid=…`: session ids for merchants' servers only, good once, for 180 s.
@Suite struct SessionTests {
    @Test func knownMerchantFromAllowedAddressGets32RandomDigits() throws {
        let harness = try Harness()
        let response = harness.send("GET", "/online/online.php?merchantid=" + Harness.merchant)
        #expect(response.status == .ok)
        #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
        let body = Harness.text(response)
        #expect(body.range(of: "^OK:[0-9]{32}$", options: .regularExpression) != nil, "\(body)")
        guard case .session(let id) = TMoneyOnline.SessionAnswer.parse(body) else {
            Issue.record("Cross's parser does not read \(body) as a session id")
            return
        }
        #expect(id.value.utf8.count == 32)
        let ids = Set((0..<20).map { _ in harness.session() })
        #expect(ids.count == 20)
    }

    @Test func cidrRangesAndIPv6AreAllowedAddresses() throws {
        let harness = try Harness()
        _ = harness.session(remote: "10.20.3.4")
        _ = harness.session(remote: "::1")
        _ = harness.session(remote: "::ffff:127.0.0.1")
    }

    @Test func unknownOrMalformedMerchantIsUnknownMerchant() throws {
        let harness = try Harness()
        for id in ["9999999999999999", "123", "20000000000000011", "abc"] {
            let response = harness.send("GET", "/online/online.php?merchantid=" + id)
            #expect(response.status == .ok, "TMoney answers NOK with a 200 body")
            #expect(Harness.text(response) == "NOK:UNKNOWN_MERCHANT")
        }
        #expect(harness.sandbox.snapshot().sessions.isEmpty)
    }

    @Test func refusedAddressIsUnauthorizedAddress() throws {
        let harness = try Harness()
        for remote in ["10.21.0.1", "192.0.2.10", "", "2001:db8::1"] {
            let response = harness.send("GET", "/online/online.php?merchantid=" + Harness.merchant, remote: remote)
            #expect(Harness.text(response) == "NOK:UNAUTHORIZED_ADDRESS", "\(remote)")
        }
        // The other merchant's own server is allowed for it.
        _ = harness.session(merchant: Harness.otherMerchant, remote: "192.0.2.10")
        #expect(harness.sandbox.snapshot().sessions.count == 1)
    }

    @Test func missingOrRepeatedMerchantIDIs400PlainText() throws {
        let harness = try Harness()
        for uri in ["/online/online.php", "/online/online.php?merchantid=\(Harness.merchant)&merchantid=\(Harness.merchant)"] {
            let response = harness.send("GET", uri)
            #expect(response.status == .badRequest)
            #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(Harness.text(response).contains("merchantid"))
        }
    }

    @Test func aSessionIDServesOnce() throws {
        let harness = try Harness()
        let session = harness.session()
        let (first, key) = harness.open(session: session)
        #expect(first.status == .ok)
        #expect(!key.isEmpty)
        let (second, _) = harness.open(["purchaseref": "CMD-1002"], session: session)
        #expect(second.status == .seeOther)
        #expect(second.header("Location") == "https://shop.test/return/decline?order=tok")
        #expect(harness.plans.count == 1)
        #expect(harness.plans[0].parameters["purchaseref"] == "CMD-1002")
        #expect(harness.plans[0].parameters["error"] == "EXPIRED_SESSION")
        #expect(harness.plans[0].parameters["status"] == "NOK")
    }

    @Test func aSessionIDExpiresAfterItsLifetime() throws {
        let harness = try Harness()
        let late = harness.session()
        let inTime = harness.session()
        harness.clock.advance(179)
        #expect(harness.open(session: inTime).page.status == .ok)
        harness.clock.advance(1)
        let (page, _) = harness.open(["purchaseref": "CMD-LATE"], session: late)
        #expect(page.status == .seeOther)
        #expect(page.header("Location") == "https://shop.test/return/decline?order=tok")
        #expect(harness.plans.map { $0.parameters["error"] } == ["EXPIRED_SESSION"])
    }

    @Test func aShortLifetimeComesFromTheConfiguration() throws {
        let harness = try Harness(["session_lifetime_seconds": 2])
        let session = harness.session()
        harness.clock.advance(2)
        #expect(harness.open(session: session).page.status == .seeOther)
    }

    @Test func unknownOrOtherMerchantsSessionIsExpiredSession() throws {
        let harness = try Harness()
        #expect(harness.open(session: "12345678901234567890123456789012").page.status == .seeOther)
        let others = harness.session(merchant: Harness.otherMerchant, remote: "192.0.2.10")
        #expect(harness.open(session: others).page.status == .seeOther)
        #expect(harness.plans.map { $0.parameters["error"] } == ["EXPIRED_SESSION", "EXPIRED_SESSION"])
        #expect(harness.plans.allSatisfy { $0.merchantID == Harness.merchant })
    }

    @Test func issuedSessionsAloneNeverNotify() throws {
        let harness = try Harness()
        _ = harness.session()
        _ = harness.session()
        harness.clock.advance(3600)
        #expect(try harness.sandbox.expireAbandonedPayments() == 0)
        #expect(harness.plans.isEmpty)
        #expect(harness.sandbox.snapshot().sessions.isEmpty, "expired session ids are forgotten")
    }
}
