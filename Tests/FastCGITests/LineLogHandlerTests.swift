import Foundation
import Logging
import Testing
@testable import FastCGI

@Suite struct LineLogHandlerTests {
    @Test func plainValuesStayBare() {
        #expect(LineLogHandler.quoted("GET") == "GET")
        #expect(LineLogHandler.quoted("/api/orders/A1") == "/api/orders/A1")
    }

    @Test func valuesThatCouldForgeAFieldOrALineAreQuoted() {
        #expect(LineLogHandler.quoted("Kofi Mensah") == "\"Kofi Mensah\"")
        #expect(LineLogHandler.quoted("a=b") == "\"a=b\"")
        #expect(LineLogHandler.quoted("x\nstatus=paid") == "\"x\\nstatus=paid\"")
        #expect(LineLogHandler.quoted("say \"hi\"") == "\"say \\\"hi\\\"\"")
        #expect(LineLogHandler.quoted("") == "\"\"")
        #expect(!LineLogHandler.quoted("a\u{1B}[31m").contains("\u{1B}"))
    }

    @Test func timestampIsISO8601UTCWithMilliseconds() {
        let stamp = LineLogHandler.timestamp()
        #expect(stamp.count == 24)
        #expect(stamp.hasSuffix("Z"))
        #expect(stamp.dropFirst(10).first == "T")
        #expect(Int(stamp.prefix(4))! >= 2024)
    }

    /// What `cross serve` does in production (`CROSS_LOG_FLUSH_MS` unset): info lines wait in the buffer, a
    /// warning goes out at once with every line before it, in order, and a flush empties the buffer.
    @Test func bufferedLinesGoOutInOrderWithTheFirstWarningOrAFlush() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        func drain() -> String {
            var bytes = [UInt8](repeating: 0, count: 65_536)
            let count = read(ends[0], &bytes, bytes.count)
            return count > 0 ? String(decoding: bytes[..<count], as: UTF8.self) : ""
        }
        let output = LogOutput(fd: ends[1], buffered: true)
        var logger = Logger(label: "test") { _ in LineLogHandler(level: .info, output: output) }
        logger.logLevel = .info
        logger.info("first", metadata: ["ref": "A"])
        logger.info("second")
        #expect(drain().isEmpty, "info lines wait")
        logger.warning("third")
        let lines = drain().split(separator: "\n").map { String($0) }
        #expect(lines.count == 3)
        #expect(lines[0].hasSuffix("info first ref=A") && lines[1].hasSuffix("info second") && lines[2].hasSuffix("warning third"), "\(lines)")
        logger.info("fourth")
        #expect(drain().isEmpty)
        output.flush()
        #expect(drain().hasSuffix("info fourth\n"))
        logger.debug("not at info level")
        output.flush()
        #expect(drain().isEmpty)
    }
}
