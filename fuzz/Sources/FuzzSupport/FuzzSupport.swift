import FastCGI
import Payments

#if canImport(Glibc)
import Glibc
#endif

/// Checks an invariant of the code under test. A broken one prints what was expected and crashes, so that
/// libFuzzer reports it like any other crash and writes the input to its artifact file.
@inline(__always)
public func invariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() { fail(message(), file: file, line: line) }
}

/// Fails the current input: something the code under test must never do.
public func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let text = "\n=== invariant broken at \(file):\(line): \(message)\n"
    fputs(text, stderr)
    fflush(stderr)
    fatalError("invariant broken: \(message)", file: file, line: line)
}

/// The fuzz input as text, decoded the way Cross decodes what reaches it (`CGIParameters`, the gateway's answer):
/// bytes that are not UTF-8 become U+FFFD.
public func text(_ data: UnsafePointer<UInt8>, _ count: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
}

/// The fuzz input as bytes.
public func bytes(_ data: UnsafePointer<UInt8>, _ count: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: data, count: count)
}

/// Byte-for-byte equality. Swift's `==` on strings is canonical equivalence (`"\u{212A}" == "K"`), which is too
/// weak for round trips: a parser must give back the very bytes it was given.
public func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

public func same(_ a: String?, _ b: String?) -> Bool {
    switch (a, b) {
    case (nil, nil): true
    case let (a?, b?): same(a, b)
    default: false
    }
}

public func same(_ a: [(name: String, value: String)], _ b: [(name: String, value: String)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { same($0.name, $1.name) && same($0.value, $1.value) }
}

/// For messages: the text with its bytes spelled out when it is not plain printable ASCII.
public func show(_ text: String) -> String {
    if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return "\"\(text)\"" }
    return "\"\(text.debugDescription.dropFirst().dropLast())\" (utf8: \(text.utf8.map { String($0, radix: 16) }.joined(separator: " ")))"
}

/// `FUZZ_VERBOSE=1 .build-fuzz/debug/FuzzX file...` tells what became of each input (to check a seed corpus).
public let verbose = getenv("FUZZ_VERBOSE") != nil

/// Says what became of the input, when `FUZZ_VERBOSE` is set.
@inline(__always)
public func note(_ message: @autoclosure () -> String) {
    if verbose { fputs(message() + "\n", stderr) }
}
