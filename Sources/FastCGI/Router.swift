/// Something that answers requests. The server calls it on a worker thread; it may block (file I/O, a
/// gateway call), since each worker serves one request at a time.
public protocol Responder: Sendable {
    func respond(to request: consuming Request) throws -> Response
    /// The same, writing to `route` the pattern of the route that took the request (`/api/orders/:ref`), even
    /// when it throws: the server counts requests by it. A responder without routes leaves it as it is.
    func respond(to request: consuming Request, route: inout String) throws -> Response
}

extension Responder {
    public func respond(to request: consuming Request, route: inout String) throws -> Response {
        try respond(to: request)
    }
}

/// Maps a method and a path pattern to a handler. Patterns are literal segments and `:name` captures:
/// `/api/orders/:ref` matches `/api/orders/A%2FB` with `ref` = `A/B`. Empty segments do not count
/// (`/admin/` is `/admin`), unless a route is strict: then only the very path of its pattern, byte for byte,
/// reaches it (`/notify`, never `/notify/`, `//notify` or `/notify;x`), so that what an nginx `location =`
/// allows is exactly what the handler answers. Tests drive it without any socket.
public struct Router: Responder {
    public typealias Handler = @Sendable (Request) throws -> Response

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case capture(String)
    }

    private struct Route: Sendable {
        let method: String
        let pattern: String
        let segments: [Segment]
        /// For a strict route, the one raw path it answers.
        let exactPath: String?
        let handler: Handler
    }

    private var routes: [Route] = []

    public init() {}

    /// `strict` routes take literal patterns only.
    public mutating func add(_ method: String, _ pattern: String, strict: Bool = false, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map { piece -> Segment in
            piece.hasPrefix(":") ? .capture(String(piece.dropFirst())) : .literal(String(piece))
        }
        precondition(!strict || !segments.contains { if case .capture = $0 { true } else { false } }, "a strict route has no captures")
        routes.append(Route(method: method.uppercased(), pattern: pattern, segments: segments, exactPath: strict ? pattern : nil, handler: handler))
    }

    public mutating func get(_ pattern: String, strict: Bool = false, _ handler: @escaping Handler) {
        add("GET", pattern, strict: strict, handler)
    }
    public mutating func post(_ pattern: String, strict: Bool = false, _ handler: @escaping Handler) {
        add("POST", pattern, strict: strict, handler)
    }

    /// Finds the route for the request: 404 when no pattern matches the path, 405 (with `Allow`) when the path
    /// matches only for other methods. HEAD is served by the GET route (the server sends no body for it).
    public func respond(to request: consuming Request) throws -> Response {
        var route = ""
        return try respond(to: request, route: &route)
    }

    public func respond(to request: consuming Request, route: inout String) throws -> Response {
        let method = request.method == "HEAD" ? "GET" : request.method
        var allowed: [String] = []
        for index in routes.indices {
            if let exact = routes[index].exactPath, !exact.utf8.elementsEqual(request.rawPath.utf8) { continue }
            guard let captures = match(routes[index].segments, request.pathSegments) else { continue }
            guard routes[index].method == method else {
                allowed.append(routes[index].method)
                continue
            }
            request.routeParameters = captures
            route = routes[index].pattern
            return try routes[index].handler(request)
        }
        if !allowed.isEmpty {
            if allowed.contains("GET") { allowed.append("HEAD") }
            throw HTTPError(
                .methodNotAllowed, "\(request.method) is not allowed here.",
                headers: [("Allow", allowed.joined(separator: ", "))])
        }
        throw HTTPError(.notFound, "Nothing here.")
    }

    private func match(_ pattern: [Segment], _ path: [String]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var captures: [String: String] = [:]
        for (segment, value) in zip(pattern, path) {
            switch segment {
            case .literal(let literal):
                guard literal == value else { return nil }
            case .capture(let name):
                captures[name] = value
            }
        }
        return captures
    }
}
