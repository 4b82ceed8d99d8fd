import Foundation

/// One HTTP request as nginx hands it over FastCGI, copied out of libfcgi's buffers so that it outlives them.
public struct Request: Sendable {
    public let method: String
    /// The path as the client sent it, still percent-encoded, without the query string.
    public let rawPath: String
    /// The path split on `/` and each segment percent-decoded, so that an encoded `/` (`%2F`) stays inside its
    /// segment: `/api/orders/a%2Fb` is `["api", "orders", "a/b"]`.
    public let pathSegments: [String]
    public let query: Parameters
    /// The client's address as nginx saw it (after nginx's own `real_ip` handling, never a header's claim).
    public let remoteAddress: String
    public let contentType: String?
    public let body: [UInt8]
    /// The decoded body when it is `application/x-www-form-urlencoded`, else empty.
    public let form: Parameters
    /// Every FastCGI parameter nginx sent (`SERVER_NAME`, `HTTPS`, `HTTP_USER_AGENT`, ...).
    public let params: CGIParameters
    /// Values taken from the path by the router (`:ref` in `/api/orders/:ref`).
    public internal(set) var routeParameters: [String: String] = [:]

    /// Builds a request from FastCGI parameters and a body; a malformed query, path or form is a 400.
    public init(params: CGIParameters, body: [UInt8] = []) throws(HTTPError) {
        self.params = params
        guard params.isUTF8("REQUEST_URI") && params.isUTF8("QUERY_STRING") else {
            throw HTTPError(.badRequest, "The request's address is not valid UTF-8.")
        }
        method = params["REQUEST_METHOD"] ?? "GET"
        let uri = params["REQUEST_URI"] ?? params["DOCUMENT_URI"] ?? "/"
        let pathEnd = uri.utf8.firstIndex(of: UInt8(ascii: "?")) ?? uri.endIndex
        rawPath = String(uri[..<pathEnd])
        do {
            var segments: [String] = []
            var start = uri.startIndex
            // Split by hand: this runs on every request, and the generic `split` allocates twice as much.
            for index in uri.utf8.indices[..<pathEnd] where uri.utf8[index] == UInt8(ascii: "/") {
                if start < index { segments.append(try URLEncoding.decode(uri[start..<index], plusIsSpace: false)) }
                start = uri.utf8.index(after: index)
            }
            if start < pathEnd { segments.append(try URLEncoding.decode(uri[start..<pathEnd], plusIsSpace: false)) }
            pathSegments = segments
        } catch {
            throw HTTPError(.badRequest, "Invalid path: \(error)")
        }
        if let queryString = params["QUERY_STRING"], !queryString.isEmpty {
            do {
                query = try URLEncoding.parseForm(Substring(queryString))
            } catch {
                throw HTTPError(.badRequest, "Invalid query string: \(error)")
            }
        } else {
            query = Parameters()
        }
        remoteAddress = params["REMOTE_ADDR"] ?? ""
        let contentType = params["CONTENT_TYPE"].flatMap { $0.isEmpty ? nil : $0 }
        self.contentType = contentType
        self.body = body
        if let contentType, Self.mediaType(contentType) == "application/x-www-form-urlencoded" {
            guard let text = String(validating: body, as: UTF8.self) else {
                throw HTTPError(.badRequest, "The form body is not valid UTF-8.")
            }
            do {
                form = try URLEncoding.parseForm(Substring(text))
            } catch {
                throw HTTPError(.badRequest, "Invalid form body: \(error)")
            }
        } else {
            form = Parameters()
        }
    }

    /// What an error page is told of a request that could not be read (a body over the limit, a path or query
    /// that does not decode): its method, raw path, headers and address, nothing decoded and no body. So that
    /// the page is the one of where it was sent (JSON under `/api/`), not a browser's.
    public init(unreadable params: CGIParameters) {
        self.params = params
        method = params["REQUEST_METHOD"] ?? "GET"
        let uri = params.isUTF8("REQUEST_URI") ? params["REQUEST_URI"] ?? "/" : "/"
        rawPath = String(uri.prefix { $0 != "?" })
        pathSegments = []
        query = Parameters()
        remoteAddress = params["REMOTE_ADDR"] ?? ""
        contentType = params["CONTENT_TYPE"].flatMap { $0.isEmpty ? nil : $0 }
        body = []
        form = Parameters()
    }

    /// A request for tests and internal callers: method, a path with an optional query, headers, a body.
    public init(
        method: String, uri: String, headers: [String: String] = [:], body: [UInt8] = [],
        contentType: String? = nil, remoteAddress: String = "127.0.0.1"
    ) throws(HTTPError) {
        var params: CGIParameters = ["REQUEST_METHOD": method, "REQUEST_URI": uri, "REMOTE_ADDR": remoteAddress]
        if let question = uri.firstIndex(of: "?") {
            params["QUERY_STRING"] = String(uri[uri.index(after: question)...])
        }
        for (name, value) in headers {
            params["HTTP_" + name.uppercased().replacing("-", with: "_")] = value
        }
        if let contentType { params["CONTENT_TYPE"] = contentType }
        params["CONTENT_LENGTH"] = String(body.count)
        try self.init(params: params, body: body)
    }

    /// A header field by its name in any case: `header("User-Agent")`. nginx passes headers as `HTTP_*`
    /// parameters; they are looked up there rather than copied into a second table on every request.
    public func header(_ name: String) -> String? {
        var key: [UInt8] = Array("HTTP_".utf8)
        key.reserveCapacity(5 + name.utf8.count)
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "-"): key.append(UInt8(ascii: "_"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): key.append(byte - 32)
            default: key.append(byte)
            }
        }
        return params[String(decoding: key, as: UTF8.self)]
    }

    /// Every header field, names lowercased (`user-agent`).
    public var headers: [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in params where name.hasPrefix("HTTP_") {
            headers[String(name.dropFirst(5)).lowercased().replacing("_", with: "-")] = value
        }
        return headers
    }

    /// `text/html; charset=utf-8` → `text/html`.
    public static func mediaType(_ contentType: String) -> String {
        String(contentType.prefix(while: { $0 != ";" })).trimmingCharacters(in: .whitespaces).lowercased()
    }
}
