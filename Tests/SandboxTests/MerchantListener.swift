import Support
import Foundation

/// A merchant's notification endpoint for tests: a minimal HTTP server on a loopback port of its own that
/// records each request line and answers every request the same way (or not at all).
final class MerchantListener: @unchecked Sendable {
    enum Answer {
        case respond(status: Int, body: String)
        /// Reads the request and says nothing for this long.
        case hang(seconds: Double)
    }

    let port: UInt16
    private let fd: Int32
    private let answer: Answer
    private let lock = NSLock()
    private var lines: [(line: String, at: Date)] = []

    init(_ answer: Answer = .respond(status: 200, body: "OK")) throws {
        self.answer = answer
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw CocoaError(.fileWriteUnknown) }
        port = UInt16(bigEndian: address.sin_port)
        // Weakly held, so that the listener closes when the test lets go of it.
        Thread.detachNewThread { [weak self] in
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 { return }
                guard let self else {
                    close(connection)
                    return
                }
                Thread.detachNewThread { self.serve(connection) }
            }
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Request lines received so far (`GET /notify?purchaseref=… HTTP/1.1`), with when they arrived.
    var received: [(line: String, at: Date)] { lock.withLock { lines } }

    /// Waits until `count` requests arrived, for at most `timeout` seconds.
    func wait(for count: Int, timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if received.count >= count { return true }
            usleep(10_000)
        }
        return received.count >= count
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while head.count < 65536, recv(connection, &byte, 1, 0) == 1 {
            head.append(byte)
            if head.suffix(4) == [13, 10, 13, 10] { break }
        }
        let line = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
        lock.withLock { lines.append((line, Date())) }
        switch answer {
        case .respond(let status, let body):
            let text = "HTTP/1.1 \(status) Answer\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            _ = Array(text.utf8).withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        case .hang(let seconds):
            usleep(UInt32(seconds * 1_000_000))
        }
    }
}
