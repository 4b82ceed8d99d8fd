// Payments.PaymentButton.verify: a payment button's form, posted to `/checkout`, checked against its signature.
//
// Input: the form body (`purchaseref=CMD-1001&amount=15000&expires=...&signature=<64 hex>`), decoded with
// URLEncoding.parseForm as Request does; input that does not decode is skipped.
//
// Invariants:
// - a form that verifies holds only button fields, each once, and the signature of exactly the values returned
//   (which are, byte for byte, the values sent), and has not expired;
// - the same fields, signed with PaymentButton.sign, verify (unless malformed or past `expires`), and back to
//   the same values; with a value changed, a field added, or signed with another secret, they never do.
import FastCGI
import FuzzSupport
import Payments

private let secret = "fuzz-button-secret-0123456789"
/// 2026-11-26T15:23:28Z: the corpus's buttons expire after this.
private let now = Timestamp(seconds: 1_795_706_608)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPaymentButton(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let form = try? URLEncoding.parseForm(Substring(text(data, count))) else { return 0 }

    // The form as sent.
    do {
        let values = try PaymentButton.verify(form.pairs, secret: secret, now: now)
        note("verified: \(values)")
        checkAccepted(values, form: form.pairs)
    } catch {
        note("refused: \(error)")
    }

    // The same fields, signed.
    let unsigned = form.pairs.filter { !same($0.name, PaymentButton.signatureField) }
    guard unsigned.allSatisfy({ pair in PaymentButton.fields.contains { same($0, pair.name) } }),
          Set(unsigned.map { Array($0.name.utf8) }).count == unsigned.count else {
        // An unknown or repeated field: refused whatever the signature.
        let signed = unsigned + [(PaymentButton.signatureField, PaymentButton.sign(dictionary(unsigned), secret: secret))]
        do {
            _ = try PaymentButton.verify(signed, secret: secret, now: now)
            fail("a button with an unknown or repeated field verifies")
        } catch {
            invariant(isFieldRefusal(error), "a button with an unknown or repeated field is refused with \(error)")
        }
        return 0
    }
    let values = dictionary(unsigned)
    let signature = PaymentButton.sign(values, secret: secret)
    invariant(signature.utf8.count == 64 && signature.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) },
              "a signature that is not 64 lowercase hex digits: \(show(signature))")
    let expiry = expiryRefusal(values["expires"])
    do {
        let verified = try PaymentButton.verify(unsigned + [(PaymentButton.signatureField, signature)], secret: secret, now: now)
        invariant(expiry == nil, "a button verifies though its expiry \(show(values["expires"] ?? "")) is refused")
        invariant(verified.count == values.count && verified.allSatisfy { same(values[$0.key], $0.value) },
                  "a signed button verifies to other values")
        let upper = signature.uppercased()
        invariant((try? PaymentButton.verify(unsigned + [(PaymentButton.signatureField, upper)], secret: secret, now: now)) != nil,
                  "an upper-case signature is refused")
    } catch {
        invariant(expiry == error, "a signed button is refused with \(error), expected \(expiry.map { "\($0)" } ?? "success")")
    }

    // One value changed (which one follows from the input, to keep each input's work small), a field added, or
    // another secret: never verifies.
    if !unsigned.isEmpty {
        let index = count % unsigned.count
        let pair = unsigned[index]
        var changed = unsigned
        changed[index].value = pair.value + "0"
        checkForged(changed + [(PaymentButton.signatureField, signature)], "\(pair.name) changed from \(show(pair.value))")
        if !pair.value.isEmpty {
            changed[index].value = String(pair.value.dropLast())
            checkForged(changed + [(PaymentButton.signatureField, signature)], "\(pair.name) shortened from \(show(pair.value))")
        }
    }
    let absent = PaymentButton.fields.filter { values[$0] == nil }
    if !absent.isEmpty {
        let name = absent[count % absent.count]
        checkForged(unsigned + [(name, "1"), (PaymentButton.signatureField, signature)], "\(name) added")
    }
    checkForged(unsigned + [(PaymentButton.signatureField, PaymentButton.sign(values, secret: secret + "x"))], "another secret")
    return 0
}

private func checkAccepted(_ values: [String: String], form: [(name: String, value: String)]) {
    var signatures = 0
    for (name, value) in form {
        if same(name, PaymentButton.signatureField) {
            signatures += 1
            continue
        }
        invariant(PaymentButton.fields.contains { same($0, name) }, "a verified button carries the field \(show(name))")
        invariant(same(values[name], value), "a verified button's \(name) is \(values[name].map(show) ?? "nil"), sent \(show(value))")
    }
    invariant(signatures == 1, "a verified button carries \(signatures) signatures")
    invariant(values.count == form.count - 1, "a verified button lost or gained a field")
    let signature = form.first { same($0.name, PaymentButton.signatureField) }!.value
    invariant(same(signature.lowercased(), PaymentButton.sign(values, secret: secret)), "a verified button's signature is not the fields'")
    invariant(expiryRefusal(values["expires"]) == nil, "a verified button is malformed or expired")
}

/// What verify must say of a button whose signature is right.
private func expiryRefusal(_ expires: String?) -> PaymentButton.Refusal? {
    guard let expires, !expires.isEmpty else { return nil }
    guard expires.utf8.count <= 12, expires.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(expires) else {
        return .malformedExpiry
    }
    return now.seconds <= seconds ? nil : .expired(at: Timestamp(seconds: seconds))
}

private func checkForged(_ form: [(name: String, value: String)], _ what: String) {
    do {
        _ = try PaymentButton.verify(form, secret: secret, now: now)
        fail("a button verifies with \(what)")
    } catch {
        invariant(error == .badSignature, "a button with \(what) is refused with \(error), not badSignature")
    }
}

private func isFieldRefusal(_ refusal: PaymentButton.Refusal) -> Bool {
    switch refusal {
    case .unknownField, .repeatedField: true
    default: false
    }
}

private func dictionary(_ pairs: [(name: String, value: String)]) -> [String: String] {
    var values: [String: String] = [:]
    for (name, value) in pairs where values[name] == nil { values[name] = value }
    return values
}
