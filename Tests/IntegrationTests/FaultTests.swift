import Foundation
import Testing
import TestStack

/// Faults of the disk and of the files, through the real stack (nginx + `cross serve`): a data folder that
/// fills up, one that turns read-only under a running Cross, a torn journal, an order file cut short by hand.
/// The disk faults mount filesystems, which needs root (CAP_SYS_ADMIN) and, for read-only, loop devices:
/// without them those tests are skipped, and say so.
@Suite(.serialized) struct FaultTests {
    // MARK: - A full disk

    /// New orders fill a small disk until its reserve (`disk_reserve_mb`): then they, button orders and refused
    /// calls stop, with a clear 503, while a real notification still gets its 200 and its order is paid.
    @Test(.enabled(if: Faults.canMountTmpfs, "mounting a tmpfs needs root"))
    func belowTheDiskReservePaymentsUnderWayStillLand() throws {
        let stack = try Stack(name: "fault-reserve", settings: ["disk_reserve_mb": 3])
        defer { stack.stop() }
        let disk = try DataMount.tmpfs(stack, size: "5m")
        defer { disk.release() }
        try stack.createOrder("RESERVE-PAID", amount: 15000)
        // New orders until the reserve: an anonymous caller with a button, or a merchant's loop, cannot take it.
        var made = 0
        var refused: HTTPResult?
        for index in 0..<20_000 {
            let answer = try Faults.create(stack, "RESERVE-\(index)", description: String(repeating: "riz ", count: 60))
            if answer.status == 201 { made += 1; continue }
            refused = answer
            break
        }
        let refusal = try #require(refused, "the reserve was never reached")
        #expect(refusal.status == 503 && refusal.text.contains("keeping its last disk space for payments already under way"), "\(refusal.text)")
        #expect(made > 10 && disk.freeBytes() < 3 << 20)
        let offer = try #require(try Security.postButton(stack, ["amount": "2500"], referer: nil).header("location"))
        #expect(try HTTPClient.post(stack.port, offer, body: [], contentType: "application/x-www-form-urlencoded").status == 503)
        // Refused calls from TMoney's own address are not journaled any more either (strangers' never are).
        let journal = stack.dataDirectory + "/journal/segment-000001.jsonl"
        let size = try Data(contentsOf: URL(fileURLWithPath: journal)).count
        for index in 0..<200 {
            #expect(try HTTPClient.get(stack.port, "/notify?purchaseref=JUNK-\(index)&amount=x&junk=" + String(repeating: "j", count: 2000)).status == 400)
            #expect(try HTTPClient.get(stack.port, Stack.notification("RESERVE-PAID"), from: "127.0.0.2").status == 403)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: journal)).count == size)
        #expect(stack.cross!.log.contains("journaled=\"no (disk reserve)\""))
        // And the payment under way lands.
        #expect(try HTTPClient.get(stack.port, Stack.notification("RESERVE-PAID", payid: "PAY-RESERVE")).status == 200)
        #expect(try stack.order("RESERVE-PAID")?["status"] as? String == "paid")
    }

    @Test(.enabled(if: Faults.canMountTmpfs, "mounting a tmpfs needs root"))
    func fullDiskIs503ThenRetriesSucceedOnceThereIsSpace() throws {
        // A webhook endpoint that never answers: paid orders raise events, which stay pending.
        // No disk reserve: this test is about the very last bytes (SafeDefaultsTests has the reserve).
        let stack = try Stack(name: "fault-full", settings: [
            "webhooks": [["url": "http://127.0.0.1:9/hook", "secret": "fault-webhook-secret-0123"]], "disk_reserve_mb": 0,
        ])
        defer { stack.stop() }
        try stack.createOrder("FULL-A", amount: 15000)
        try stack.createOrder("FULL-B", amount: 15000)
        // The data folder moves onto a 4 MiB tmpfs (Cross stopped meanwhile), then a ballast fills it.
        let disk = try DataMount.tmpfs(stack, size: "4m")
        defer { disk.release() }
        let steps = (0..<8).map { "FULL-STEP-\($0)" }
        for ref in steps { try stack.createOrder(ref, amount: 15000) }
        #expect(try HTTPClient.get(stack.port, Stack.notification("FULL-A", payid: "PAY-A")).status == 200)
        let ballast = try disk.fill()
        #expect(disk.freeBytes() < 4096, "the disk is full")

        let before = try disk.orderBytes("FULL-B")
        let creation = try Faults.create(stack, "FULL-NEW")
        #expect(creation.status == 503, "\(creation.status) \(creation.text)")
        #expect(creation.text.contains("try again"))
        let paying = Stack.notification("FULL-B", payid: "PAY-B")
        let notification = try HTTPClient.get(stack.port, paying)
        #expect(notification.status == 503, "\(notification.status) \(notification.text)")
        let refusing = Stack.notification("FULL-A", status: "NOK", payid: "NOK-A", error: "CANCEL")
        #expect(try HTTPClient.get(stack.port, refusing).status == 503)
        #expect(try disk.orderBytes("FULL-B") == before, "the order is unchanged")
        #expect(try stack.order("FULL-B")?["status"] as? String == "pending")
        #expect(try stack.order("FULL-NEW") == nil)
        #expect(try stack.order("FULL-A")?["status"] as? String == "paid")
        let log = stack.cross!.log
        #expect(log.contains("storage unavailable"))
        #expect(log.contains("No space left on device"))
        #expect(!log.contains("status=500"), "never a 500")

        // Nearly full: a few pages free at a time. Each request is answered 2xx with its change made, or 503
        // with nothing changed; never anything else, never a half-written file.
        var answers: [Int] = []
        for (pages, ref) in steps.enumerated() {
            try ballast.leave(pages: pages + 1)
            let bytes = try disk.orderBytes(ref)
            let answer = try HTTPClient.get(stack.port, Stack.notification(ref, payid: "PAY-" + ref)).status
            answers.append(answer)
            let order = try #require(try stack.order(ref))
            switch answer {
            case 200: #expect(order["status"] as? String == "paid", "\(ref) answered 200")
            case 503:
                #expect(try disk.orderBytes(ref) == bytes, "\(ref) answered 503 yet its file changed")
                #expect(order["status"] as? String == "pending", "\(ref) answered 503")
            default: Issue.record("\(ref) with \(pages + 1) pages free: \(answer)")
            }
            try ballast.leave(pages: 0)
        }
        // Creations with one page free, many times over: some of them need a second page (for the index
        // line, when the index grows into a new page), after the order file took the first.
        var refusedCreations: [String] = []
        for index in 0..<60 {
            let ref = "FULL-NEAR-\(index)"
            try ballast.leave(pages: 1)
            let answer = try Faults.create(stack, ref).status
            let exists = try stack.order(ref) != nil
            switch answer {
            case 201: #expect(exists, "\(ref) answered 201")
            case 503:
                #expect(!exists, "\(ref) answered 503, yet the order was created")
                refusedCreations.append(ref)
            default: Issue.record("\(ref) with 1 page free: \(answer)")
            }
            try ballast.leave(pages: 0)
        }
        // One page is enough for a creation: were it not, every one of them would be refused. A background write
        // (the courier saving a failed delivery, a checkpoint) may take that page at the moment of a creation now
        // and then, which is a 503 with nothing made: the checks above.
        #expect(refusedCreations.count <= 6, "a full disk needs no more than one page for a creation here: \(refusedCreations)")
        #expect(stack.cross!.log.contains("change saved, but its webhook event or index line was not"))
        // A restart on the full disk: Cross starts (recovery cannot write the index lines it owes; it says so
        // and leaves its checkpoint), reads work, writes are 503s.
        stack.cross!.stop()
        try stack.startCross()
        try stack.waitUntilReady()
        #expect(stack.cross!.log.contains("recovery incomplete"))
        #expect(try stack.order("FULL-A")?["status"] as? String == "paid")
        #expect(try Faults.create(stack, "FULL-NEW").status == 503)
        try disk.expectNothingHalfWritten()

        // Space again: the refused requests are simply sent again.
        try ballast.remove()
        #expect(try Faults.create(stack, "FULL-NEW").status == 201)
        for ref in refusedCreations { #expect(try Faults.create(stack, ref).status == 201, "\(ref) again") }
        #expect(try HTTPClient.get(stack.port, paying).status == 200)
        #expect(try HTTPClient.get(stack.port, refusing).status == 200)
        #expect(try stack.order("FULL-B")?["status"] as? String == "paid")
        #expect(try stack.order("FULL-NEW")?["status"] as? String == "pending")
        #expect(try stack.order("FULL-A")?["notifications"] as? Int == 2)
        for (ref, answer) in zip(steps, answers) where answer == 503 {
            #expect(try HTTPClient.get(stack.port, Stack.notification(ref, payid: "PAY-" + ref)).status == 200)
            #expect(try stack.order(ref)?["status"] as? String == "paid")
        }
        // The next recovery (here at a restart) makes the index lines and webhook events that were owed.
        stack.cross!.stop()
        try stack.startCross()
        try stack.waitUntilReady()
        #expect(!stack.cross!.log.contains("recovery incomplete"))
        try disk.expectNothingHalfWritten()
        let index = try disk.indexRevisions()
        for ref in ["FULL-A", "FULL-B", "FULL-NEW"] + steps + (0..<60).map({ "FULL-NEAR-\($0)" }) {
            let order = try #require(try stack.order(ref), "\(ref)")
            let key = try #require(try Faults.orderFile(stack, ref).map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension })
            #expect(index[key] == 1 + (order["notifications"] as! Int) + (order["attempts"] as! Int), "index line of \(ref)")
            if order["status"] as? String == "paid" {
                #expect(disk.eventExists(key + "-0000000002"), "order.paid event of \(ref)")
            }
        }
    }

    // MARK: - A read-only disk

    /// `mount -o remount,ro` is refused (EBUSY) while Cross holds its journal open for writing, as it always
    /// does. What turns a data folder read-only under a running program is the kernel, after a filesystem
    /// error (`errors=remount-ro`): that is what this test does, on an ext4 image on a loop device.
    @Test(.enabled(if: Faults.canMountLoopExt4, "needs root, loop devices and mkfs.ext4"))
    func readOnlyDiskIs503WithTheOrderUnchangedAndALogLine() throws {
        let stack = try Stack(name: "fault-ro", settings: ["disk_reserve_mb": 0])
        defer { stack.stop() }
        let disk = try DataMount.ext4(stack, megabytes: 16)
        defer { disk.release() }
        try stack.createOrder("RO-1")
        #expect(try HTTPClient.get(stack.port, Stack.notification("RO-1", status: "NOK", payid: "", error: "CANCEL")).status == 200)
        let before = try disk.orderBytes("RO-1")

        try disk.failFilesystem()
        #expect(disk.isReadOnly)
        let paying = Stack.notification("RO-1", payid: "PAY-RO")
        let notification = try HTTPClient.get(stack.port, paying)
        #expect(notification.status == 503, "\(notification.status) \(notification.text)")
        let creation = try Faults.create(stack, "RO-2")
        #expect(creation.status == 503, "\(creation.status) \(creation.text)")
        #expect(try disk.orderBytes("RO-1") == before, "the order is unchanged")
        #expect(try stack.order("RO-1")?["status"] as? String == "cancelled", "reading still works")
        usleep(100_000)
        let log = stack.cross!.log
        #expect(log.contains("storage unavailable"))
        #expect(log.contains("Read-only file system"), "the log says why")
        #expect(!log.contains("status=500"), "never a 500")

        // Started on a read-only data folder, Cross refuses to start and says why.
        stack.cross!.stop()
        try disk.remount(readOnly: true)
        try stack.startCross()
        #expect(stack.cross!.wait(timeout: 20) == 1)
        #expect(stack.cross!.log.contains("Read-only file system"), "\(stack.cross!.log)")

        // Repaired and writable again: the same notification, sent again, is taken.
        try disk.remount(readOnly: false)
        try stack.startCross()
        try stack.waitUntilReady()
        #expect(try HTTPClient.get(stack.port, paying).status == 200)
        #expect(try Faults.create(stack, "RO-2").status == 201)
        #expect(try stack.order("RO-1")?["status"] as? String == "paid")
        try disk.expectNothingHalfWritten()
    }

    // MARK: - Damaged files

    /// A journal Cross cannot open (here a folder in its place; a read-only disk, a permission, alike): Cross
    /// stops at once with a message naming it. It used to hang there for ever, deaf to SIGTERM.
    @Test func journalThatCannotBeOpenedStopsCrossWithAMessage() throws {
        let stack = try Stack(name: "fault-journal")
        defer { stack.stop() }
        stack.cross!.stop()
        let journal = stack.dataDirectory + "/journal/segment-000001.jsonl"
        try FileManager.default.removeItem(atPath: journal)
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: false)
        try stack.startCross()
        #expect(stack.cross!.wait(timeout: 20) == 1, "Cross stops rather than hanging")
        #expect(stack.cross!.log.contains("cannot open the journal \(journal)"), "\(stack.cross!.log)")
        #expect(stack.cross!.log.contains("Is a directory"))
    }

    @Test func tornJournalLineIsReportedAndNewRecordsStartOnTheirOwnLine() throws {
        let stack = try Stack(name: "fault-torn")
        defer { stack.stop() }
        try stack.createOrder("TORN-1")
        try stack.createOrder("TORN-2")
        #expect(try HTTPClient.get(stack.port, Stack.notification("TORN-1")).status == 200)
        stack.cross!.stop()
        let journal = stack.dataDirectory + "/journal/segment-000001.jsonl"
        let complete = try Data(contentsOf: URL(fileURLWithPath: journal))
        // Half of the last record again, with no line break: a write cut short.
        let lastLine = complete.dropLast().split(separator: UInt8(ascii: "\n")).last!
        let half = Data(lastLine.prefix(lastLine.count / 2))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: journal))
        try handle.seekToEnd()
        try handle.write(contentsOf: half)
        try handle.close()

        try stack.startCross()
        try stack.waitUntilReady()
        let log = try Faults.waitForLog(stack, "journal line skipped")
        #expect(log.contains("offset=\(complete.count)"), "the log names where: \(log)")
        #expect(log.contains("damaged_journal_lines=1"))
        #expect(try HTTPClient.get(stack.port, Stack.notification("TORN-2")).status == 200)
        #expect(try stack.order("TORN-2")?["status"] as? String == "paid")
        #expect(try stack.order("TORN-1")?["status"] as? String == "paid")

        let after = try Data(contentsOf: URL(fileURLWithPath: journal))
        #expect(after.prefix(complete.count + half.count) == complete + half, "nothing before is rewritten")
        let lines = after.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        #expect(lines.last?.isEmpty == true, "the journal ends with a line break")
        let unreadable = lines.dropLast().filter { (try? JSONSerialization.jsonObject(with: Data($0))) == nil }
        #expect(unreadable.map { Data($0) } == [half], "only the torn line does not parse: it is on a line of its own")
        #expect(lines.contains { String(decoding: $0, as: UTF8.self).contains("\"ref\":\"TORN-2\"") && String(decoding: $0, as: UTF8.self).contains("event.applied") })
        // The next start reads past it again, still without stopping.
        stack.cross!.stop()
        try stack.startCross()
        try stack.waitUntilReady()
        #expect(try stack.order("TORN-2")?["status"] as? String == "paid")
    }

    @Test func truncatedOrderFileIsReportedAndNeverOverwritten() throws {
        let stack = try Stack(name: "fault-cut")
        defer { stack.stop() }
        try stack.createOrder("CUT-1", extra: ["description": "Sac de riz 25 kg"])
        #expect(try HTTPClient.get(stack.port, Stack.notification("CUT-1", status: "NOK", payid: "", error: "CANCEL")).status == 200)
        // A restart checkpoints the journal: CUT-1's records are behind the checkpoint, so recovery has nothing
        // to restore it from.
        stack.cross!.stop()
        try stack.startCross()
        try stack.waitUntilReady()
        stack.cross!.stop()
        let path = try #require(try Faults.orderFile(stack, "CUT-1"))
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        let cut = try Data(contentsOf: URL(fileURLWithPath: path))

        try stack.startCross()
        try stack.waitUntilReady()
        let log = try Faults.waitForLog(stack, "order file damaged")
        #expect(log.contains(path), "the log names the file: \(log)")

        let show = try Faults.cross(["orders", "show", "CUT-1", "--config", stack.configPath])
        #expect(show.status != 0)
        #expect(show.errors.contains(path), "\(show.errors)")
        #expect(show.errors.contains("damaged"))
        let list = try Faults.cross(["orders", "list", "--config", stack.configPath])
        #expect(list.status != 0)
        #expect(list.errors.contains(path))

        let notification = try HTTPClient.get(stack.port, Stack.notification("CUT-1"))
        #expect(notification.status >= 500, "\(notification.status) \(notification.text)")
        #expect(notification.status != 503, "not a passing storage problem: a retry will not help")
        // The notification is not lost: it is in the journal, refused with the answer it got.
        let journal = try String(contentsOfFile: stack.dataDirectory + "/journal/segment-000001.jsonl", encoding: .utf8)
        let refused = journal.split(separator: "\n").filter { $0.contains("\"kind\":\"call.refused\"") && $0.contains("CUT-1") }
        #expect(refused.count == 1 && refused[0].contains("\"answer\":500") && refused[0].contains("damaged"), "\(refused)")
        let read = try HTTPClient.request(port: stack.port, method: "GET", target: "/api/orders/CUT-1", headers: [("Authorization", "Bearer " + Stack.apiKey)])
        #expect(read.status == 500, "\(read.status)")
        let creation = try Faults.create(stack, "CUT-1", description: "Sac de riz 25 kg")
        #expect(creation.status == 500, "never a new order over it: \(creation.status)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == cut, "the file's bytes are unchanged")
        // Nor by recovery at the next start.
        stack.cross!.stop()
        try stack.startCross()
        try stack.waitUntilReady()
        _ = try Faults.waitForLog(stack, "order file damaged")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == cut, "the file's bytes are unchanged")
    }
}

// MARK: - Helpers

enum Faults {
    static let canMountTmpfs: Bool = {
        let point = NSTemporaryDirectory() + "cross-tests/mount-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: point) }
        guard (try? run(["/bin/mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", point]))?.status == 0 else { return false }
        _ = try? run(["/bin/umount", point])
        return true
    }()

    static let canMountLoopExt4: Bool = {
        guard canMountTmpfs, let mkfs = executable("mkfs.ext4"), executable("e2fsck") != nil else { return false }
        let directory = NSTemporaryDirectory() + "cross-tests/loop-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory + "/point", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard FileManager.default.createFile(atPath: directory + "/image", contents: nil),
              truncate(directory + "/image", 4 << 20) == 0,
              (try? run([mkfs, "-q", "-F", directory + "/image"]))?.status == 0,
              (try? run(["/bin/mount", "-o", "loop", directory + "/image", directory + "/point"]))?.status == 0 else { return false }
        _ = try? run(["/bin/umount", directory + "/point"])
        return true
    }()

    static func executable(_ name: String) -> String? {
        ["/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct Output {
        let status: Int32
        let output: String
        let errors: String
    }

    @discardableResult
    static func run(_ command: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Both pipes are read to the end before waiting: a full pipe would block the child.
        let errorData = Box(Data())
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errorData.value = errors.fileHandleForReading.readDataToEndOfFile() }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            errors: String(decoding: errorData.value, as: UTF8.self))
    }

    /// Runs the `cross` executable.
    static func cross(_ arguments: [String]) throws -> Output {
        try run([Stack.crossBinary] + arguments)
    }

    /// Creates an order through the API and returns the answer as it is (the stack's helper throws on a non-2xx).
    static func create(_ stack: Stack, _ ref: String, description: String? = nil) throws -> HTTPResult {
        var fields: [String: Any] = ["purchaseref": ref, "amount": 15000]
        if let description { fields["description"] = description }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
        return try HTTPClient.json(stack.port, "POST", "/api/orders", body, apiKey: Stack.apiKey)
    }

    /// The order file of `ref`, found by reading the files (not by asking Cross how it names them).
    static func orderFile(_ stack: Stack, _ ref: String) throws -> String? {
        let orders = stack.dataDirectory + "/orders"
        for shard in try FileManager.default.contentsOfDirectory(atPath: orders).sorted() {
            for file in try FileManager.default.contentsOfDirectory(atPath: orders + "/" + shard) where file.hasSuffix(".json") {
                let path = orders + "/" + shard + "/" + file
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["purchaseref"] as? String == ref {
                    return path
                }
            }
        }
        return nil
    }

    /// Cross's log once it holds `text` (some lines come from a background thread), within 10 seconds.
    static func waitForLog(_ stack: Stack, _ text: String) throws -> String {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let log = stack.cross!.log
            if log.contains(text) { return log }
            usleep(50_000)
        }
        Issue.record("no \"\(text)\" in the log: \(stack.cross!.log)")
        return stack.cross!.log
    }
}

/// A value handed over by another thread (read after it is done).
final class Box<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// The stack's data folder on a filesystem of its own, mounted in the stack's run folder: Cross is stopped,
/// the folder's content is copied onto the new filesystem, and Cross is started again on it.
final class DataMount {
    let stack: Stack
    let point: String
    let image: String?
    private var released = false

    private init(stack: Stack, image: String?, mount: [String]) throws {
        self.stack = stack
        self.image = image
        point = stack.dataDirectory
        stack.cross!.stop()
        let saved = stack.runDirectory + "/data-before-mount"
        try FileManager.default.moveItem(atPath: point, toPath: saved)
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: false)
        try Self.check(Faults.run(mount + [point]))
        try Self.check(Faults.run(["/bin/cp", "-a", saved + "/.", point + "/"]))
        try stack.startCross()
        try stack.waitUntilReady()
    }

    static func tmpfs(_ stack: Stack, size: String) throws -> DataMount {
        try DataMount(stack: stack, image: nil, mount: ["/bin/mount", "-t", "tmpfs", "-o", "size=\(size),mode=755", "tmpfs"])
    }

    /// ext4 on a loop device, made to turn read-only on its first error, as production filesystems are.
    static func ext4(_ stack: Stack, megabytes: Int) throws -> DataMount {
        let image = stack.runDirectory + "/data.ext4"
        _ = FileManager.default.createFile(atPath: image, contents: nil)
        guard truncate(image, off_t(megabytes) << 20) == 0 else { throw HTTPClientError(description: "cannot size \(image)") }
        try check(Faults.run([Faults.executable("mkfs.ext4")!, "-q", "-F", image]))
        return try DataMount(stack: stack, image: image, mount: ["/bin/mount", "-o", "loop,errors=remount-ro", image])
    }

    private static func check(_ output: Faults.Output) throws {
        guard output.status == 0 else { throw HTTPClientError(description: "command failed (\(output.status)): \(output.errors)") }
    }

    func freeBytes() -> Int {
        var info = statvfs()
        guard statvfs(point, &info) == 0 else { return -1 }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Whether creating a file in the folder fails with EROFS (an ext4 turned read-only by an error does not
    /// show it in statvfs's flags).
    var isReadOnly: Bool {
        let probe = point + "/write-probe"
        let fd = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        if fd >= 0 {
            close(fd)
            unlink(probe)
            return false
        }
        return errno == EROFS
    }

    func orderBytes(_ ref: String) throws -> Data {
        guard let path = try Faults.orderFile(stack, ref) else { throw HTTPClientError(description: "no file for \(ref)") }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// A file that takes every free byte of the filesystem; `leave(pages:)` gives some back.
    final class Ballast {
        let path: String
        let fd: Int32
        private(set) var size: Int = 0
        private var fullSize: Int = 0

        init(path: String) throws {
            self.path = path
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw HTTPClientError(description: "cannot create \(path)") }
            try grow()
            fullSize = size
        }

        private func grow() throws {
            let chunk = [UInt8](repeating: 0xA5, count: 4096)
            while true {
                let written = chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(size)) }
                if written > 0 {
                    size += written
                    continue
                }
                if written < 0 && errno == EINTR { continue }
                guard written < 0 && errno == ENOSPC else { throw HTTPClientError(description: "ballast: \(String(cString: strerror(errno)))") }
                return
            }
        }

        /// Shrinks the ballast so that about `pages` pages of 4 KiB are free (0: full again).
        func leave(pages: Int) throws {
            try grow()
            fullSize = max(fullSize, size)
            guard pages > 0 else { return }
            size = max(0, size - pages * 4096)
            guard ftruncate(fd, off_t(size)) == 0 else { throw HTTPClientError(description: "ballast: \(String(cString: strerror(errno)))") }
        }

        func remove() throws {
            close(fd)
            try FileManager.default.removeItem(atPath: path)
        }
    }

    /// The latest revision the dashboard index holds for each order key (`index/orders.tsv`: key, revision, …).
    func indexRevisions() throws -> [String: Int] {
        let text = try String(contentsOfFile: point + "/index/orders.tsv", encoding: .utf8)
        var latest: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 9, let revision = Int(fields[1]) else { continue }
            latest[String(fields[0])] = max(latest[String(fields[0])] ?? 0, revision)
        }
        return latest
    }

    func eventExists(_ id: String) -> Bool {
        ["pending", "sent/" + id.prefix(3), "failed"].contains { FileManager.default.fileExists(atPath: point + "/outbox/\($0)/\(id).json") }
    }

    func fill() throws -> Ballast { try Ballast(path: point + "/ballast") }

    /// Makes the kernel see an error on the ext4 filesystem, which (errors=remount-ro) it turns read-only at once.
    func failFilesystem() throws {
        let device = try mountSource()
        let name = (device as NSString).lastPathComponent
        try "fault test\n".write(toFile: "/sys/fs/ext4/\(name)/trigger_fs_error", atomically: false, encoding: .utf8)
    }

    private func mountSource() throws -> String {
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        guard let line = mounts.split(separator: "\n").last(where: { $0.split(separator: " ").dropFirst().first.map(String.init) == point }) else {
            throw HTTPClientError(description: "\(point) is not mounted")
        }
        return String(line.split(separator: " ")[0])
    }

    /// Unmounts, repairs (ext4) and mounts again, read-only or writable. Cross must not be running.
    func remount(readOnly: Bool) throws {
        if let image {
            try Self.check(Faults.run(["/bin/umount", point]))
            // e2fsck exits 1 when it fixed something: the error this test caused.
            let repair = try Faults.run([Faults.executable("e2fsck")!, "-f", "-y", image])
            guard repair.status <= 1 else { throw HTTPClientError(description: "e2fsck: \(repair.status) \(repair.output)") }
            try Self.check(Faults.run(["/bin/mount", "-o", "loop,errors=remount-ro" + (readOnly ? ",ro" : ""), image, point]))
        } else {
            try Self.check(Faults.run(["/bin/mount", "-o", "remount," + (readOnly ? "ro" : "rw"), point]))
        }
    }

    /// Every order file and outbox event parses, every journal line parses, no temporary file is left.
    func expectNothingHalfWritten(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let enumerator = FileManager.default.enumerator(atPath: point)
        while let relative = enumerator?.nextObject() as? String {
            let path = point + "/" + relative
            if relative.hasPrefix("orders/") || relative.hasPrefix("outbox/") {
                let temporary = relative.contains(".tmp.") || relative.hasPrefix("outbox/tmp/")
                #expect(!temporary, "left behind: \(relative)", sourceLocation: sourceLocation)
                if relative.hasSuffix(".json") {
                    let data = try Data(contentsOf: URL(fileURLWithPath: path))
                    #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "does not parse: \(relative)", sourceLocation: sourceLocation)
                }
            }
        }
        let journal = try Data(contentsOf: URL(fileURLWithPath: point + "/journal/segment-000001.jsonl"))
        #expect(journal.last == UInt8(ascii: "\n"), "the journal ends with a whole line", sourceLocation: sourceLocation)
        for line in journal.split(separator: UInt8(ascii: "\n")) {
            #expect((try? JSONSerialization.jsonObject(with: Data(line))) != nil, "journal line: \(String(decoding: line, as: UTF8.self))", sourceLocation: sourceLocation)
        }
    }

    /// Stops Cross (it holds files open on the filesystem) and unmounts. Safe to call twice.
    func release() {
        guard !released else { return }
        released = true
        stack.cross?.stop()
        if (try? Faults.run(["/bin/umount", point]))?.status != 0 {
            _ = try? Faults.run(["/bin/umount", "-l", point])
        }
    }

    deinit { release() }
}
