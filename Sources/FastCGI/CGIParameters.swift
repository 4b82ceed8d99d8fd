import Foundation

/// The FastCGI parameters of one request (`REQUEST_METHOD`, `QUERY_STRING`, `HTTP_USER_AGENT`, ...).
///
/// libfcgi frees its copies at `FCGX_Finish_r`, so they are copied at once, but into one byte buffer rather
/// than some sixty strings: a request carries about thirty parameters and a handler reads a handful, and on a
/// trivial route those allocations would cost more than everything else the responder does.
public struct CGIParameters: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// `NAME=value` entries back to back, as libfcgi holds them.
    private var bytes: [UInt8] = []
    /// For each entry: where its name starts, where its `=` is, and where its value ends.
    private var entries: [(start: Int32, equals: Int32, end: Int32)] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { self[name] = value }
    }

    /// Copies libfcgi's NULL-terminated array of `NAME=value` C strings.
    init(copying envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        guard var entry = envp else { return }
        bytes.reserveCapacity(1000)
        entries.reserveCapacity(40)
        while let pointer = entry.pointee {
            let length = strlen(pointer)
            if let equals = memchr(pointer, Int32(UInt8(ascii: "=")), length) {
                let base = Int32(bytes.count)
                pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                    bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
                }
                entries.append((base, base + Int32(UnsafeRawPointer(equals) - UnsafeRawPointer(pointer)), base + Int32(length)))
            }
            entry += 1
        }
    }

    public subscript(name: String) -> String? {
        get {
            guard let index = index(of: name) else { return nil }
            let entry = entries[index]
            return String(decoding: bytes[Int(entry.equals + 1)..<Int(entry.end)], as: UTF8.self)
        }
        set {
            if let index = index(of: name) {
                // Rare (tests build requests this way): rebuild without the old entry.
                let old = entries.remove(at: index)
                let removed = old.end - old.start
                bytes.removeSubrange(Int(old.start)..<Int(old.end))
                for other in entries.indices where entries[other].start > old.start {
                    entries[other].start -= removed
                    entries[other].equals -= removed
                    entries[other].end -= removed
                }
            }
            guard let newValue else { return }
            let base = Int32(bytes.count)
            bytes.append(contentsOf: name.utf8)
            let equals = Int32(bytes.count)
            bytes.append(UInt8(ascii: "="))
            bytes.append(contentsOf: newValue.utf8)
            entries.append((base, equals, Int32(bytes.count)))
        }
    }

    /// Whether the parameter's raw bytes are UTF-8. The subscript repairs bad bytes (U+FFFD) so that it can
    /// always answer; a request line that carries raw bytes which are not UTF-8 is refused with this instead.
    public func isUTF8(_ name: String) -> Bool {
        guard let index = index(of: name) else { return true }
        let entry = entries[index]
        return String(validating: bytes[Int(entry.equals + 1)..<Int(entry.end)], as: UTF8.self) != nil
    }

    private func index(of name: String) -> Int? {
        var name = name
        return name.withUTF8 { wanted in
            bytes.withUnsafeBufferPointer { buffer in
                for (index, entry) in entries.enumerated() where Int(entry.equals - entry.start) == wanted.count {
                    if wanted.count == 0 || memcmp(buffer.baseAddress! + Int(entry.start), wanted.baseAddress!, wanted.count) == 0 {
                        return index
                    }
                }
                return nil
            }
        }
    }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        var position = 0
        return AnyIterator { () -> (name: String, value: String)? in
            guard position < entries.count else { return nil }
            let entry = entries[position]
            position += 1
            return (
                String(decoding: bytes[Int(entry.start)..<Int(entry.equals)], as: UTF8.self),
                String(decoding: bytes[Int(entry.equals + 1)..<Int(entry.end)], as: UTF8.self)
            )
        }
    }
}
