import Crypto
import CryptoExtras
import Foundation
import Testing
@testable import Flooz
import Payments
import Support
import TestStack

/// Flooz's wire format against the shapes of `../shared/spec/flooz.md` and its variants, and the client against a
/// real HTTP server answering as Flooz does: the key's index that never goes back, one renewal on a 401, the header
/// scheme.
@Suite struct FloozWireTests {
    let dialect = Wire.Dialect()

    @Test func debitBodyHasTheSpecsFields() throws {
        let request = OperatorRequest(
            reference: "ref-1", phone: PhoneNumber("96 00 00 01")!, amount: 15000, label: "CMD-1", description: "x", requestedAt: Timestamp(seconds: 0))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(Wire.debitBody(request, key: "K", merchantName: "Boutique", partner: "22899000000"))) as? [String: String])
        #expect(object == ["msisdn": "22896000001", "mrchrefid": "ref-1", "mrchname": "Boutique", "amount": "15000", "partnermsisdn": "22899000000", "key": "K"])
        let headerScheme = try #require(try JSONSerialization.jsonObject(with: Data(Wire.debitBody(request, key: nil, merchantName: "B", partner: "2"))) as? [String: String])
        #expect(headerScheme["key"] == nil)
    }

    @Test func verifyShapes() {
        #expect(Wire.status(fromVerify: Array(#"{"code":"404","message":"Transaction inconnue"}"#.utf8), dialect) == .unknown)
        #expect(Wire.status(fromVerify: Array(#"{"code":"0","status":"2"}"#.utf8), dialect) == .pending)
        #expect(Wire.status(fromVerify: Array(#"{"code":"0","status":"0","amount":"15000","refid":"F1","msisdn":"22896000001"}"#.utf8), dialect)
            == .succeeded(OperatorTransaction(reference: "F1", amount: 15000, currency: "952", phone: "22896000001", occurredAt: "")))
        #expect(Wire.status(fromVerify: Array(#"{"code":"0","status":"1","message":"refusé"}"#.utf8), dialect) == .failed(code: "1", message: "refusé"))
        // A success without a whole amount is never paid.
        #expect(Wire.status(fromVerify: Array(#"{"code":"0","status":"0","amount":"15 000"}"#.utf8), dialect) == .pending)
        #expect(Wire.status(fromVerify: Array(#"{"code":"500","message":"erreur"}"#.utf8), dialect) == .failed(code: "500", message: "erreur"))
        #expect(Wire.status(fromVerify: Array("<html>".utf8), dialect) == nil)
    }

    @Test func callbackNamesItsRequest() throws {
        let callback = try Wire.callback(Array(#"{"amount":"15000","refid":"F1","mrchrefid":"m-1","msisdn":"22896000001","status":"0","message":"ok"}"#.utf8), dialect)
        #expect(callback.reference == "m-1")
        #expect(throws: Wire.CallbackProblem.missing("mrchrefid")) { try Wire.callback(Array(#"{"status":"0"}"#.utf8), dialect) }
        #expect(throws: Wire.CallbackProblem.notJSON) { try Wire.callback(Array("status=0".utf8), dialect) }
    }

    @Test func tokenAnswers() {
        #expect(Wire.key(fromToken: Array(#"{"code":"0","key":"abc"}"#.utf8)).key == "abc")
        #expect(Wire.key(fromToken: Array(#"{"key":"abc"}"#.utf8)).key == "abc")
        #expect(Wire.key(fromToken: Array(#"{"code":"1","message":"Index déjà utilisé"}"#.utf8)) == (nil, "1"))
        #expect(Wire.tokenURL(base: "https://f/token", index: 7, user: "u s", password: "p&w") == "https://f/token?index=7&username=u%20s&password=p%26w")
    }

    @Test func theHeaderSchemeDecryptsToTheCredentials() throws {
        let key = SymmetricKey(data: [UInt8](repeating: 7, count: 32))
        let header = try Wire.authorizationHeader(user: "cross-flooz", password: "pw", key: key)
        let bytes = try #require(Data(base64Encoded: header))
        let plain = try AES._CBC.decrypt(bytes.dropFirst(16), using: key, iv: AES._CBC.IV(ivBytes: bytes.prefix(16)))
        let text = String(decoding: plain, as: UTF8.self)
        #expect(text.hasSuffix(":cross-flooz:pw"))
        #expect(try Wire.authorizationHeader(user: "cross-flooz", password: "pw", key: key) != header, "a random IV and prefix each time")
    }
}

@Suite struct FloozClientTests {
    static let request = OperatorRequest(
        reference: "0123456789abcdef0123456789abcdef-0011223344", phone: PhoneNumber("96000001")!, amount: 2500, label: "CMD", description: "x",
        requestedAt: Timestamp(seconds: 0))

    static func client(_ url: String, indexPath: String, scheme: Wire.KeyScheme = .token) -> FloozClient {
        FloozClient(FloozClient.Settings(
            tokenURL: url + "/flooz/token", debitURL: url + "/flooz/debit", verifyURL: url + "/flooz/verify", keyScheme: scheme, user: "cross-flooz",
            password: "secret-pw", headerKey: [UInt8](repeating: 1, count: 32), merchantName: "Boutique", partner: PhoneNumber("99000000")!,
            timeoutSeconds: 5, indexPath: indexPath))
    }

    static func indexes(_ server: HTTPStandIn) -> [Int64] {
        server.receivedRequests.compactMap { request -> Int64? in
            guard request.requestLine.hasPrefix("GET /flooz/token"), let range = request.requestLine.range(of: "index=") else { return nil }
            return Int64(request.requestLine[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// The index grows from one key to the next, and across a new client (a restart) on the same file.
    @Test func theIndexNeverGoesBack() throws {
        let path = NSTemporaryDirectory() + "flooz-index-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let first = Lock(true)
        let server = try HTTPStandIn { line in
            if line.hasPrefix("GET /flooz/token") { return .respond(status: 200, body: #"{"code":"0","key":"k\#(UInt32.random(in: 0...9999))"}"#) }
            // The first debit's key is refused once (expired): a new key, a higher index, the call again.
            let refuse = first.withLock { value in defer { value = false }; return value }
            return refuse ? .respond(status: 401, body: #"{"code":"401"}"#) : .respond(status: 200, body: #"{"code":"0","refid":"F1"}"#)
        }
        defer { server.stop() }
        #expect(throws: Never.self) { try Self.client(server.url, indexPath: path).requestDebit(Self.request).get() }
        #expect(throws: Never.self) { try Self.client(server.url, indexPath: path).requestDebit(Self.request).get() }
        let seen = Self.indexes(server)
        #expect(seen.count == 3)
        #expect(seen == seen.sorted() && Set(seen).count == seen.count, "\(seen)")
        #expect(!server.receivedRequests.contains { $0.requestLine.contains("secret-pw") && !$0.requestLine.hasPrefix("GET /flooz/token") })
        let debit = try #require(server.receivedRequests.last { $0.requestLine.hasPrefix("POST /flooz/debit") })
        #expect(debit.text.contains(#""key":"k"#))
    }

    /// An index the service says was used is followed by a higher one.
    @Test func aUsedIndexIsFollowedByAHigherOne() throws {
        let path = NSTemporaryDirectory() + "flooz-index-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let answers = Lock(0)
        let server = try HTTPStandIn { line in
            guard line.hasPrefix("GET /flooz/token") else { return .respond(status: 200, body: #"{"code":"0","status":"2"}"#) }
            let n = answers.withLock { value in value += 1; return value }
            return .respond(status: 200, body: n == 1 ? #"{"code":"1","message":"Index déjà utilisé"}"# : #"{"code":"0","key":"k2"}"#)
        }
        defer { server.stop() }
        #expect(try Self.client(server.url, indexPath: path).status(ofRequest: "m").get() == .pending)
        let seen = Self.indexes(server)
        #expect(seen.count == 2 && seen[1] > seen[0], "\(seen)")
    }

    @Test func theHeaderSchemeSendsNoKeyAndNoTokenCall() throws {
        let server = try HTTPStandIn { _ in .respond(status: 200, body: #"{"code":"404","message":"Transaction inconnue"}"#) }
        defer { server.stop() }
        #expect(try Self.client(server.url, indexPath: "/nonexistent/unused", scheme: .header).status(ofRequest: "m").get() == .unknown)
        let verify = try #require(server.receivedRequests.first)
        #expect(verify.requestLine.hasPrefix("POST /flooz/verify"))
        #expect(verify.header("authorization")?.isEmpty == false)
        #expect(!verify.text.contains("\"key\""))
    }
}
