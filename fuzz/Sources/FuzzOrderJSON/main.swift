// JSONDecoder().decode(Payments.Order.self, ...): an order file (or a journal record's order) read back, in
// today's format or in Cross 0.2's (TMoney Online's notifications and the details inline, see
// Payments/LegacyOrderFields.swift), and written again by the store's own writer (FlatFileStore's `JSONBytes`).
//
// Input: JSON.
//
// Invariants:
// - an order that decodes keeps its types' rules (an amount of 100 to 9 999 999 999, a key of 32 lowercase
//   hex digits);
// - the store's writer, `JSONBytes.encode`, writes it as the very bytes Foundation's JSONEncoder writes (sorted
//   keys, slashes unescaped), as the store's tests promise for ordinary orders;
// - those bytes decode to an equal order whose encoding is the same bytes (an order of the legacy format is
//   written in today's, and reads back the same).
import Foundation
@testable import FlatFileStore
import FuzzSupport
import Payments

// One decoder and one encoder for every input: making them costs more than a small input's decoding.
private let decoder = JSONDecoder()
private let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
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
    note("an order: \(order.ref), \(order.status), \(order.attempts.count) attempts, \(order.events.count) events")

    invariant((Amount.minimum...Amount.maximum).contains(order.amount.francs), "amount \(order.amount.francs)")
    invariant(OrderKey(hex: order.key.hex) != nil, "key \(show(order.key.hex))")

    let encoded = JSONBytes.encode(order)
    let text = String(decoding: encoded, as: UTF8.self)
    do {
        let foundation = try encoder.encode(order)
        invariant(foundation.elementsEqual(encoded),
                  "JSONBytes and JSONEncoder write the order differently:\n\(text)\n\(String(decoding: foundation, as: UTF8.self))")
    } catch {
        fail("a decoded order does not encode: \(error)")
    }
    let again: Order
    do {
        again = try decoder.decode(Order.self, from: Data(encoded))
    } catch {
        fail("an order's encoding does not decode: \(error)\n\(text)")
    }
    invariant(again == order, "an order's encoding decodes to another order:\n\(text)")
    let reencoded = JSONBytes.encode(again)
    invariant(reencoded == encoded, "an order encodes differently after a round trip:\n\(text)\n\(String(decoding: reencoded, as: UTF8.self))")
    return 0
}
