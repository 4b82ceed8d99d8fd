// TMoneyOnline.SessionAnswer.parse: TMoney's answer to a session id request, `OK:<id>` or `NOK:<CODE>`.
//
// Input: the answer's body, decoded as the gateway client decodes it (bytes that are not UTF-8 become U+FFFD).
//
// Invariants:
// - `.session` only for a body whose bytes are `OK:` then the id then at most one line break, and the id is
//   exactly those bytes: 8 to 64 ASCII letters and digits;
// - `.refused` only for `NOK:` then the code then at most one line break, the code being those bytes:
//   1 to 64 of A-Z, 0-9 and `_`;
// - `.unrecognized` otherwise, with an excerpt of at most 80 characters and no control character.
import FuzzSupport
import TMoneyOnline

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSessionAnswer(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let body = text(data, count)
    // The body without one trailing line break (`\n` or `\r\n`), as bytes.
    var line = Array(body.utf8)
    if line.last == UInt8(ascii: "\n") {
        line.removeLast()
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
    }
    let okID = line.starts(with: "OK:".utf8) ? Array(line.dropFirst(3)) : nil
    let nokCode = line.starts(with: "NOK:".utf8) ? Array(line.dropFirst(4)) : nil
    let isAlphanumeric: (UInt8) -> Bool = {
        ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
            || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
    }
    let isCode: (UInt8) -> Bool = {
        ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
            || $0 == UInt8(ascii: "_")
    }
    let validID = okID.map { (8...64).contains($0.count) && $0.allSatisfy(isAlphanumeric) } ?? false
    let validCode = nokCode.map { (1...64).contains($0.count) && $0.allSatisfy(isCode) } ?? false

    let answer = TMoneyOnline.SessionAnswer.parse(body)
    note("\(answer)")
    switch answer {
    case .session(let id):
        invariant(okID != nil, ".session for \(show(body)), which does not start with OK:")
        invariant(okID.map { id.value.utf8.elementsEqual($0) } ?? false,
                  ".session(\(show(id.value))) for \(show(body)): not the bytes after OK:")
        invariant(validID, ".session for \(show(body)), whose id is not 8 to 64 letters and digits")
        invariant(TMoneyOnline.SessionID(id.value) != nil, "a session id that SessionID refuses")
    case .refused(let code):
        invariant(nokCode != nil, ".refused for \(show(body)), which does not start with NOK:")
        invariant(nokCode.map { code.utf8.elementsEqual($0) } ?? false,
                  ".refused(\(show(code))) for \(show(body)): not the bytes after NOK:")
        invariant(validCode, ".refused for \(show(body)), whose code is not 1 to 64 of A-Z 0-9 _")
    case .unrecognized(let excerpt):
        invariant(!validID, ".unrecognized for \(show(body)), a valid OK answer")
        invariant(!validCode, ".unrecognized for \(show(body)), a valid NOK answer")
        invariant(excerpt.unicodeScalars.count <= 80, "an excerpt of \(excerpt.unicodeScalars.count) characters")
        invariant(!excerpt.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "a control character in the excerpt \(show(excerpt))")
    }
    return 0
}
