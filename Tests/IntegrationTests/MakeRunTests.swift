import Foundation
import Testing
import TestStack

/// `make run`'s script: it brings up Cross, the sandbox and nginx, and Ctrl-C takes all of them down.
@Suite(.serialized) struct MakeRunTests {
    @Test func ctrlCStopsEverythingItStarted() throws {
        let run = NSTemporaryDirectory() + "cross-tests/make-run-\(getpid())"
        try? FileManager.default.removeItem(atPath: run)
        let port = try FreePort.allocate()
        let sandboxPort = try FreePort.allocate()
        // Foundation starts the script in a process group of its own, as a terminal would: Ctrl-C (SIGINT to
        // the group) reaches the script and every process it started, and nothing else.
        let script = try ManagedProcess(
            name: "dev-stack", executable: Stack.root + "/scripts/dev-stack",
            arguments: [run, String(port), String(sandboxPort)],
            logPath: NSTemporaryDirectory() + "cross-tests/make-run-\(getpid()).log",
            environment: ["CROSS_BINARY": Stack.crossBinary])
        let deadline = Date().addingTimeInterval(30)
        var ready = false
        while Date() < deadline && !ready {
            ready = script.log.contains("Cross is running")
                && (try? HTTPClient.get(port, "/healthz", timeout: 1))?.status == 200
                && (try? HTTPClient.get(sandboxPort, "/sandbox", timeout: 1))?.status == 200
            if !ready { usleep(100_000) }
        }
        #expect(ready, "\(script.log)")
        #expect(script.log.contains("Cross is running: http://127.0.0.1:\(port)/"))
        #expect(FileManager.default.fileExists(atPath: run + "/cross.sock"))
        #expect(try HTTPClient.get(port, "/").text.contains("Cross is running"))
        #expect(try HTTPClient.get(port, "/shop/").text.contains("Boutique Démo"))

        #expect(getpgid(script.pid) == script.pid, "the script leads its own process group")
        kill(-script.pid, SIGINT)
        #expect(script.wait(timeout: 20) != nil, "the script ends")
        // No stray process: nothing still runs with the run folder in its command line.
        var strays: [String] = []
        for _ in 0..<50 {
            strays = Self.processes(mentioning: run)
            if strays.isEmpty { break }
            usleep(100_000)
        }
        #expect(strays.isEmpty, "\(strays)")
        for file in ["cross.sock", "sandbox.sock", "nginx.pid"] {
            #expect(!FileManager.default.fileExists(atPath: run + "/" + file), "\(file) is left behind")
        }
        #expect((try? HTTPClient.get(port, "/healthz", timeout: 1)) == nil, "nothing answers on the port any more")
    }

    /// Cloned under a folder only its owner may enter (root's home is one, so is `mktemp -d`), `make run`'s stack
    /// still serves its stylesheet, its scripts and the demo shop: nginx's workers are not `nobody` there.
    @Test func aCloneInAPrivateFolderServesItsPagesAndStyles() throws {
        let parent = NSTemporaryDirectory() + "cross-tests/private-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        #expect(chmod(parent, 0o700) == 0)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let clone = parent + "/cross"
        try Stack.shell(["/usr/bin/git", "clone", "--quiet", "--no-hardlinks", Stack.root, clone])
        // What the stack serves and runs, as this working tree has it (the same as the clone in CI).
        for folder in ["scripts", "nginx", "public", "config"] {
            try Stack.shell(["/bin/cp", "-a", Stack.root + "/" + folder + "/.", clone + "/" + folder + "/"])
        }
        let port = try FreePort.allocate()
        let sandboxPort = try FreePort.allocate()
        let script = try ManagedProcess(
            name: "dev-stack", executable: clone + "/scripts/dev-stack", arguments: [clone + "/run", String(port), String(sandboxPort)],
            logPath: parent + "/make-run.log", environment: ["CROSS_BINARY": Stack.crossBinary])
        defer {
            kill(-script.pid, SIGINT)
            _ = script.wait(timeout: 20)
        }
        let deadline = Date().addingTimeInterval(30)
        while !script.log.contains("Cross is running") && script.isRunning && Date() < deadline { usleep(50_000) }
        #expect(script.log.contains("Cross is running"), "\(script.log)")
        for (path, text) in [("/style.css", "--muted"), ("/checkout.js", "data-auto-submit"), ("/button.js", "cross-pay"), ("/shop/", "Boutique Démo"), ("/", "Cross")] {
            let answer = try HTTPClient.get(port, path)
            #expect(answer.status == 200 && answer.text.contains(text), "\(path): \(answer.status)")
        }
    }

    static func processes(mentioning text: String) -> [String] {
        let proc = "/proc"
        return ((try? FileManager.default.contentsOfDirectory(atPath: proc)) ?? []).compactMap { pid in
            guard Int32(pid) != nil, let data = FileManager.default.contents(atPath: "\(proc)/\(pid)/cmdline") else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return command.contains(text) ? "\(pid): \(command)" : nil
        }
    }
}
