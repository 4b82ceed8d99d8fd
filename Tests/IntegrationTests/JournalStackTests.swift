import Foundation
import Payments
import Testing
import TestStack

/// The journal's segments with a real `cross serve` behind nginx: a segment moved away stops Cross at start, and
/// `cross backup` of a live data folder restores to one on which `cross journal verify` passes.
@Suite(.serialized) struct JournalStackTests {
    /// 1 KB segments and a checkpoint every second: the journal rotates at nearly every checkpoint.
    static func rotatingStack(_ name: String) throws -> Stack {
        try Stack(name: name, crossArguments: ["--checkpoint-seconds", "1"], settings: ["journal_segment_mb": 0.001])
    }

    static func segments(_ stack: Stack) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: stack.dataDirectory + "/journal")) ?? [])
            .filter { $0.hasPrefix("segment-") && $0.hasSuffix(".jsonl") }.sorted()
    }

    static func cross(_ arguments: [String]) throws -> Faults.Output { try Faults.run([Stack.crossBinary] + arguments) }

    @Test func aSegmentMovedAwayStopsCrossAtStartWithACriticalMessage() throws {
        let stack = try Self.rotatingStack("journal-missing")
        defer { stack.stop() }
        // Orders until there are three segments and the first is closed.
        let deadline = Date().addingTimeInterval(60)
        var n = 0
        while (Self.segments(stack).count < 3 || !FileManager.default.fileExists(atPath: stack.dataDirectory + "/journal/segments.json")) && Date() < deadline {
            try stack.createOrder("SEG-\(n)")
            n += 1
            usleep(20_000)
        }
        #expect(Self.segments(stack).count >= 3, "\(Self.segments(stack))")
        stack.cross!.stop()
        let segment = stack.dataDirectory + "/journal/segment-000002.jsonl"
        let aside = stack.runDirectory + "/segment-000002.jsonl"
        try FileManager.default.moveItem(atPath: segment, toPath: aside)
        try stack.startCross()
        #expect(stack.cross!.wait(timeout: 20) == 1, "Cross refuses to start")
        let log = stack.cross!.log
        #expect(log.contains("critical cannot start: the data folder cannot be opened"), "\(log)")
        #expect(log.contains("segment-000002.jsonl is missing"), "\(log)")
        let list = try Self.cross(["journal", "list", "--config", stack.configPath])
        #expect(list.status == 2 && list.output.contains("segment-000002.jsonl  missing") && list.errors.contains("is missing"), "\(list)")
        // Put back, Cross starts and every order is there.
        try FileManager.default.moveItem(atPath: aside, toPath: segment)
        try stack.startCross()
        try stack.waitUntilReady()
        for index in 0..<n { #expect(try stack.order("SEG-\(index)") != nil, "SEG-\(index)") }
        #expect(try Self.cross(["journal", "verify", "--config", stack.configPath]).status == 0)
    }

    /// Orders created and paid through nginx while `cross backup` copies the folder; the copy, started as a data
    /// folder of its own, recovers, `cross journal verify` passes on it, and every change acknowledged before the
    /// backup started is in it.
    @Test func aBackupOfALiveStackRestoresEveryAcknowledgedChange() throws {
        let stack = try Self.rotatingStack("journal-backup")
        defer { stack.stop() }
        final class Acknowledged: @unchecked Sendable {
            let lock = NSLock()
            var changes: [(ref: String, status: String, at: Date)] = []
            var stop = false
            func add(_ ref: String, _ status: String) { lock.withLock { changes.append((ref, status, Date())) } }
            var stopped: Bool { lock.withLock { stop } }
            var count: Int { lock.withLock { changes.count } }
        }
        let acknowledged = Acknowledged()
        let load = DispatchGroup()
        for client in 0..<2 {
            load.enter()
            Thread {
                var n = 0
                while !acknowledged.stopped {
                    let ref = "BAK-\(client)-\(n)"
                    if (try? stack.createOrder(ref)) != nil { acknowledged.add(ref, "pending") }
                    if (try? HTTPClient.get(stack.port, Stack.notification(ref)).status) == 200 { acknowledged.add(ref, "paid") }
                    n += 1
                }
                load.leave()
            }.start()
        }
        let warmUp = Date().addingTimeInterval(60)
        // Enough for closed segments, an index, webhook-less orders in many shards.
        while (acknowledged.count < 200 || Self.segments(stack).count < 3) && Date() < warmUp { usleep(10_000) }
        let copy = stack.runDirectory + "/backup"
        let started = Date()
        let backup = try Self.cross(["backup", "--config", stack.configPath, copy])
        let afterBackup = acknowledged.count
        while acknowledged.count < afterBackup + 50 && Date() < warmUp.addingTimeInterval(30) { usleep(10_000) }
        acknowledged.lock.withLock { acknowledged.stop = true }
        load.wait()
        #expect(backup.status == 0, "\(backup)")
        #expect(Self.segments(stack).count >= 3)
        #expect(backup.output.contains("journal segments"), "\(backup.output)")

        // The restore: the copy as the data folder of a `cross serve` of its own, which recovers at start.
        let restoredConfig = stack.runDirectory + "/restored.json"
        try Stack.writeConfiguration(at: restoredConfig, port: stack.port, sandboxPort: stack.sandboxPort, settings: ["data_directory": copy])
        let restored = try ManagedProcess(
            name: "restored", executable: Stack.crossBinary,
            arguments: ["serve", "--dev", "--config", restoredConfig, "--listen", stack.runDirectory + "/restored.sock"],
            logPath: stack.runDirectory + "/logs/restored.log", environment: ["CROSS_LOG_FLUSH_MS": "0"])
        let deadline = Date().addingTimeInterval(30)
        while !restored.log.contains("recovery done") && restored.isRunning && Date() < deadline { usleep(20_000) }
        #expect(restored.log.contains("recovery done"), "\(restored.log)")
        restored.stop()
        let verify = try Self.cross(["journal", "verify", "--config", restoredConfig])
        #expect(verify.status == 0 && verify.output.contains("verdict      ok"), "\(verify.output)")
        let before = acknowledged.lock.withLock { acknowledged.changes.filter { $0.at < started } }
        #expect(before.count >= 200)
        var missing: [String] = []
        for change in before {
            let key = OrderKey(ref: change.ref).hex
            let path = copy + "/orders/\(key.prefix(3))/\(key).json"
            let order = (try? Data(contentsOf: URL(fileURLWithPath: path))).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            let status = order?["status"] as? String
            if status == nil || (change.status == "paid" && status != "paid") { missing.append("\(change.ref) \(change.status)") }
        }
        #expect(missing.isEmpty, "acknowledged before the backup, not in its restore: \(missing.prefix(10))")
    }
}
