import ArgumentParser
import CrossApp
import FastCGI
import Foundation
import Logging
import OrderStore

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer FastCGI requests from nginx.")

    @OptionGroup var config: ConfigOption

    @Option(help: "Where to listen: a unix socket path, 127.0.0.1:PORT, or fd:0 when started by spawn-fcgi.")
    var listen: String = "fd:0"

    @Option(help: "Worker threads, each serving one connection at a time.")
    var workers: Int = ServerOptions.defaultWorkers

    @Option(help: "Largest request body in bytes; larger bodies get 413.")
    var maxBody: Int = 64 * 1024

    @Option(help: "Permissions of the unix socket, in octal.")
    var socketMode: String = "660"

    @Option(help: "Seconds between checkpoints of the journal (crash recovery runs at start and then this often).")
    var checkpointSeconds: Int = 60

    @Flag(help: "Also serve /_diagnostics/… routes (large bodies, slow answers) for tests and benchmarks.")
    var diagnostics = false

    func validate() throws {
        guard (1...1024).contains(workers) else { throw ValidationError("--workers must be 1 to 1024") }
        guard maxBody > 0 else { throw ValidationError("--max-body must be positive") }
        guard UInt16(socketMode, radix: 8) != nil else { throw ValidationError("--socket-mode must be octal, such as 660") }
        guard checkpointSeconds > 0 else { throw ValidationError("--checkpoint-seconds must be positive") }
    }

    func run() throws {
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
        let options = ServerOptions(
            listen: try ListenAddress(parsing: listen), workers: workers, maxBodyBytes: maxBody,
            unixSocketMode: mode_t(socketMode, radix: 8)!)
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
            let sweep = store.sweep()
            if !sweep.damagedFiles.isEmpty {
                logger.critical("damaged order files found at start", metadata: ["count": "\(sweep.damagedFiles.count)"])
            }
            while true {
                sleep(UInt32(interval))
                do { try store.recover() } catch { logger.error("checkpoint failed", metadata: ["error": "\(error)"]) }
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
