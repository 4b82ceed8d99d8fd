import Foundation
import Logging
import Support
import Synchronization

/// A swift-log handler that writes one `key=value` line per event to standard error:
///
///     2026-11-26T15:23:28.123Z info access method=GET path=/ status=200 bytes=512 ms=0.31
///
/// Lines go through one shared buffer, written out when it holds 32 KiB, every `flushMilliseconds`, and at
/// once for warnings and errors: a `write(2)` per access line would cost more than a trivial request. Lines
/// never interleave, and keep their order. A `kill -9` may lose the last fraction of a second of info lines;
/// the order journal, not the log, is the record of payments.
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let output: LogOutput

    init(level: Logger.Level, output: LogOutput) {
        self.logLevel = level
        self.output = output
    }

    /// Makes every `Logger` in the process use this handler. `CROSS_LOG_LEVEL` sets the level (info by
    /// default), `CROSS_LOG_FLUSH_MS` the buffering (100 ms; 0 writes every line at once).
    public static func bootstrap() {
        let environment = ProcessInfo.processInfo.environment
        let level = environment["CROSS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let flushMilliseconds = environment["CROSS_LOG_FLUSH_MS"].flatMap(Int.init) ?? 100
        let output = LogOutput(fd: STDERR_FILENO, buffered: flushMilliseconds > 0)
        LogOutput.shared.withLock { $0 = output }
        if flushMilliseconds > 0 {
            startThread(stackSize: 64 * 1024) {
                while true {
                    usleep(UInt32(flushMilliseconds) * 1_000)
                    output.flush()
                }
            }
        }
        LoggingSystem.bootstrap { _ in LineLogHandler(level: level, output: output) }
    }

    /// Writes out buffered lines: before the process exits.
    public static func flush() {
        LogOutput.shared.withLock { $0 }?.flush()
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(192)
        Self.appendTimestamp(to: &line)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: event.message.description.utf8)
        var fields = metadata.isEmpty ? (event.metadata ?? [:]) : metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        // A dictionary keeps no order: the usual fields first, the rest sorted, so lines read and grep alike.
        let ordered = fields.map { (rank: Self.leadingKeys.firstIndex(of: $0.key) ?? Int.max, key: $0.key, value: $0.value) }
            .sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.key < $1.key }
        fields.removeAll()
        for field in ordered {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: field.key.utf8)
            line.append(UInt8(ascii: "="))
            line.append(contentsOf: Self.quoted(field.value.description).utf8)
        }
        line.append(UInt8(ascii: "\n"))
        output.append(line, urgent: event.level >= .warning)
    }

    private static let leadingKeys = ["method", "path", "status", "bytes", "ms", "ref", "order", "event"]

    /// Values with spaces, quotes or control characters are quoted, so that a shopper's name or a hostile
    /// parameter cannot forge a field or a line of its own.
    public static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
        }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// UTC time with milliseconds (`2026-11-26T15:23:28.123Z`).
    static func appendTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        UTCTime.append(seconds: Int64(now.tv_sec), milliseconds: now.tv_nsec / 1_000_000, to: &line)
    }

    static func timestamp() -> String {
        var line: [UInt8] = []
        appendTimestamp(to: &line)
        return String(decoding: line, as: UTF8.self)
    }
}

/// Where log lines go: a file descriptor behind a buffer.
final class LogOutput: Sendable {
    static let shared = Mutex<LogOutput?>(nil)
    private static let flushBytes = 32 * 1024

    private let fd: Int32
    private let buffered: Bool
    private let pending = Lock<[UInt8]>([])

    init(fd: Int32, buffered: Bool) {
        self.fd = fd
        self.buffered = buffered
    }

    func append(_ line: [UInt8], urgent: Bool) {
        pending.withLock { pending in
            pending.append(contentsOf: line)
            // Written under the lock, so that lines leave in the order they came.
            if urgent || !buffered || pending.count >= Self.flushBytes { writeOut(&pending) }
        }
    }

    func flush() {
        pending.withLock { pending in
            if !pending.isEmpty { writeOut(&pending) }
        }
    }

    private func writeOut(_ bytes: inout [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { break }
            offset += written
        }
        bytes.removeAll(keepingCapacity: true)
    }
}
