import Testing
@testable import Payments

@Suite struct PaymentButtonTests {
    static let secret = "a-merchant-button-secret"
    static let now = Timestamp(seconds: 1_800_000_000)
    static let fields: [String: String] = [
        "purchaseref": "CMD-1001", "amount": "15000", "currency": "952", "description": "Sac de riz",
        "language": "fr", "accept_url": "https://shop.tg/merci", "expires": "1800003600",
    ]

    static func form(_ fields: [String: String], signature: String? = nil) -> [(name: String, value: String)] {
        fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + [("signature", signature ?? PaymentButton.sign(fields, secret: secret))]
    }

    @Test func validButtonPasses() throws {
        #expect(try PaymentButton.verify(Self.form(Self.fields), secret: Self.secret, now: Self.now) == Self.fields)
        // Field order on the page does not matter; upper-case hex is the same signature.
        let signature = PaymentButton.sign(Self.fields, secret: Self.secret)
        #expect(try PaymentButton.verify(Self.form(Self.fields, signature: signature).reversed(), secret: Self.secret, now: Self.now) == Self.fields)
        #expect(try PaymentButton.verify(Self.form(Self.fields, signature: signature.uppercased()), secret: Self.secret, now: Self.now) == Self.fields)
    }

    @Test("each signed field altered", arguments: PaymentButton.fields)
    func alteredField(name: String) {
        let signature = PaymentButton.sign(Self.fields, secret: Self.secret)
        var altered = Self.fields
        altered[name] = (altered[name] ?? "") + "1"
        #expect(throws: PaymentButton.Refusal.badSignature) {
            try PaymentButton.verify(Self.form(altered, signature: signature), secret: Self.secret, now: Self.now)
        }
    }

    @Test func fieldAddedOrRemoved() {
        let signature = PaymentButton.sign(Self.fields, secret: Self.secret)
        var added = Self.fields
        added["phone"] = "90000001"
        #expect(throws: PaymentButton.Refusal.badSignature) { try PaymentButton.verify(Self.form(added, signature: signature), secret: Self.secret, now: Self.now) }
        var removed = Self.fields
        removed["description"] = nil
        #expect(throws: PaymentButton.Refusal.badSignature) { try PaymentButton.verify(Self.form(removed, signature: signature), secret: Self.secret, now: Self.now) }
        #expect(throws: PaymentButton.Refusal.unknownField("brand")) {
            try PaymentButton.verify(Self.form(Self.fields, signature: signature) + [("brand", "Other")], secret: Self.secret, now: Self.now)
        }
        #expect(throws: PaymentButton.Refusal.repeatedField("amount")) {
            try PaymentButton.verify(Self.form(Self.fields, signature: signature) + [("amount", "15000")], secret: Self.secret, now: Self.now)
        }
    }

    @Test func valueCannotSlideIntoItsNeighbour() {
        // Moving text from one field to the next keeps the concatenation but not the signature.
        var moved = Self.fields
        moved["purchaseref"] = "CMD-100"
        moved["amount"] = "115000"
        #expect(PaymentButton.sign(moved, secret: Self.secret) != PaymentButton.sign(Self.fields, secret: Self.secret))
    }

    @Test func wrongSecretMissingOrMalformedSignature() {
        let other = PaymentButton.sign(Self.fields, secret: "another-secret-entirely")
        #expect(throws: PaymentButton.Refusal.badSignature) { try PaymentButton.verify(Self.form(Self.fields, signature: other), secret: Self.secret, now: Self.now) }
        let withoutSignature = Self.fields.map { (name: $0.key, value: $0.value) }
        #expect(throws: PaymentButton.Refusal.missingSignature) { try PaymentButton.verify(withoutSignature, secret: Self.secret, now: Self.now) }
        for bad in ["", "zz", String(repeating: "0", count: 64), String(PaymentButton.sign(Self.fields, secret: Self.secret).dropLast(2))] {
            #expect(throws: PaymentButton.Refusal.self) { try PaymentButton.verify(Self.form(Self.fields, signature: bad), secret: Self.secret, now: Self.now) }
        }
    }

    @Test func expiredAndReplayedAfterExpiry() throws {
        #expect(try PaymentButton.verify(Self.form(Self.fields), secret: Self.secret, now: Timestamp(seconds: 1_800_003_600)).count == 7)
        for later in [1_800_003_601, 1_900_000_000] as [Int64] {
            #expect(throws: PaymentButton.Refusal.expired(at: Timestamp(seconds: 1_800_003_600))) {
                try PaymentButton.verify(Self.form(Self.fields), secret: Self.secret, now: Timestamp(seconds: later))
            }
        }
        var malformed = Self.fields
        malformed["expires"] = "tomorrow"
        #expect(throws: PaymentButton.Refusal.malformedExpiry) { try PaymentButton.verify(Self.form(malformed), secret: Self.secret, now: Self.now) }
    }

    @Test func freshReferencesAreDistinct() {
        let refs = (0..<1000).map { _ in PaymentButton.newReference(at: Self.now) }
        #expect(Set(refs).count == 1000)
        #expect(refs.allSatisfy { $0.hasPrefix("BTN-20270115-") && $0.count == 23 })
    }
}
