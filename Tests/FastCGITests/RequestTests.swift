import Testing
@testable import FastCGI

@Suite struct RequestTests {
    @Test func pathSegmentsAreDecodedOneByOne() throws {
        let request = try Request(method: "GET", uri: "/api/orders/A%2FB%20C?x=1")
        #expect(request.rawPath == "/api/orders/A%2FB%20C")
        #expect(request.pathSegments == ["api", "orders", "A/B C"])
        #expect(request.query["x"] == "1")
    }

    @Test func rootAndDoubleSlashes() throws {
        #expect(try Request(method: "GET", uri: "/").pathSegments == [])
        #expect(try Request(method: "GET", uri: "//a///b/").pathSegments == ["a", "b"])
    }

    @Test func malformedQueryIsA400() {
        #expect(throws: HTTPError.self) { try Request(method: "GET", uri: "/notify?amount=%ZZ") }
        do {
            _ = try Request(method: "GET", uri: "/notify?amount=%ZZ")
        } catch {
            #expect(error.status == .badRequest)
            #expect(error.message.contains("query"))
        }
    }

    /// Parameters as libfcgi hands them over: `NAME=value` C strings, the value's bytes as the client sent them.
    static func parameters(_ entries: [[UInt8]]) -> CGIParameters {
        let envp = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: entries.count + 1)
        for (index, entry) in entries.enumerated() {
            let string = UnsafeMutablePointer<CChar>.allocate(capacity: entry.count + 1)
            for (offset, byte) in entry.enumerated() { string[offset] = CChar(bitPattern: byte) }
            string[entry.count] = 0
            envp[index] = string
        }
        envp[entries.count] = nil
        return CGIParameters(copying: envp)
    }

    @Test func rawBytesThatAreNotUTF8AreA400() throws {
        let method = Array("REQUEST_METHOD=GET".utf8)
        let badPath = Self.parameters([method, Array("REQUEST_URI=/api/orders/".utf8) + [0xFF], Array("QUERY_STRING=".utf8)])
        let badQuery = Self.parameters([method, Array("REQUEST_URI=/notify?a=".utf8) + [0xC3, 0x28], Array("QUERY_STRING=a=".utf8) + [0xC3, 0x28]])
        for params in [badPath, badQuery] {
            let error = #expect(throws: HTTPError.self) { try Request(params: params) }
            #expect(error?.status == .badRequest)
        }
        let fine = Self.parameters([method, Array("REQUEST_URI=/caf\u{E9}".utf8), Array("QUERY_STRING=".utf8)])
        #expect(try Request(params: fine).pathSegments == ["café"])
    }

    @Test func malformedPathIsA400() throws {
        let error = #expect(throws: HTTPError.self) { try Request(method: "GET", uri: "/api/orders/%E2%82") }
        #expect(error?.status == .badRequest)
    }

    @Test func formBodyIsDecoded() throws {
        let request = try Request(
            method: "POST", uri: "/checkout", body: Array("amount=15000&description=Caf%C3%A9+noir&amount=1".utf8),
            contentType: "application/x-www-form-urlencoded; charset=UTF-8")
        #expect(request.form["description"] == "Café noir")
        #expect(request.form.all("amount") == ["15000", "1"])
    }

    @Test func malformedFormBodyIsA400() {
        let error = #expect(throws: HTTPError.self) {
            try Request(method: "POST", uri: "/checkout", body: Array("a=%".utf8), contentType: "application/x-www-form-urlencoded")
        }
        #expect(error?.status == .badRequest)
        let notUTF8 = #expect(throws: HTTPError.self) {
            try Request(method: "POST", uri: "/checkout", body: [0x61, 0x3D, 0xFF], contentType: "application/x-www-form-urlencoded")
        }
        #expect(notUTF8?.status == .badRequest)
    }

    @Test func headersComeFromHTTPParameters() throws {
        let request = try Request(method: "GET", uri: "/", headers: ["User-Agent": "curl/8", "X-Forwarded-For": "10.0.0.1"])
        #expect(request.header("user-agent") == "curl/8")
        #expect(request.header("X-FORWARDED-FOR") == "10.0.0.1")
        #expect(request.headers["x-forwarded-for"] == "10.0.0.1")
        #expect(request.header("accept") == nil)
    }

    @Test func aJSONBodyIsKeptAsItCame() throws {
        let body = Array(#"{"purchaseref":"A1","amount":15000}"#.utf8)
        let request = try Request(method: "POST", uri: "/api/orders", body: body, contentType: "application/json; charset=utf-8")
        #expect(request.body == body)
        #expect(request.form.isEmpty, "only a form body is decoded as a form")
        #expect(Request.mediaType(request.contentType ?? "") == "application/json")
    }

    @Test func parametersKeepEverythingNginxSent() throws {
        var params: CGIParameters = ["REQUEST_METHOD": "GET", "REQUEST_URI": "/", "HTTPS": "on"]
        params["HTTPS"] = "off"
        params["SERVER_NAME"] = "shop.example"
        let request = try Request(params: params)
        #expect(request.params["HTTPS"] == "off")
        #expect(request.params["SERVER_NAME"] == "shop.example")
        #expect(request.params["REQUEST_URI"] == "/")
        #expect(Array(request.params).count == 4)
    }
}
