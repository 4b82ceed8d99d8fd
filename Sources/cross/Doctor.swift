import ArgumentParser
import CrossApp
import Foundation

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a configuration, the data folder, the journal, the nginx socket and the operators' servers.",
        discussion: """
            One line per check: ok, warn or FAIL, with what explains it. Exit 0 when nothing failed, 1 otherwise. \\
            Run it as the user Cross runs as (sudo -u cross cross doctor --config /etc/cross/cross.json).
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: "The socket nginx speaks FastCGI to, as given to `cross serve --listen` (a path or 127.0.0.1:PORT).")
    var socket: String?

    @Flag(help: "Read the configuration as development does (no production checks).")
    var dev = false

    @Flag(help: "Do not call the operators' servers.")
    var offline = false

    func run() throws {
        var verdicts: [Doctor.Verdict] = []
        func report(_ new: [Doctor.Verdict]) {
            for verdict in new { print(verdict.line) }
            verdicts += new
        }
        let (verdict, configuration) = Doctor.configuration(path: config.path, mode: dev ? .development : .production)
        report([verdict])
        if let configuration {
            report(Doctor.dataFolder(configuration.dataDirectory, reserveBytes: configuration.diskReserveBytes))
            if !offline { report(Doctor.gateways(configuration)) }
        }
        if let socket { report([Doctor.socket(socket)]) }
        let failed = verdicts.filter { $0.level == .fail }.count
        let warned = verdicts.filter { $0.level == .warn }.count
        print("\(verdicts.count) checks: \(failed) failed, \(warned) warning\(warned == 1 ? "" : "s")")
        if failed > 0 { throw ExitCode(1) }
    }
}
