import Foundation
import Testing
import FastCGI
import TestStack

/// Through a real nginx and a real `cross serve`, on free ports.
@Suite(.serialized) struct FoundationStackTests {
    @Test func pageRenderedByTheResponder() throws {
        let stack = try Stack(name: "page")
        defer { stack.stop() }
        let page = try HTTPClient.get(stack.port, "/")
        #expect(page.status == 200)
        #expect(page.header("content-type") == "text/html; charset=utf-8")
        #expect(page.text.contains("rendered by the Cross FastCGI responder"))
        let css = try HTTPClient.get(stack.port, "/style.css")
        #expect(css.status == 200)
        #expect(css.header("content-type") == "text/css")
        #expect(!stack.cross!.log.contains("path=/style.css"), "static files never reach the responder")
        #expect(stack.cross!.log.contains("access method=GET path=/ status=200"))
    }

    @Test func unknownPathIs404() throws {
        let stack = try Stack(name: "404")
        defer { stack.stop() }
        let result = try HTTPClient.get(stack.port, "/no/such/page")
        #expect(result.status == 404)
        #expect(result.text.contains("Nothing here"))
        let json = try HTTPClient.get(stack.port, "/api/nothing")
        #expect(json.status == 404)
        #expect(json.header("content-type") == "application/json")
    }

    @Test func invalidEscapeInTheQueryIs400() throws {
        let stack = try Stack(name: "400")
        defer { stack.stop() }
        #expect(try HTTPClient.get(stack.port, "/?amount=%ZZ").status == 400)
        #expect(try HTTPClient.get(stack.port, "/?name=%FF").status == 400)
    }

    @Test func oversizedBodyIs413AndTheNextRequestIsFine() throws {
        let stack = try Stack(name: "413", crossArguments: ["--max-body", "65536"])
        defer { stack.stop() }
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 100_000)
        let refused = try HTTPClient.post(stack.port, "/healthz", body: big, contentType: "application/octet-stream")
        #expect(refused.status == 413)
        #expect(refused.text.contains("larger than 65536 bytes"))
        let atLimit = try HTTPClient.post(stack.port, "/healthz", body: [UInt8](repeating: 1, count: 65536), contentType: "application/octet-stream")
        #expect(atLimit.status == 405, "a body at the limit is read, then routed: /healthz takes no POST")
        for _ in 0..<20 { #expect(try HTTPClient.get(stack.port, "/healthz").status == 200) }
    }

    @Test func oneMebibyteArrivesIntact() throws {
        let stack = try Stack(name: "1mib", crossArguments: ["--diagnostics"])
        defer { stack.stop() }
        let size = 1 << 20
        for _ in 0..<3 {
            let result = try HTTPClient.get(stack.port, "/_diagnostics/bytes/\(size)")
            #expect(result.status == 200)
            #expect(result.header("content-length") == String(size))
            #expect(result.body == DiagnosticRoutes.pattern(count: size))
        }
    }

    @Test func twoHundredConcurrentRequestsAllAnswered() throws {
        let stack = try Stack(name: "concurrent")
        defer { stack.stop() }
        let request = Array("GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        // All 200 connections are open and their requests sent before any answer is read.
        let sockets = try (0..<200).map { _ in try HTTPClient.connect(port: stack.port) }
        defer { sockets.forEach { close($0) } }
        for fd in sockets { try HTTPClient.sendAll(fd, request) }
        var statuses: [Int: Int] = [:]
        for fd in sockets {
            let result = try HTTPClient.parse(HTTPClient.readToEnd(fd))
            statuses[result.status, default: 0] += 1
            #expect(result.text.contains("Cross is running"))
        }
        #expect(statuses == [200: 200])
    }

    @Test func sigtermDuringLoadAnswersEveryAcceptedRequest() throws {
        let stack = try Stack(name: "sigterm", crossArguments: ["--diagnostics", "--workers", "16"])
        defer { stack.stop() }
        // 12 slow requests, fewer than the workers: all of them are accepted and in flight at SIGTERM.
        let slow = try (0..<12).map { _ in try HTTPClient.connect(port: stack.port) }
        defer { slow.forEach { close($0) } }
        for fd in slow {
            try HTTPClient.sendAll(fd, Array("GET /_diagnostics/sleep/1500 HTTP/1.0\r\nHost: x\r\n\r\n".utf8))
        }
        // And a stream of quick requests from four threads, before, during and after the signal.
        let outcomes = Outcomes()
        let group = DispatchGroup()
        let stop = Flag()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: group) {
                while !stop.isSet {
                    do {
                        let result = try HTTPClient.get(stack.port, "/healthz", timeout: 10)
                        outcomes.record(result.status == 200 && result.text == "ok\n" ? "200" : "status \(result.status)")
                    } catch {
                        outcomes.record("error: \(error)")
                    }
                }
            }
        }
        usleep(500_000)
        stack.cross!.signal(SIGTERM)
        let exitStatus = stack.cross!.wait(timeout: 8)
        stop.set()
        group.wait()
        #expect(exitStatus == 0)
        for fd in slow {
            let result = try HTTPClient.parse(HTTPClient.readToEnd(fd))
            #expect(result.status == 200)
            #expect(result.text == "slept 1500 ms\n")
        }
        // Quick requests: answered in full, or refused by nginx once cross stopped accepting (502). Never cut.
        let seen = outcomes.all
        #expect(seen["200", default: 0] > 0)
        #expect(Set(seen.keys).isSubset(of: ["200", "status 502"]), "\(seen)")
        #expect(stack.cross!.log.contains("shutting down"))
        #expect(stack.cross!.log.contains("info stopped"))
        #expect(!FileManager.default.fileExists(atPath: stack.runDirectory + "/cross.sock"))
    }

    /// The production log: lines buffered for up to 100 ms (`CROSS_LOG_FLUSH_MS` unset), a warning written at
    /// once with the lines before it, and everything written out by the time Cross exits on SIGTERM.
    @Test func theBufferedLogLosesNoLineAndKeepsTheirOrder() throws {
        let stack = try Stack(name: "log-buffer", environment: ["CROSS_LOG_FLUSH_MS": "100"])
        defer { stack.stop() }
        #expect(try HTTPClient.get(stack.port, "/healthz").status == 200)
        // The flusher writes the access line within its period; waited for, not slept on.
        let deadline = Date().addingTimeInterval(5)
        while !stack.cross!.log.contains("access method=GET path=/healthz") && Date() < deadline { usleep(10_000) }
        #expect(stack.cross!.log.contains("access method=GET path=/healthz"))
        // A refused notification's warning goes out at once, after the access line of the request before it.
        #expect(try HTTPClient.get(stack.port, "/healthz?second").status == 200)
        #expect(try HTTPClient.get(stack.port, "/notify?purchaseref=NOPE").status == 400)
        let log = stack.cross!.log
        let second = try #require(log.range(of: "path=/healthz status=200", options: .backwards))
        let refused = try #require(log.range(of: "warning notification refused"))
        #expect(second.lowerBound < refused.lowerBound, "lines keep their order")
        stack.cross!.signal(SIGTERM)
        #expect(stack.cross!.wait(timeout: 10) == 0)
        let final = stack.cross!.log
        #expect(final.contains("path=/notify status=400"), "the access line written after the warning")
        #expect(final.hasSuffix("info stopped in_flight=0\n") || final.contains("info stopped"), "flushed at exit")
    }

    @Test func socketThatCannotBeBoundIsAClearError() throws {
        let directory = NSTemporaryDirectory() + "cross-tests/bind-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let notASocket = directory + "/regular-file"
        FileManager.default.createFile(atPath: notASocket, contents: Data("keep me".utf8))
        try Stack.writeConfiguration(at: directory + "/cross.json", port: 1, sandboxPort: 2)
        let cases = [notASocket, "/nonexistent-dir/cross.sock", ":9000"]
        for listen in cases {
            let process = try ManagedProcess(
                name: "cross", executable: Stack.crossBinary, arguments: ["serve", "--dev", "--config", directory + "/cross.json", "--listen", listen],
                logPath: directory + "/out.log")
            #expect(process.wait(timeout: 10) == 1, "\(listen)")
            #expect(process.log.contains("cannot"), "\(process.log)")
        }
        #expect(try String(contentsOfFile: notASocket, encoding: .utf8) == "keep me")
    }
}

final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    func record(_ outcome: String) { lock.withLock { counts[outcome, default: 0] += 1 } }
    var all: [String: Int] { lock.withLock { counts } }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
