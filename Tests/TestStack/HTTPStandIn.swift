import Foundation

/// A small HTTP/1.0 server for tests, on a loopback port of its own: it plays a peer that misbehaves in ways
/// the real one cannot be made to (a gateway answering garbage, or nothing at all), and records what it got.
public final class HTTPStandIn: @unchecked Sendable {
    public enum Behaviour: Sendable {
        case respond(status: Int, body: String)
        /// Accepts the connection and says nothing for this long.
        case hang(seconds: Double)
        /// Closes the connection without a word.
        case close
        /// Answers with these extra headers (a redirect's `Location`, say).
        case respondWithHeaders(status: Int, headers: [(String, String)], body: String)
    }

    public let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var behaviour: @Sendable (String) -> Behaviour
    private var received: [String] = []
    private var receivedInFull: [Received] = []
    private var stopped = false

    /// `behaviour` gets the request line (`GET /online/online.php?merchantid=… HTTP/1.1`).
    public init(_ behaviour: @escaping @Sendable (String) -> Behaviour) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, listen(fd, 64) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw HTTPClientError(description: "stand-in cannot listen: \(String(cString: strerror(errno)))") }
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    public func setBehaviour(_ behaviour: @escaping @Sendable (String) -> Behaviour) {
        lock.withLock { self.behaviour = behaviour }
    }

    /// Request lines received so far.
    public var requests: [String] { lock.withLock { received } }

    /// A request as it came: its line, its headers (names lowercased) and its body (read to its Content-Length).
    public struct Received: Sendable {
        public let requestLine: String
        public let headers: [String: String]
        public let body: [UInt8]
        public let at: Date

        public func header(_ name: String) -> String? { headers[name.lowercased()] }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Requests received so far, with their headers and bodies.
    public var receivedRequests: [Received] { lock.withLock { receivedInFull } }

    /// Waits until `count` requests arrived, for at most `timeout` seconds.
    public func waitForRequests(_ count: Int, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if lock.withLock({ received.count }) >= count { return true }
            usleep(10_000)
        }
        return lock.withLock { received.count } >= count
    }

    public func stop() {
        lock.withLock { stopped = true }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    deinit { if !stopped { stop() } }

    private func acceptLoop() {
        while true {
            let connection = accept(fd, nil, nil)
            if connection < 0 {
                if lock.withLock({ stopped }) { return }
                continue
            }
            Thread.detachNewThread { [self] in serve(connection) }
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while head.count < 65536, recv(connection, &byte, 1, 0) == 1 {
            head.append(byte)
            if head.count >= 4 && head.suffix(4) == [13, 10, 13, 10] { break }
        }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines.first ?? ""
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body: [UInt8] = []
        let length = min(Int(headers["content-length"] ?? "") ?? 0, 16 << 20)
        if length > 0 {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while body.count < length {
                let count = recv(connection, &buffer, min(buffer.count, length - body.count), 0)
                if count <= 0 { break }
                body.append(contentsOf: buffer[0..<count])
            }
        }
        let request = Received(requestLine: requestLine, headers: headers, body: body, at: Date())
        let behaviour = lock.withLock { () -> (String) -> Behaviour in
            received.append(requestLine)
            receivedInFull.append(request)
            return self.behaviour
        }
        switch behaviour(requestLine) {
        case .respond(let status, let body):
            let bytes = Array(body.utf8)
            let response = "HTTP/1.0 \(status) Stand-in\r\nContent-Type: text/plain\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
            try? HTTPClient.sendAll(connection, Array(response.utf8) + bytes)
        case .respondWithHeaders(let status, let headers, let body):
            let bytes = Array(body.utf8)
            var response = "HTTP/1.0 \(status) Stand-in\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n"
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { response += "Content-Type: text/plain\r\n" }
            for (name, value) in headers { response += "\(name): \(value)\r\n" }
            try? HTTPClient.sendAll(connection, Array((response + "\r\n").utf8) + bytes)
        case .hang(let seconds):
            usleep(UInt32(seconds * 1_000_000))
        case .close:
            break
        }
    }
}
