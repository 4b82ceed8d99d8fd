import Foundation

/// A response as the test client received it.
public struct HTTPResult: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

public struct HTTPClientError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// A deliberately plain HTTP/1.0 client over a blocking socket: it sends exactly the bytes a test asks for
/// (oversized headers, invalid escapes, bytes that are not UTF-8) and reads the answer to the end.
public enum HTTPClient {
    public static func get(_ port: UInt16, _ target: String, headers: [(String, String)] = [], timeout: Double = 30, from source: String? = nil) throws -> HTTPResult {
        try request(port: port, method: "GET", target: target, headers: headers, timeout: timeout, from: source)
    }

    /// A JSON request with a body, as a merchant's back end sends to the order API.
    public static func json(_ port: UInt16, _ method: String, _ target: String, _ body: String, apiKey: String? = nil) throws -> HTTPResult {
        var headers = [("Content-Type", "application/json")]
        if let apiKey { headers.append(("Authorization", "Bearer " + apiKey)) }
        return try request(port: port, method: method, target: target, headers: headers, body: Array(body.utf8))
    }

    public static func post(
        _ port: UInt16, _ target: String, body: [UInt8], contentType: String, headers: [(String, String)] = [], timeout: Double = 30
    ) throws -> HTTPResult {
        try request(port: port, method: "POST", target: target, headers: headers + [("Content-Type", contentType)], body: body, timeout: timeout)
    }

    public static func request(
        port: UInt16, method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = [],
        host: String = "127.0.0.1", timeout: Double = 30, from source: String? = nil
    ) throws -> HTTPResult {
        var head = "\(method) \(target) HTTP/1.0\r\nHost: \(host):\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let raw = try exchange(port: port, bytes: Array(head.utf8) + body, host: host, timeout: timeout, from: source)
        return try parse(raw)
    }

    /// Sends raw bytes and returns everything the server answers until it closes the connection.
    public static func exchange(port: UInt16, bytes: [UInt8], host: String = "127.0.0.1", timeout: Double = 30, from source: String? = nil) throws -> [UInt8] {
        let fd = try connect(port: port, host: host, timeout: timeout, from: source)
        defer { close(fd) }
        try sendAll(fd, bytes)
        return try readToEnd(fd)
    }

    /// A connected socket; `source` picks the local address (`127.0.0.2`: another caller on this machine).
    /// Returns once something accepts connections on `port` (a server just started), or throws after `timeout`.
    public static func waitForListener(_ port: UInt16, timeout: Double = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let fd = try? connect(port: port, timeout: 1) {
                close(fd)
                return
            }
            usleep(50_000)
        }
        throw HTTPClientError(description: "nothing listens on port \(port)")
    }

    public static func connect(port: UInt16, host: String = "127.0.0.1", timeout: Double = 30, from source: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPClientError(description: "socket: \(String(cString: strerror(errno)))") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(fd)
                throw HTTPClientError(description: "bind to \(source): \(String(cString: strerror(errno)))")
            }
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw HTTPClientError(description: "connect to \(host):\(port): \(reason)")
        }
        return fd
    }

    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw HTTPClientError(description: "send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    public static func readToEnd(_ fd: Int32) throws -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count == 0 { return received }
            guard count > 0 else {
                if errno == EINTR { continue }
                throw HTTPClientError(description: "recv: \(String(cString: strerror(errno))) after \(received.count) bytes")
            }
            received.append(contentsOf: buffer[0..<count])
        }
    }

    public static func parse(_ raw: [UInt8]) throws -> HTTPResult {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = raw.firstRange(of: separator) else {
            throw HTTPClientError(description: "no complete response head in \(raw.count) bytes")
        }
        let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw HTTPClientError(description: "bad status line in \(head)")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = Array(raw[end.upperBound...])
        if let length = headers["content-length"].flatMap(Int.init), length != body.count {
            throw HTTPClientError(description: "Content-Length says \(length), \(body.count) bytes arrived")
        }
        return HTTPResult(status: status, headers: headers, body: body)
    }
}
