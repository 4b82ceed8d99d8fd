import Testing
@testable import FastCGI

@Suite struct URLEncodingTests {
    @Test("percent escapes and + decode in query strings", arguments: [
        ("a+b", "a b"), ("a%20b", "a b"), ("%41%42c", "ABc"), ("caf%C3%A9", "café"), ("a%2Bb", "a+b"),
        ("%e2%82%ac", "€"), ("plain", "plain"), ("", ""), ("100%25", "100%"),
    ])
    func decodesQueryText(raw: String, decoded: String) throws {
        #expect(try URLEncoding.decode(Substring(raw), plusIsSpace: true) == decoded)
    }

    @Test func plusStaysAPlusInPaths() throws {
        #expect(try URLEncoding.decode("a+b%2Fc", plusIsSpace: false) == "a+b/c")
    }

    @Test("malformed escapes are errors, never guessed", arguments: ["%", "%4", "%G1", "%4G", "abc%", "a%%20", "%-1"])
    func malformedEscapes(raw: String) {
        #expect(throws: URLEncoding.DecodingError.self) { try URLEncoding.decode(Substring(raw), plusIsSpace: true) }
    }

    @Test("bytes that are not UTF-8 once decoded are errors", arguments: ["%FF", "%C3%28", "%E2%82", "%80abc"])
    func invalidUTF8(raw: String) {
        #expect(throws: URLEncoding.DecodingError(reason: .invalidUTF8, input: raw)) {
            try URLEncoding.decode(Substring(raw), plusIsSpace: true)
        }
    }

    @Test func repeatedKeysKeepEveryValueInOrder() throws {
        let form = try URLEncoding.parseForm("item=a&qty=1&item=b&item=c&empty=&flag")
        #expect(form.all("item") == ["a", "b", "c"])
        #expect(form["item"] == "a")
        #expect(form.count(of: "item") == 3)
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
        #expect(form["missing"] == nil)
        #expect(form.names == ["item", "qty", "item", "item", "empty", "flag"])
    }

    // Found by fuzz/ (FuzzURLEncoding): the form was split on Characters, and an `&` or `=` followed by a
    // combining mark is one Character with it: `a=1&\u{301}b=2` was one pair, `c=\u{301}x` a name alone.
    @Test func anAmpersandOrEqualsSignBeforeACombiningMarkStillSplits() throws {
        let form = try URLEncoding.parseForm("a=1&\u{301}b=2&c=\u{301}x")
        #expect(form.names == ["a", "\u{301}b", "c"])
        #expect(form["a"] == "1")
        #expect(form["\u{301}b"] == "2")
        #expect(form["c"] == "\u{301}x")
    }

    @Test func emptyPiecesAreSkipped() throws {
        let form = try URLEncoding.parseForm("&&a=1&&b=2&")
        #expect(form.names == ["a", "b"])
    }

    @Test func encodedNamesAndValues() throws {
        let form = try URLEncoding.parseForm("na%6De=Kofi+Mensah&x%3Dy=%3D")
        #expect(form["name"] == "Kofi Mensah")
        #expect(form["x=y"] == "=")
    }

    @Test func encodingRoundTrips() throws {
        let values = ["Kofi Mensah", "a&b=c", "café €", "100%", "+228 90 00 00 00", "<script>", ""]
        for value in values {
            let encoded = URLEncoding.encodeFormValue(value)
            #expect(!encoded.contains(" ") && !encoded.contains("&"))
            #expect(try URLEncoding.decode(Substring(encoded), plusIsSpace: true) == value)
        }
        #expect(URLEncoding.encodeFormValue("Kofi Mensah") == "Kofi+Mensah")
        #expect(URLEncoding.encodePathSegment("a b/c") == "a%20b%2Fc")
    }
}
