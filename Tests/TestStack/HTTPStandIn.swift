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
    }

    public let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var behaviour: @Sendable (String) -> Behaviour
    private var received: [String] = []
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
        let requestLine = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
        let behaviour = lock.withLock { () -> (String) -> Behaviour in
            received.append(requestLine)
            return self.behaviour
        }
        switch behaviour(requestLine) {
        case .respond(let status, let body):
            let bytes = Array(body.utf8)
            let response = "HTTP/1.0 \(status) Stand-in\r\nContent-Type: text/plain\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
            try? HTTPClient.sendAll(connection, Array(response.utf8) + bytes)
        case .hang(let seconds):
            usleep(UInt32(seconds * 1_000_000))
        case .close:
            break
        }
    }
}
