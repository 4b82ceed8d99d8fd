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
}
