import ArgumentParser
import CrossApp
import FlatFileStore
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
            report([journal(configuration.dataDirectory)])
            if !offline { report(Doctor.gateways(configuration)) }
        }
        if let socket { report([Doctor.socket(socket)]) }
        let failed = verdicts.filter { $0.level == .fail }.count
        let warned = verdicts.filter { $0.level == .warn }.count
        print("\(verdicts.count) checks: \(failed) failed, \(warned) warning\(warned == 1 ? "" : "s")")
        if failed > 0 { throw ExitCode(1) }
    }

    /// The journal's segments and checkpoint as `cross serve` will find them at start (a segment moved or removed
    /// by hand stops it). Reading every record is `cross journal verify`'s work: on a year's journal it takes a while.
    private func journal(_ dataDirectory: String) -> Doctor.Verdict {
        let inspection = JournalInspection(dataDirectory: dataDirectory)
        do {
            let (segments, problems) = try inspection.segments()
            guard problems.isEmpty else {
                return Doctor.Verdict(.fail, "journal", problems.joined(separator: "; ") + " (see `cross journal list`)")
            }
            let present = segments.filter { $0.bytes != nil }
            let bytes = present.reduce(Int64(0)) { $0 + ($1.bytes ?? 0) }
            let checkpoint = inspection.checkpoint.map { "checkpoint in segment \($0.segment) at byte \($0.offset)" } ?? "no checkpoint yet"
            return Doctor.Verdict(.ok, "journal", "\(present.count) segment\(present.count == 1 ? "" : "s"), \(bytes / (1 << 20)) MB, \(checkpoint); `cross journal verify` reads every record")
        } catch {
            return Doctor.Verdict(.fail, "journal", "\(error)")
        }
    }
}
