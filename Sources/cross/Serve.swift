import ArgumentParser
import CSystem
import CrossApp
import FastCGI
import Foundation
import Logging
import OrderStore

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer FastCGI requests from nginx.")

    @OptionGroup var config: ConfigOption

    @OptionGroup var listening: ListenOptions

    @Option(help: "Seconds between checkpoints of the journal (crash recovery runs at start and then this often).")
    var checkpointSeconds: Int = 60

    @Flag(help: "Also serve /_diagnostics/… routes (large bodies, slow answers) for tests and benchmarks.")
    var diagnostics = false

    func validate() throws {
        guard checkpointSeconds > 0 else { throw ValidationError("--checkpoint-seconds must be positive") }
    }

    func run() throws {
        // Large buffers (a CSV export, a piece of the journal) come from mmap and go back to the system when
        // freed, instead of staying in a worker's malloc arena for the life of the process.
        _ = cross_set_mmap_threshold(256 * 1024)
        Server.blockShutdownSignals()
        LineLogHandler.bootstrap()
        let logger = Logger(label: "cross")
        let configuration = try config.load()
        let store = try config.openStore(configuration)
        do {
            if let report = try store.recover() {
                logger.info("recovery done", metadata: [
                    "journal_records": "\(report.recordsScanned)", "orders_restored": "\(report.ordersRestored.count)",
                    "damaged_journal_lines": "\(report.damagedLines.count)",
                ])
            }
        } catch {
            logger.critical("cannot start: recovery failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        let application = Application(configuration: configuration, store: store, pages: try Pages.bundled(), logger: logger)
        let options = try listening.serverOptions()
        let server: Server
        do {
            let diagnostics = diagnostics
            server = try Server(
                options: options, makeResponder: { application.makeRouter(diagnostics: diagnostics) },
                errorPage: application.errorPage, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        let interval = checkpointSeconds
        Thread.detachNewThread {
            // Damaged order files are reported once at start; then the journal is checkpointed regularly,
            // so that recovery after a crash reads only what changed since.
            // Behind the requests: a checkpoint after a busy minute reads thousands of journal records, and
            // none of it is urgent. (It holds an order's lock only while it checks that one file.)
            _ = cross_lower_thread_priority(10)
            let sweep = store.sweep()
            if !sweep.damagedFiles.isEmpty {
                logger.critical("damaged order files found at start", metadata: ["count": "\(sweep.damagedFiles.count)"])
            }
            while true {
                sleep(UInt32(interval))
                let started = DispatchTime.now().uptimeNanoseconds
                do {
                    if let report = try store.recover(thorough: false), report.recordsScanned > 0 {
                        logger.info("checkpoint", metadata: [
                            "journal_records": "\(report.recordsScanned)", "redone": "\(report.recordsRedone)",
                            "orders_restored": "\(report.ordersRestored.count)",
                            "ms": "\((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)",
                        ])
                    }
                } catch {
                    logger.error("checkpoint failed", metadata: ["error": "\(error)"])
                }
                _ = cross_release_free_memory()
            }
        }
        // Webhook events go out from a thread of their own, woken by each new event: a notification's answer
        // never waits for a merchant's server.
        let courier = WebhookCourier(application: application)
        store.onEvent { courier.wake() }
        courier.start()
        server.run()
    }
}
