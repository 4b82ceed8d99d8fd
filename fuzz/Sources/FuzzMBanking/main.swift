// MBanking.Wire: what MBANKING's servers send Cross (the callback, check-transaction's answer, the login's, credit
// v1's XML), read from bytes nobody signed.
//
// Input: one body, read as each reader reads it.
//
// Invariants:
// - none of the readers crashes or hangs, whatever the bytes;
// - a callback read has an `idRequete` of 1 to 64 bytes, and claims a success only with a whole amount;
// - check-transaction's `.succeeded` only for a record whose `statutRequete` is SUCCES (or SUCCESS), with a
//   whole amount that fits in 15 digits; `.unknown` only for `total` 0 or a record of another request;
// - a login token is 1 to 8192 visible ASCII bytes.
import Foundation
import FuzzSupport
@testable import MBanking
import Payments

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMBanking(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let body = Array(bytes(data, count))
    if let callback = try? Wire.callback(body) {
        note("callback \(callback)")
        invariant((1...64).contains(callback.reference.utf8.count), "a callback's idRequete of \(callback.reference.utf8.count) bytes")
        if case .succeeded(let transaction) = callback.claimed {
            invariant(abs(transaction.amount) < 1_000_000_000_000_000, "an amount of \(transaction.amount)")
        }
    }
    let status = Wire.status(fromCheck: body, reference: "k-1")
    note("check \(String(describing: status))")
    if case .succeeded(let transaction)? = status {
        let text = String(decoding: body, as: UTF8.self).uppercased()
        invariant(text.contains("SUCCES"), "succeeded without SUCCES in \(show(String(decoding: body, as: UTF8.self)))")
        invariant(abs(transaction.amount) < 1_000_000_000_000_000, "an amount of \(transaction.amount)")
    }
    if let token = Wire.token(fromLogin: body) {
        invariant((1...8192).contains(token.utf8.count) && token.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "token \(show(token))")
        _ = Wire.expiry(ofJWT: token)
    }
    _ = Wire.expiry(ofJWT: String(decoding: body, as: UTF8.self))
    _ = Wire.creditV1Result(body)
    return 0
}
