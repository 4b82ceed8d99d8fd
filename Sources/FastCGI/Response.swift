/// An HTTP status code with its reason phrase.
public struct HTTPStatus: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let code: Int
    public let reason: String

    public init(_ code: Int, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code) \(reason)" }
    public var isSuccess: Bool { (200..<300).contains(code) }

    public static let ok = HTTPStatus(200, "OK")
    public static let created = HTTPStatus(201, "Created")
    public static let accepted = HTTPStatus(202, "Accepted")
    public static let noContent = HTTPStatus(204, "No Content")
    public static let movedPermanently = HTTPStatus(301, "Moved Permanently")
    public static let found = HTTPStatus(302, "Found")
    public static let seeOther = HTTPStatus(303, "See Other")
    public static let notModified = HTTPStatus(304, "Not Modified")
    public static let badRequest = HTTPStatus(400, "Bad Request")
    public static let unauthorized = HTTPStatus(401, "Unauthorized")
    public static let forbidden = HTTPStatus(403, "Forbidden")
    public static let notFound = HTTPStatus(404, "Not Found")
    public static let methodNotAllowed = HTTPStatus(405, "Method Not Allowed")
    public static let conflict = HTTPStatus(409, "Conflict")
    public static let gone = HTTPStatus(410, "Gone")
    public static let contentTooLarge = HTTPStatus(413, "Content Too Large")
    public static let unsupportedMediaType = HTTPStatus(415, "Unsupported Media Type")
    public static let unprocessableContent = HTTPStatus(422, "Unprocessable Content")
    public static let tooManyRequests = HTTPStatus(429, "Too Many Requests")
    public static let internalServerError = HTTPStatus(500, "Internal Server Error")
    public static let badGateway = HTTPStatus(502, "Bad Gateway")
    public static let serviceUnavailable = HTTPStatus(503, "Service Unavailable")
    public static let gatewayTimeout = HTTPStatus(504, "Gateway Timeout")
}

/// What a handler answers: a status, headers and the body's bytes.
public struct Response: Sendable {
    public var status: HTTPStatus
    /// Header fields in the order they are sent. `Status` and `Content-Length` are written by the server.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: HTTPStatus = .ok, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: HTTPStatus = .ok, contentType: String, body: String, headers: [(name: String, value: String)] = []) {
        var all = headers
        all.insert(("Content-Type", contentType), at: 0)
        self.init(status: status, headers: all, body: Array(body.utf8))
    }

    public static func text(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, contentType: "text/plain; charset=utf-8", body: text)
    }

    public static func html(_ html: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, contentType: "text/html; charset=utf-8", body: html)
    }

    public static func json(_ json: [UInt8], status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: [("Content-Type", "application/json")], body: json)
    }

    /// A redirect the browser follows with a GET (303), or another 3xx status.
    public static func redirect(to location: String, status: HTTPStatus = .seeOther) -> Response {
        Response(status: status, headers: [("Location", location)], body: [])
    }

    public func header(_ name: String) -> String? {
        headers.first(where: { $0.name.lowercased() == name.lowercased() })?.value
    }

    public mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll(where: { $0.name.lowercased() == name.lowercased() })
        headers.append((name, value))
    }

    /// The CGI response head libfcgi sends: nginx takes the code from `Status:` and ignores any status line.
    /// Header values are cut at the first line break so that no value can inject a header of its own.
    public func encodedHead() -> [UInt8] {
        var head: [UInt8] = []
        head.reserveCapacity(128 + headers.count * 48)
        head.append(contentsOf: "Status: ".utf8)
        head.append(contentsOf: String(status.code).utf8)
        head.append(UInt8(ascii: " "))
        head.append(contentsOf: status.reason.utf8)
        head.append(contentsOf: "\r\n".utf8)
        for (name, value) in headers where !Self.isServerOwned(name) {
            head.append(contentsOf: name.utf8)
            head.append(contentsOf: ": ".utf8)
            head.append(contentsOf: value.utf8.prefix(while: { $0 != 13 && $0 != 10 }))
            head.append(contentsOf: "\r\n".utf8)
        }
        head.append(contentsOf: "Content-Length: ".utf8)
        head.append(contentsOf: String(body.count).utf8)
        head.append(contentsOf: "\r\n\r\n".utf8)
        return head
    }

    /// `Status` and `Content-Length` come from the response itself, never from a handler's header list.
    private static func isServerOwned(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard utf8.count == 6 || utf8.count == 14 else { return false }
        let lowered = name.lowercased()
        return lowered == "status" || lowered == "content-length"
    }
}

/// An error a handler throws to answer with a specific status and a message meant for the client.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPStatus
    public let message: String
    public var headers: [(name: String, value: String)]
    /// A page made by the handler itself (a 404 in the shopper's language), sent instead of the error page.
    public let page: Response?

    public init(_ status: HTTPStatus, _ message: String, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.message = message
        self.headers = headers
        page = nil
    }

    public init(page: Response, message: String) {
        status = page.status
        self.message = message
        headers = []
        self.page = page
    }

    public var description: String { "\(status): \(message)" }

    /// The same error, answered with these headers too.
    public func adding(_ more: [(name: String, value: String)]) -> HTTPError {
        var error = self
        error.headers += more
        return error
    }
}
