import Testing
@testable import Payments
import TMoneyOnline

private typealias Notification = TMoneyOnline.Notification

@Suite struct NotificationParsingTests {
    static let complete: [(name: String, value: String)] = [
        ("purchaseref", "CMD-1001"), ("amount", "15000"), ("currency", "952"), ("status", "OK"), ("clientid", "C1"),
        ("cname", "Kofi Mensah"), ("mobile", "22890000001"), ("paymentref", "PR1"), ("payid", "P1"),
        ("timestamp", "1469024554"), ("error", ""),
    ]

    func replacing(_ name: String, with value: String?) -> [(name: String, value: String)] {
        var parameters = Self.complete.filter { $0.name != name }
        if let value { parameters.append((name, value)) }
        return parameters
    }

    @Test func completeOKNotification() throws {
        let notification = try Notification.parse(Self.complete)
        #expect(notification.status == .ok)
        #expect(notification.amount == 15000)
        #expect(notification.cname == "Kofi Mensah")
        #expect(notification.event.outcome == .paid)
        #expect(notification.parameters.map(\.0) == Self.complete.map(\.name))
    }

    @Test("each required parameter missing", arguments: ["purchaseref", "amount", "currency", "status"])
    func missing(name: String) {
        let errors = #expect(throws: ValidationErrors.self) { try Notification.parse(replacing(name, with: nil)) }
        #expect(errors?.fields.contains(name) == true)
    }

    @Test("malformed parameters", arguments: [
        ("amount", "15000.00"), ("amount", "15,000"), ("amount", "-1"), ("amount", "12345678901"), ("currency", "XOF"),
        ("status", "ok"), ("status", "PAID"), ("mobile", "+22890000001"), ("mobile", "123"), ("timestamp", "yesterday"),
        ("error", "cancel"), ("purchaseref", "a\nb"), ("payid", String(repeating: "9", count: 65)),
    ])
    func malformed(name: String, value: String) {
        let errors = #expect(throws: ValidationErrors.self) { try Notification.parse(replacing(name, with: value)) }
        #expect(errors?.fields.contains(name) == true, "\(name)=\(value)")
    }

    // Found by fuzz/ (FuzzNotification): the status was read with `Status(rawValue:)`, which compares by canonical
    // equivalence, in which the Kelvin sign U+212A is the letter K: `status=O%E2%84%AA` was an OK.
    @Test("a status that only looks like OK or NOK is refused", arguments: ["O\u{212A}", "NO\u{212A}"])
    func canonicallyEquivalentStatus(status: String) {
        let errors = #expect(throws: ValidationErrors.self) { try Notification.parse(replacing("status", with: status)) }
        #expect(errors?.fields.contains("status") == true)
    }

    @Test func repeatedParameterIsRefused() {
        let errors = #expect(throws: ValidationErrors.self) { try Notification.parse(Self.complete + [("status", "NOK")]) }
        #expect(errors?.fields == ["status"])
    }

    @Test func okNeedsItsPaymentAndNoError() {
        #expect((#expect(throws: ValidationErrors.self) { try Notification.parse(replacing("payid", with: "")) })?.fields == ["payid"])
        #expect((#expect(throws: ValidationErrors.self) { try Notification.parse(replacing("error", with: "CANCEL")) })?.fields == ["error"])
    }

    @Test func nokNeedsAnError() throws {
        var parameters = replacing("status", with: "NOK")
        #expect((#expect(throws: ValidationErrors.self) { try Notification.parse(parameters) })?.fields == ["error"])
        parameters = parameters.filter { $0.name != "error" } + [("error", "CANCEL")]
        #expect(try Notification.parse(parameters).event.status == .cancelled)
    }

    @Test("error codes", arguments: [
        ("CANCEL", OrderStatus.cancelled), ("AUTHENTICATION", .declined), ("PAYMENT_FAILED", .declined),
        ("EXPIRED_SESSION", .expired), ("SOMETHING_NEW", .declined),
    ])
    func errorOutcomes(code: String, status: OrderStatus) {
        #expect(Fixtures.nok(code).event.status == status)
        #expect(Fixtures.nok(code).event.reason == code, "the code is kept as it came")
    }

    @Test func unknownExtraParametersAreIgnored() throws {
        #expect(try Notification.parse(Self.complete + [("utm_source", "x")]).payid == "P1")
    }

    @Test func identityTellsDuplicatesApart() {
        #expect(Fixtures.ok(payid: "P1").event.identity == Fixtures.ok(payid: "P1").event.identity)
        #expect(Fixtures.ok(payid: "P1").event.identity != Fixtures.ok(payid: "P2").event.identity)
        #expect(Fixtures.nok("CANCEL").event.identity == Fixtures.nok("CANCEL").event.identity)
        #expect(Fixtures.nok("CANCEL", timestamp: "1").event.identity != Fixtures.nok("CANCEL", timestamp: "2").event.identity)
        #expect(Fixtures.nok("CANCEL").event.identity != Fixtures.nok("AUTHENTICATION").event.identity)
    }
}
