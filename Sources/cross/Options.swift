import ArgumentParser
import CrossApp
import FastCGI
import Foundation
import FlatFileStore

/// `--config`, shared by every subcommand that reads Cross's settings.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $CROSS_CONFIG, else config/cross.dev.json).")
    var config: String?

    var path: String {
        config ?? ProcessInfo.processInfo.environment["CROSS_CONFIG"] ?? "config/cross.dev.json"
    }

    /// The configuration, or a message naming the bad key and exit 1.
    func load() throws -> Configuration {
        do {
            return try Configuration.load(path: path)
        } catch {
            FileHandle.standardError.write(Data("cross: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func openStore(_ configuration: Configuration) throws -> FlatFileStore {
        do {
            return try FlatFileStore(directory: configuration.dataDirectory)
        } catch {
            FileHandle.standardError.write(Data("cross: \(error)\n".utf8))
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
        ServerOptions(
            listen: try ListenAddress(parsing: listen), workers: workers, maxBodyBytes: maxBody,
            unixSocketMode: mode_t(socketMode, radix: 8)!)
    }
}
