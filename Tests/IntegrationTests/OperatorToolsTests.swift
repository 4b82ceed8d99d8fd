import Foundation
import Testing
import TestStack

/// `cross doctor` and `cross orders archive` on a real stack: the verdicts an operator reads, and the archive
/// as `cross orders show` sees it.
@Suite struct OperatorToolsTests {
    private func doctor(_ stack: Stack, _ extra: [String] = []) throws -> Faults.Output {
        try Faults.cross(["doctor", "--dev", "--config", stack.configPath, "--socket", stack.runDirectory + "/cross.sock"] + extra)
    }

    private func line(_ output: Faults.Output, _ check: String) -> String {
        output.output.split(separator: "\n").map(String.init).first { $0.dropFirst(6).hasPrefix(check) } ?? "(no \(check) line in \(output.output))"
    }

    @Test func aHealthyStackPassesAndEachFaultIsAFailNamingIt() throws {
        let stack = try Stack(name: "doctor", sandbox: true)
        defer { stack.stop() }
        let socket = stack.runDirectory + "/cross.sock"
        // The test stack's socket is open to every user (666) for convenience; a production one is 660.
        let open = try doctor(stack)
        #expect(open.status == 1)
        #expect(line(open, "nginx socket").hasPrefix("FAIL") && line(open, "nginx socket").contains("mode 666"), "\(open.output)")
        chmod(socket, 0o660)

        let healthy = try doctor(stack)
        #expect(healthy.status == 0, "\(healthy.output)")
        #expect(line(healthy, "configuration").hasPrefix("ok    configuration   \(stack.configPath) (development)"))
        #expect(line(healthy, "data folder").hasPrefix("ok"), "\(healthy.output)")
        #expect(line(healthy, "writable").hasPrefix("ok"))
        #expect(line(healthy, "journal").hasPrefix("ok    journal         1 segment, "), "\(healthy.output)")
        #expect(line(healthy, "TMoney Online").hasPrefix("ok    TMoney Online   http://127.0.0.1:\(stack.sandboxPort): HTTP "), "\(healthy.output)")
        #expect(line(healthy, "nginx socket") == "ok    nginx socket    \(socket), mode 660, accepting")
        #expect(healthy.output.contains("checks: 0 failed"))
        #expect(!FileManager.default.fileExists(atPath: stack.dataDirectory + "/.doctor-probe.\(getpid())"))

        // A data folder others can read.
        chmod(stack.dataDirectory, 0o755)
        let readable = try doctor(stack)
        #expect(readable.status == 1)
        #expect(line(readable, "data folder").hasPrefix("FAIL") && line(readable, "data folder").contains("mode 755"), "\(readable.output)")
        chmod(stack.dataDirectory, 0o700)

        // Production's checks on a development configuration: the key is named.
        let production = try Faults.cross(["doctor", "--config", stack.configPath, "--offline"])
        #expect(production.status == 1)
        #expect(line(production, "configuration").hasPrefix("FAIL") && line(production, "configuration").contains("allowed only with cross serve --dev"), "\(production.output)")

        // Cross stopped: its socket file may be gone or refuse.
        stack.cross!.stop()
        let stopped = try doctor(stack)
        #expect(stopped.status == 1)
        #expect(line(stopped, "nginx socket").hasPrefix("FAIL"), "\(stopped.output)")

        // The journal's segment moved away by hand: what would stop the next start is said now.
        let segment = stack.dataDirectory + "/journal/segment-000001.jsonl"
        try FileManager.default.moveItem(atPath: segment, toPath: stack.runDirectory + "/moved.jsonl")
        let moved = try doctor(stack)
        #expect(moved.status == 1)
        #expect(line(moved, "journal").hasPrefix("FAIL") && line(moved, "journal").contains("segment-000001"), "\(moved.output)")
    }

    @Test func aGatewayWhoseCertificateIsNotTrustedFails() throws {
        let stack = try Stack(name: "doctor-tls")
        defer { stack.stop() }
        let folder = stack.runDirectory + "/tls"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Faults.run([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1",
            "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem",
        ])
        let port = try FreePort.allocate()
        let server = try ManagedProcess(
            name: "s_server", executable: "/usr/bin/openssl",
            arguments: ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", folder + "/cert.pem", "-key", folder + "/key.pem", "-www", "-quiet"],
            logPath: folder + "/s_server.log")
        defer { server.stop() }
        try HTTPClient.waitForListener(port)
        var configuration = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stack.configPath))) as! [String: Any]
        configuration["gateway_url"] = "https://127.0.0.1:\(port)"
        let path = stack.runDirectory + "/cross-tls.json"
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: path))
        let answer = try Faults.cross(["doctor", "--dev", "--config", path])
        #expect(answer.status == 1)
        let verdict = line(answer, "TMoney Online")
        #expect(verdict.hasPrefix("FAIL  TMoney Online   https://127.0.0.1:\(port): "), "\(answer.output)")
        #expect(verdict.lowercased().contains("certificate") || verdict.contains("SSL"), "\(verdict)")
    }

    @Test func archivedOrdersAreShownAndTheCommandRefusesBadDates() throws {
        let stack = try Stack(name: "archive")
        defer { stack.stop() }
        try stack.createOrder("ARCH-1")
        let future = try Faults.cross(["orders", "archive", "--config", stack.configPath, "--before", "2999-01-01"])
        #expect(future.status == 1 && future.errors.contains("in the future"), "\(future.errors)")
        let bad = try Faults.cross(["orders", "archive", "--config", stack.configPath, "--before", "yesterday"])
        #expect(bad.status != 0 && bad.errors.contains("--before must be a date"), "\(bad.errors)")
        // A pending order just made is not final: nothing moves, and the run says so.
        let now = ISO8601DateFormatter().string(from: Date())
        let run = try Faults.cross(["orders", "archive", "--config", stack.configPath, "--before", now])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("0 orders moved"), "\(run.output)")
        let show = try Faults.cross(["orders", "show", "--config", stack.configPath, "ARCH-1"])
        #expect(show.output.contains("status       pending") && !show.output.contains("(archived)"))
    }

    /// The units as shipped, with only the binary's path changed to this build's: `systemd-analyze verify` finds
    /// nothing to say, and the offline security review rates them well exposed at most "OK" (≤ 3.5).
    @Test("a systemd unit verifies and is hardened", arguments: ["cross.service", "cross-sandbox.service"])
    func systemdUnit(name: String) throws {
        let analyze = try #require(Faults.executable("systemd-analyze"), "systemd-analyze (Debian's systemd) is installed by make test")
        let unit = try String(contentsOfFile: Stack.root + "/scripts/systemd/" + name, encoding: .utf8)
        for line in ["User=cross", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet="] {
            #expect(unit.split(separator: "\n").contains(Substring(line)), "\(name) has \(line)")
        }
        let writable = unit.split(separator: "\n").filter { $0.hasPrefix("ReadWritePaths=") }
        #expect(writable == [name == "cross.service" ? "ReadWritePaths=/var/lib/cross" : "ReadWritePaths=/var/lib/cross-sandbox"], "the data folder only")
        let folder = NSTemporaryDirectory() + "cross-units-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/" + name
        try unit.replacingOccurrences(of: "/usr/local/bin/cross", with: Stack.crossBinary).write(toFile: path, atomically: true, encoding: .utf8)
        let verify = try Faults.run([analyze, "verify", path])
        #expect(verify.status == 0, "\(verify.errors)")
        #expect(verify.errors.isEmpty && verify.output.isEmpty, "systemd-analyze verify: \(verify.errors)\(verify.output)")
        let security = try Faults.run([analyze, "security", "--offline=true", "--no-pager", path])
        let overall = try #require(security.output.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(security.output)")
        let score = try #require(overall.split(separator: " ").compactMap { Double($0) }.first, "\(overall)")
        #expect(score <= 3.5, "\(overall)")
    }
}
