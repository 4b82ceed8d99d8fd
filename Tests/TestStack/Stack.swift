import Foundation

/// The real thing, for a test: nginx in front of `cross serve` on free ports, in a run folder of its own.
public final class Stack: @unchecked Sendable {
    public static let root: String = {
        // Tests/TestStack/Stack.swift → the repository.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// The `cross` executable the tests run: the debug build unless CROSS_BINARY says otherwise.
    public static var crossBinary: String {
        ProcessInfo.processInfo.environment["CROSS_BINARY"] ?? root + "/.build/debug/cross"
    }

    public let runDirectory: String
    public let port: UInt16
    public let sandboxPort: UInt16
    public private(set) var cross: ManagedProcess?
    public private(set) var nginx: ManagedProcess?
    public let crossArguments: [String]

    /// Starts nginx and `cross serve` (with `crossArguments` added) and waits until a request goes through.
    public init(name: String, crossArguments: [String] = [], environment: [String: String] = [:]) throws {
        runDirectory = try Self.makeRunDirectory(name)
        port = try FreePort.allocate()
        sandboxPort = try FreePort.allocate()
        self.crossArguments = crossArguments
        try Self.shell([Self.root + "/scripts/nginx-conf", runDirectory, String(port), String(sandboxPort)], output: runDirectory + "/nginx.conf")
        try startCross(environment: environment)
        nginx = try ManagedProcess(
            name: "nginx", executable: "/usr/sbin/nginx",
            arguments: ["-p", runDirectory, "-e", runDirectory + "/logs/error.log", "-c", runDirectory + "/nginx.conf"],
            logPath: runDirectory + "/logs/nginx.out")
        try waitUntilReady()
    }

    public func startCross(environment: [String: String] = [:]) throws {
        cross = try ManagedProcess(
            name: "cross", executable: Self.crossBinary,
            arguments: ["serve", "--listen", runDirectory + "/cross.sock", "--socket-mode", "666"] + crossArguments,
            logPath: runDirectory + "/logs/cross.log",
            environment: ["CROSS_LOG_FLUSH_MS": "0"].merging(environment) { $1 })
    }

    public func waitUntilReady(timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError = ""
        while Date() < deadline {
            if let cross, !cross.isRunning { throw HTTPClientError(description: "cross exited: \(cross.log)") }
            if let result = try? HTTPClient.get(port, "/healthz", timeout: 2), result.status == 200 { return }
            lastError = (try? HTTPClient.get(port, "/healthz", timeout: 2)).map { "status \($0.status)" } ?? "no answer"
            usleep(50_000)
        }
        throw HTTPClientError(description: "the stack did not come up (\(lastError)); cross log: \(cross?.log ?? "")")
    }

    public func stop() {
        cross?.stop()
        nginx?.stop()
    }

    deinit { stop() }

    private static func makeRunDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "cross-tests/\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a command and waits; its standard output goes to `output` when given.
    public static func shell(_ command: [String], output: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if let output {
            FileManager.default.createFile(atPath: output, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        }
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HTTPClientError(description: "\(command.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

public enum FreePort {
    /// A loopback TCP port nobody listens on right now (the kernel picks it).
    public static func allocate() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw HTTPClientError(description: "no free port: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }
}
