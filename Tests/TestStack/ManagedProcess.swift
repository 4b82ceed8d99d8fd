import Foundation

/// A child process a test started: its output goes to a log file, and it is killed if the test forgets.
public final class ManagedProcess: @unchecked Sendable {
    public let name: String
    public let logPath: String
    private let process = Process()

    /// `standardInput` is handed to the child as its fd 0 (a listening socket, as spawn-fcgi does).
    public init(
        name: String, executable: String, arguments: [String], logPath: String, environment: [String: String] = [:],
        standardInput: FileHandle? = nil
    ) throws {
        self.name = name
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = standardInput ?? FileHandle.nullDevice
        // A child inherits the signal mask of the thread that starts it, and the test runner's threads may
        // block SIGTERM: unblocked for the child, so that `stop()` stops it rather than waiting to kill it.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        var previous = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &signals, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to end; nil when it is still running after `timeout` seconds.
    @discardableResult
    public func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it has not ended within `grace` seconds.
    public func stop(grace: Double = 10) {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if wait(timeout: grace) == nil {
            signal(SIGKILL)
            wait(timeout: 5)
        }
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }
}
