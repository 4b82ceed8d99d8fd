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

    static func processes(mentioning text: String) -> [String] {
        let proc = "/proc"
        return ((try? FileManager.default.contentsOfDirectory(atPath: proc)) ?? []).compactMap { pid in
            guard Int32(pid) != nil, let data = FileManager.default.contents(atPath: "\(proc)/\(pid)/cmdline") else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return command.contains(text) ? "\(pid): \(command)" : nil
        }
    }
}
