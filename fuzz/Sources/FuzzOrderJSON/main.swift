// JSONDecoder().decode(Payments.Order.self, ...): an order file (or a journal record's order) read back.
//
// Input: JSON.
//
// Invariants:
// - an order that decodes keeps its types' rules (an amount of 100 to 9 999 999 999, 32-hex-digit key, session
//   ids of 8 to 64 letters and digits);
// - it encodes, and the encoding decodes to an equal order whose encoding is the same bytes.
import Foundation
import FuzzSupport
import Payments

// One decoder and one encoder for every input: making them costs more than a small input's decoding.
private let decoder = JSONDecoder()
private let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOrderJSON(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Data(bytes(data, count))
    let order: Order
    do {
        order = try decoder.decode(Order.self, from: input)
    } catch {
        note("not an order: \(error)")
        return 0
    }
    note("an order: \(order.ref), \(order.status), \(order.notifications.count) notifications")

    invariant((Amount.minimum...Amount.maximum).contains(order.amount.francs), "amount \(order.amount.francs)")
    invariant(OrderKey(hex: order.key.hex) != nil, "key \(show(order.key.hex))")
    for attempt in order.attempts {
        invariant(SessionID(attempt.sessionID.value) != nil, "session id \(show(attempt.sessionID.value))")
    }

    let encoded: Data
    do {
        encoded = try encoder.encode(order)
    } catch {
        fail("a decoded order does not encode: \(error)")
    }
    let again: Order
    do {
        again = try decoder.decode(Order.self, from: encoded)
    } catch {
        fail("an order's encoding does not decode: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
    }
    invariant(again == order, "an order's encoding decodes to another order:\n\(String(decoding: encoded, as: UTF8.self))")
    do {
        let reencoded = try encoder.encode(again)
        invariant(reencoded == encoded, "an order encodes differently after a round trip:\n\(String(decoding: encoded, as: UTF8.self))\n\(String(decoding: reencoded, as: UTF8.self))")
    } catch {
        fail("a decoded order does not encode: \(error)")
    }
    return 0
}
