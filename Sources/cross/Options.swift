import ArgumentParser
import CrossApp
import Foundation
import OrderStore

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

    func openStore(_ configuration: Configuration) throws -> OrderStore {
        do {
            return try OrderStore(directory: configuration.dataDirectory)
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
