import ArgumentParser
import CrossApp
import FlatFileStore
import Foundation

/// `cross backup DIR`: a consistent copy of the data folder, taken while Cross runs (see `DataFolderBackup`).
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Copy the data folder, consistently, while Cross runs.",
        discussion: """
            Copies the checkpoint, then the order, payout and outbox files and the index, then the journal up to
            its last complete record. Restore: stop Cross, put the copy in place of the data folder, start Cross
            (its recovery redoes what the copy of the files missed), then `cross journal verify`. The copy holds
            no configuration and no secret: keep those apart (docs/operations.md).
            """)

    @OptionGroup var config: ConfigOption

    @Argument(help: "A new (or empty) folder for the copy.")
    var directory: String

    func run() throws {
        let configuration = try config.load()
        let started = Date()
        let report: DataFolderBackup.Report
        do {
            report = try DataFolderBackup(source: configuration.dataDirectory, destination: directory).run()
        } catch {
            throw fail("\(error)")
        }
        print("backup       \(directory) from \(configuration.dataDirectory)")
        print("files        \(report.files) and \(report.segments) journal segments, \(report.bytes) bytes")
        if let point = report.journalPoint { print("journal to   segment \(point.segment), offset \(point.offset)") }
        print(String(format: "time         %.1f s", Date().timeIntervalSince(started)))
    }
}
