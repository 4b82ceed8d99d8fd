// URLEncoding.decode and parseForm: query strings, form bodies and path segments, as nginx hands them over.
//
// Invariants:
// - decode agrees with a plain byte-by-byte reference decoder: the same text, or the same kind of error;
// - text without `%` (and without `+` where `+` is a space) decodes to itself;
// - a decoded value, encoded again (as a form value or a path segment), decodes to the same bytes, and the
//   encoding holds only unreserved characters, `%XX` and (form values only) `+`;
// - parseForm gives one pair per non-empty `&` piece, and its pairs, encoded again, parse to the same pairs.
import FastCGI
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzURLEncoding(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = text(data, count)
    for plusIsSpace in [true, false] {
        checkDecode(input, plusIsSpace: plusIsSpace)
    }
    checkForm(input)
    return 0
}

private enum Reference: Equatable {
    case decoded([UInt8])
    case failed(URLEncoding.DecodingError.Reason)
}

/// What decoding must give, written as simply as possible.
private func reference(_ text: Substring, plusIsSpace: Bool) -> Reference {
    let input = Array(text.utf8)
    var out: [UInt8] = []
    var index = 0
    func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
    while index < input.count {
        switch input[index] {
        case UInt8(ascii: "%"):
            guard index + 2 < input.count, let high = hex(input[index + 1]), let low = hex(input[index + 2]) else {
                return .failed(.malformedEscape)
            }
            out.append(high * 16 + low)
            index += 3
        case UInt8(ascii: "+") where plusIsSpace:
            out.append(UInt8(ascii: " "))
            index += 1
        case let byte:
            out.append(byte)
            index += 1
        }
    }
    return String(validating: out, as: UTF8.self) == nil ? .failed(.invalidUTF8) : .decoded(out)
}

private func checkDecode(_ input: String, plusIsSpace: Bool) {
    let expected = reference(Substring(input), plusIsSpace: plusIsSpace)
    let decoded: String
    do {
        decoded = try URLEncoding.decode(Substring(input), plusIsSpace: plusIsSpace)
    } catch {
        invariant(expected == .failed(error.reason), "decode(\(show(input)), plusIsSpace: \(plusIsSpace)) failed with \(error.reason), the reference gives \(expected)")
        invariant(same(error.input, input), "the error does not carry the input")
        return
    }
    invariant(expected == .decoded(Array(decoded.utf8)), "decode(\(show(input)), plusIsSpace: \(plusIsSpace)) = \(show(decoded)), the reference gives \(expected)")
    if !input.utf8.contains(UInt8(ascii: "%")) && !(plusIsSpace && input.utf8.contains(UInt8(ascii: "+"))) {
        invariant(same(decoded, input), "text with nothing to decode changed: \(show(input)) -> \(show(decoded))")
    }
    invariant(decoded.utf8.count <= input.utf8.count, "decoding made the text longer")

    // Encoded again, a value decodes to the same bytes.
    checkRoundTrip(decoded, URLEncoding.encodeFormValue(decoded), as: "encodeFormValue", plusIsSpace: true)
    checkRoundTrip(decoded, URLEncoding.encodePathSegment(decoded), as: "encodePathSegment", plusIsSpace: false)
}

private func checkForm(_ input: String) {
    let pieces = input.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true)
    let form: Parameters
    do {
        form = try URLEncoding.parseForm(Substring(input))
    } catch {
        // Some piece's name or value must fail on its own.
        let failing = pieces.contains { piece in
            let parts = piece.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            return parts.contains {
                if case .failed = reference(Substring(String(decoding: $0, as: UTF8.self)), plusIsSpace: true) { return true }
                return false
            }
        }
        invariant(failing, "parseForm(\(show(input))) failed (\(error)) though every piece decodes")
        return
    }
    invariant(form.pairs.count == pieces.count, "parseForm(\(show(input))) gave \(form.pairs.count) pairs for \(pieces.count) pieces")
    if let first = form.pairs.first {
        invariant(form.count(of: first.name) >= 1 && !form.all(first.name).isEmpty, "the first name is not found")
    }
    let encoded = URLEncoding.encodeForm(form.pairs.map { ($0.name, $0.value) })
    do {
        let again = try URLEncoding.parseForm(Substring(encoded))
        invariant(same(again.pairs, form.pairs), "\(show(input)) parses to pairs that encode to \(show(encoded)), which parses differently")
    } catch {
        fail("\(show(input)) parses to pairs that encode to \(show(encoded)), which does not parse: \(error)")
    }
}

private func isUnreserved(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

/// `encoded`, made from `value` by `encoder`, holds only unreserved characters and escapes (and `+` in a form)
/// and decodes back to `value`.
func checkRoundTrip(_ value: String, _ encoded: String, as encoder: String, plusIsSpace: Bool) {
    invariant(encoded.utf8.allSatisfy { isUnreserved($0) || $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) },
              "\(encoder)(\(show(value))) = \(show(encoded)) holds a reserved character")
    do {
        let again = try URLEncoding.decode(Substring(encoded), plusIsSpace: plusIsSpace)
        invariant(same(again, value), "\(show(value)) encodes with \(encoder) to \(show(encoded)), which decodes to \(show(again))")
    } catch {
        fail("\(show(value)) encodes with \(encoder) to \(show(encoded)), which does not decode: \(error)")
    }
}
