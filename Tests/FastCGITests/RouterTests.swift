import Testing
@testable import FastCGI

@Suite struct RouterTests {
    var router: Router {
        var router = Router()
        router.get("/") { _ in .text("home") }
        router.get("/api/orders/:ref") { request in .text("get " + request.routeParameters["ref"]!) }
        router.post("/api/orders") { _ in .text("create", status: .created) }
        router.get("/return/:outcome") { request in .text("return " + request.routeParameters["outcome"]!) }
        router.get("/notify", strict: true) { _ in .text("notified") }
        return router
    }

    func body(_ response: Response) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func literalAndCaptureRoutes() throws {
        #expect(body(try router.respond(to: Request(method: "GET", uri: "/"))) == "home")
        #expect(body(try router.respond(to: Request(method: "GET", uri: "/api/orders/A%2F1"))) == "get A/1")
        #expect(try router.respond(to: Request(method: "POST", uri: "/api/orders")).status == .created)
        #expect(body(try router.respond(to: Request(method: "GET", uri: "/return/accept?ref=1"))) == "return accept")
    }

    /// The pattern that took a request is what the server counts it under, even when its handler throws; a request
    /// no route took leaves the route empty (`unmatched`).
    @Test func theRouteThatTookARequestIsItsPattern() throws {
        var router = self.router
        router.get("/fails/:id") { _ in throw HTTPError(.conflict, "no") }
        var route = ""
        _ = try router.respond(to: Request(method: "GET", uri: "/api/orders/CMD-1"), route: &route)
        #expect(route == "/api/orders/:ref")
        route = ""
        #expect(throws: HTTPError.self) { try router.respond(to: Request(method: "GET", uri: "/fails/7"), route: &route) }
        #expect(route == "/fails/:id")
        route = ""
        #expect(throws: HTTPError.self) { try router.respond(to: Request(method: "GET", uri: "/nope"), route: &route) }
        #expect(route == "")
        #expect(throws: HTTPError.self) { try router.respond(to: Request(method: "DELETE", uri: "/notify"), route: &route) }
        #expect(route == "")
    }

    @Test func headIsServedByGet() throws {
        #expect(body(try router.respond(to: Request(method: "HEAD", uri: "/"))) == "home")
    }

    @Test func unknownPathIs404() throws {
        for uri in ["/nope", "/api/orders/a/b", "/api", "/api/orders/a/b/c", "/return"] {
            let error = #expect(throws: HTTPError.self) { try router.respond(to: Request(method: "GET", uri: uri)) }
            #expect(error?.status == .notFound, "\(uri)")
        }
    }

    @Test func emptySegmentsDoNotCountOnOrdinaryRoutes() throws {
        #expect(body(try router.respond(to: Request(method: "GET", uri: "/api/orders/x/"))) == "get x")
        #expect(body(try router.respond(to: Request(method: "GET", uri: "//return//accept"))) == "return accept")
    }

    @Test func aStrictRouteAnswersOnlyItsVeryPath() throws {
        #expect(body(try router.respond(to: Request(method: "GET", uri: "/notify?purchaseref=A"))) == "notified")
        #expect(body(try router.respond(to: Request(method: "HEAD", uri: "/notify"))) == "notified")
        for uri in ["/notify/", "//notify", "/notify;x", "/notify/.", "/%6Eotify", "/NOTIFY", "/notify%2F"] {
            let error = #expect(throws: HTTPError.self) { try router.respond(to: Request(method: "GET", uri: uri)) }
            #expect(error?.status == .notFound, "\(uri)")
        }
    }

    @Test func wrongMethodIs405WithAllow() throws {
        let error = #expect(throws: HTTPError.self) { try router.respond(to: Request(method: "DELETE", uri: "/api/orders/1")) }
        #expect(error?.status == .methodNotAllowed)
        #expect(error?.headers.first(where: { $0.name == "Allow" })?.value == "GET, HEAD")
        let post = #expect(throws: HTTPError.self) { try router.respond(to: Request(method: "GET", uri: "/api/orders")) }
        #expect(post?.status == .methodNotAllowed)
    }
}
