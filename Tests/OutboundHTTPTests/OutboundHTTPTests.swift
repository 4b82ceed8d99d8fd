import Foundation
import OutboundHTTP
import Testing
import TestStack

/// OutboundHTTP's guarantees, against real servers on loopback: the answer as it came, the timeout, a refused
/// connection, no redirect followed, the size limit, bad URLs, and TLS certificates verified.
@Suite struct OutboundHTTPTests {
    @Test func theAnswerComesBackWithItsStatusHeadersAndBody() throws {
        let server = try HTTPStandIn { _ in .respondWithHeaders(status: 201, headers: [("X-Answer", "forty-two")], body: "made") }
        defer { server.stop() }
        let answer = try OutboundHTTP(timeoutSeconds: 5).send(
            "POST", server.url + "/orders?x=1", headers: [("Content-Type", "application/json"), ("X-Sent", "yes")], body: Array("{\"a\":1}".utf8)
        ).get()
        #expect(answer.status == 201)
        #expect(answer.headers["x-answer"] == "forty-two")
        #expect(answer.body == Array("made".utf8))
        let received = try #require(server.receivedRequests.first)
        #expect(received.requestLine.hasPrefix("POST /orders?x=1 HTTP/1.1"))
        #expect(received.header("X-Sent") == "yes")
        #expect(received.text == "{\"a\":1}")
    }

    @Test func aServerThatSaysNothingIsCutOffAtTheTimeout() throws {
        let server = try HTTPStandIn { _ in .hang(seconds: 10) }
        defer { server.stop() }
        let started = Date()
        let result = OutboundHTTP(timeoutSeconds: 0.5).send("GET", server.url + "/")
        let took = Date().timeIntervalSince(started)
        #expect(result == .failure(.timeout(seconds: 0.5)))
        #expect(took >= 0.45 && took < 3, "took \(took) s")
    }

    @Test func aRefusedConnectionFailsAtOnceNotAtTheDeadline() throws {
        let server = try HTTPStandIn { _ in .respond(status: 200, body: "") }
        let url = server.url
        server.stop()
        let started = Date()
        let result = OutboundHTTP(timeoutSeconds: 20).send("GET", url + "/")
        let took = Date().timeIntervalSince(started)
        guard case .failure(.transport) = result else {
            Issue.record("expected a transport failure, got \(result)")
            return
        }
        #expect(took < 5, "took \(took) s")
    }

    @Test func aRedirectIsAnsweredNotFollowed() throws {
        let elsewhere = try HTTPStandIn { _ in .respond(status: 200, body: "elsewhere") }
        defer { elsewhere.stop() }
        let server = try HTTPStandIn { _ in .respondWithHeaders(status: 302, headers: [("Location", elsewhere.url + "/x")], body: "") }
        defer { server.stop() }
        let answer = try OutboundHTTP(timeoutSeconds: 5).send("POST", server.url + "/", body: Array("a=1".utf8)).get()
        #expect(answer.status == 302)
        #expect(answer.headers["location"] == elsewhere.url + "/x")
        #expect(elsewhere.requests.isEmpty)
    }

    @Test func anAnswerPastTheLimitIsRefused() throws {
        let server = try HTTPStandIn { _ in .respond(status: 200, body: String(repeating: "7", count: 100_000)) }
        defer { server.stop() }
        #expect(OutboundHTTP(timeoutSeconds: 5, maxBodyBytes: 65_536).send("GET", server.url + "/") == .failure(.tooLarge(bytes: 65_536)))
        let answer = try OutboundHTTP(timeoutSeconds: 5, maxBodyBytes: 100_000).send("GET", server.url + "/").get()
        #expect(answer.body.count == 100_000)
    }

    @Test func whatIsNotAnHTTPURLIsRefusedBeforeAnyConnection() {
        let http = OutboundHTTP(timeoutSeconds: 5)
        for url in ["not a url", "ftp://127.0.0.1/file", "http://", ""] {
            #expect(http.send("GET", url) == .failure(.badURL), "\(url)")
        }
    }

    /// A server whose certificate no system root signed (openssl s_server with a self-signed one) is not spoken to.
    @Test(.timeLimit(.minutes(1))) func aCertificateNoRootSignedIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("outbound-tls-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made = try run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem",
        ])
        #expect(made == 0)
        let port = try freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", folder + "/cert.pem", "-key", folder + "/key.pem", "-www", "-quiet"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // s_server ignores SIGTERM while it waits for a connection.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let deadline = Date().addingTimeInterval(20)
        while !accepts(port), Date() < deadline { usleep(20_000) }
        #expect(accepts(port), "openssl s_server listens")
        let result = OutboundHTTP(timeoutSeconds: 10).send("GET", "https://127.0.0.1:\(port)/")
        guard case .failure(.transport(let reason)) = result else {
            Issue.record("expected a TLS failure, got \(result)")
            return
        }
        #expect(reason.localizedCaseInsensitiveContains("certificate") || reason.localizedCaseInsensitiveContains("handshake")
            || reason.localizedCaseInsensitiveContains("ssl"), "\(reason)")
        #expect(server.isRunning, "the server was there: the refusal is the certificate's")
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A loopback port nothing listens on now: a stand-in's, once it has stopped.
    private func freePort() throws -> UInt16 {
        let probe = try HTTPStandIn { _ in .close }
        let port = probe.port
        probe.stop()
        return port
    }

    private func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
