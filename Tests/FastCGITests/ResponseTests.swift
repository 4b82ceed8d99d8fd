import Testing
@testable import FastCGI

@Suite struct ResponseTests {
    func head(_ response: Response) -> String { String(decoding: response.encodedHead(), as: UTF8.self) }

    @Test func contentLengthCountsBytesNotCharacters() {
        let text = "Merci, Kofi ! Paiement reçu : 15 000 F CFA — ✓"
        let response = Response.text(text)
        #expect(text.count == 46)
        #expect(response.body.count == text.utf8.count)
        #expect(head(response).contains("Content-Length: \(text.utf8.count)\r\n"))
        #expect(text.utf8.count != text.count)
    }

    @Test func statusLineIsACGIStatusHeader() {
        let response = Response.text("gone", status: .notFound)
        #expect(head(response).hasPrefix("Status: 404 Not Found\r\n"))
        #expect(head(response).hasSuffix("\r\n\r\n"))
        #expect(!head(response).contains("HTTP/1.1"))
    }

    @Test func handlerCannotOverrideStatusOrLengthOrInjectHeaders() {
        let response = Response(status: .ok, headers: [
            ("Content-Length", "1"), ("status", "500 Oops"), ("X-Note", "a\r\nSet-Cookie: evil=1"),
        ], body: Array("hello".utf8))
        let text = head(response)
        #expect(text.contains("Content-Length: 5\r\n"))
        #expect(!text.contains("Content-Length: 1\r\n"))
        #expect(!text.contains("500 Oops"))
        #expect(text.contains("X-Note: a\r\n"))
        #expect(!text.contains("Set-Cookie"))
    }

    @Test func redirect() {
        let response = Response.redirect(to: "/orders/1")
        #expect(response.status.code == 303)
        #expect(response.header("location") == "/orders/1")
    }
}
