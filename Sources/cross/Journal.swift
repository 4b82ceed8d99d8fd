import ArgumentParser
import CrossApp
import FlatFileStore
import Foundation
import OrderStorage

/// `cross journal …`: the journal's segments, read from the outside (they work on a journal the store refuses to
/// open, to say what is wrong with it).
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal", abstract: "The journal of every change: its segments, and a check against the order files.",
        subcommands: [List.self, Verify.self, Forget.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Segments: size, first and last record, open, closed or removed; and whatever is wrong.",
            discussion: "Exit status 2 when a segment is missing or the checkpoint lies past its segment's end (Cross then refuses to start).")

        @OptionGroup var config: ConfigOption

        func run() throws {
            let inspection = JournalInspection(dataDirectory: try config.load().dataDirectory)
            let (segments, problems): ([JournalSegmentInfo], [String])
            do { (segments, problems) = try inspection.segments() } catch { throw fail("\(error)") }
            print("segment               state    bytes         first record          last record")
            for segment in segments {
                print(pad(segment.name, 20) + "  " + pad(segment.state.rawValue, 7) + "  " + pad(segment.bytes.map(String.init) ?? "-", 12, right: true)
                    + "  " + pad(segment.firstAt?.iso8601 ?? "-", 20) + "  " + (segment.lastAt?.iso8601 ?? "-"))
            }
            if let checkpoint = inspection.checkpoint {
                print("checkpoint            segment \(checkpoint.segment), offset \(checkpoint.offset)")
            } else {
                print("checkpoint            none")
            }
            for problem in problems { FileHandle.standardError.write(Data("cross: \(problem)\n".utf8)) }
            if !problems.isEmpty { throw ExitCode(2) }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that every line parses and every change is in its order file.",
            discussion: """
                Reads every segment there. A change is in its order file when the file's revision is at least the
                change's. Exit status 2 with the list when a line is damaged, a file is behind or missing, or a
                segment is missing; a line cut short by a crash (recovery skips it) is listed but is no failure.
                Safe while Cross runs.
                """)

        @OptionGroup var config: ConfigOption

        func run() throws {
            let inspection = JournalInspection(dataDirectory: try config.load().dataDirectory)
            let result: JournalVerification
            do { result = try inspection.verify() } catch { throw fail("\(error)") }
            print("segments     \(result.segmentsRead)")
            print("records      \(result.records) (\(result.changes) changes of \(result.orders) orders)")
            for place in result.torn { print("cut short    \(place) (a write a crash interrupted; skipped by recovery)") }
            for place in result.unparsed { print("DAMAGED      \(place): the line does not parse") }
            for behind in result.behind {
                print("BEHIND       \(behind.ref): the journal has revision \(behind.journalRevision), \(behind.path) \(behind.file)")
            }
            for problem in result.problems { print("MISSING      \(problem)") }
            if result.passed {
                print("verdict      ok: every line parses, every change is in its order file")
            } else {
                print("verdict      FAILED: \(result.unparsed.count) damaged lines, \(result.behind.count) order files behind, \(result.problems.count) segment problems")
                throw ExitCode(2)
            }
        }
    }

    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a closed segment lost by hand as gone, so that Cross starts again.",
            discussion: """
                Only for a segment wholly before the checkpoint (every change in it is in the order files); the
                payment record it held is lost. A segment the checkpoint still needs cannot be forgotten: put it back.
                """)

        @OptionGroup var config: ConfigOption

        @Argument(help: "The segment's number (3 for segment-000003.jsonl).")
        var segment: Int

        func run() throws {
            let inspection = JournalInspection(dataDirectory: try config.load().dataDirectory)
            do { try inspection.forget(segment) } catch { throw fail("\(error)") }
            print("segment \(segment) recorded as lost")
        }
    }
}
