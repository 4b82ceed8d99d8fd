import FastCGI
import Foundation
import Testing
@testable import CrossApp

/// What the contract test (scripts/contract-test, docs/openapi.yaml) found: every 4xx under `/api/` is JSON.
@Suite struct ContractTests {
    /// A request refused before it could be read (a path that is not UTF-8 once decoded, a bad query, a body over
    /// the limit) was answered with the browsers' HTML page: the error page was told of no request at all.
    @Test("an API request that cannot be read is answered in JSON", arguments: [
        ("/api/orders/%FF", HTTPStatus.badRequest), ("/api/orders/CT-1?a=%FF", .badRequest), ("/api/orders", .contentTooLarge),
    ])
    func unreadableAPIRequests(uri: String, status: HTTPStatus) throws {
        let world = try World()
        let params: CGIParameters = [
            "REQUEST_METHOD": status == .contentTooLarge ? "POST" : "GET", "REQUEST_URI": uri,
            "QUERY_STRING": uri.contains("?") ? String(uri.split(separator: "?")[1]) : "", "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": "Bearer " + World.apiKey,
        ]
        let error: HTTPError
        if status == .contentTooLarge {
            error = HTTPError(.contentTooLarge, "The request body is larger than 65536 bytes.")
        } else {
            error = try #require(throws: HTTPError.self) { try Request(params: params) }
        }
        let response = Server.errorResponse(error, request: nil, params: params, errorPage: world.application.errorPage)
        #expect(response.status == status)
        #expect(response.header("content-type") == "application/json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(json.keys.sorted() == ["error"])
    }

    /// A page's address that cannot be read still gets the page.
    @Test func aPageThatCannotBeReadIsStillAPage() throws {
        let world = try World()
        let params: CGIParameters = ["REQUEST_METHOD": "GET", "REQUEST_URI": "/pay/%FF", "REMOTE_ADDR": "127.0.0.1"]
        let error = try #require(throws: HTTPError.self) { try Request(params: params) }
        let response = Server.errorResponse(error, request: nil, params: params, errorPage: world.application.errorPage)
        #expect(response.status == .badRequest)
        #expect(response.header("content-type")?.hasPrefix("text/html") == true)
    }
}
