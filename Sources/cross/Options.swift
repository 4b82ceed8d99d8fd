import ArgumentParser
import CrossApp
import FastCGI
import Foundation
import FlatFileStore
import Logging

/// `--config`, shared by every subcommand that reads Cross's settings.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $CROSS_CONFIG; for the tools, else config/cross.dev.json).")
    var config: String?

    /// The file named, if one is.
    var named: String? { config ?? ProcessInfo.processInfo.environment["CROSS_CONFIG"] }

    static let development = "config/cross.dev.json"

    /// The tools read the development configuration when none is named (run from the repository).
    var path: String { named ?? Self.development }

    /// The configuration, or a message naming the bad key and exit 1. The tools (`orders`, `webhooks`, …) read
    /// files without serving anything: the production checks are `cross serve`'s.
    func load(path: String? = nil, mode: RunMode = .development) throws -> Configuration {
        do {
            return try Configuration.load(path: path ?? self.path, mode: mode)
        } catch {
            FileHandle.standardError.write(Data("cross: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The store, or its error and exit 1: on standard error for the tools, as a critical log line for `serve`
    /// (a journal segment missing stops Cross here, before it serves anything).
    func openStore(_ configuration: Configuration, logger: Logger? = nil) throws -> FlatFileStore {
        do {
            return try FlatFileStore(
                directory: configuration.dataDirectory, reserveBytes: configuration.diskReserveBytes,
                journal: JournalSettings(segmentBytes: configuration.journalSegmentBytes, retentionSeconds: configuration.journalRetentionSeconds))
        } catch {
            if let logger {
                logger.critical("cannot start: the data folder cannot be opened", metadata: ["error": "\(error)"])
            } else {
                FileHandle.standardError.write(Data("cross: \(error)\n".utf8))
            }
            throw ExitCode(1)
        }
    }
}

func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    FileHandle.standardError.write(Data("cross: \(message)\n".utf8))
    return ExitCode(code)
}

/// How a FastCGI responder listens and how many workers it runs: shared by `serve` and `sandbox`.
struct ListenOptions: ParsableArguments {
    @Option(help: "Where to listen: a unix socket path, 127.0.0.1:PORT, or fd:0 when started by spawn-fcgi.")
    var listen: String = "fd:0"

    @Option(help: "Worker threads, each serving one connection at a time.")
    var workers: Int = ServerOptions.defaultWorkers

    @Option(help: "Largest request body in bytes; larger bodies get 413.")
    var maxBody: Int = 64 * 1024

    @Option(help: "Permissions of the unix socket, in octal.")
    var socketMode: String = "660"

    func validate() throws {
        guard (1...1024).contains(workers) else { throw ValidationError("--workers must be 1 to 1024") }
        guard maxBody > 0 else { throw ValidationError("--max-body must be positive") }
        guard UInt16(socketMode, radix: 8) != nil else { throw ValidationError("--socket-mode must be octal, such as 660") }
    }

    func serverOptions() throws -> ServerOptions {
        let address = try ListenAddress(parsing: listen)
        // FastCGI has no authentication: a responder open on every interface serves anyone who finds it.
        if case .tcp(let host, _) = address, ["0.0.0.0", "::", "0:0:0:0:0:0:0:0"].contains(host) {
            throw fail("--listen \(listen) opens FastCGI on every interface; give a unix socket or 127.0.0.1:PORT")
        }
        return ServerOptions(listen: address, workers: workers, maxBodyBytes: maxBody, unixSocketMode: mode_t(socketMode, radix: 8)!)
    }
}

/// `text` padded with spaces to `width` characters, on the left when `right` (a column of the command line's tables).
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}
