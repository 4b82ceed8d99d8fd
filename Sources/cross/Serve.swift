import ArgumentParser
import CLinux
import CrossApp
import FastCGI
import FlatFileStore
import Foundation
import Logging
import OutboundHTTP
import Support
import WebPages
import Webhooks

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer FastCGI requests from nginx.")

    @OptionGroup var config: ConfigOption

    @OptionGroup var listening: ListenOptions

    @Option(help: "Seconds between checkpoints of the journal (crash recovery runs at start and then this often).")
    var checkpointSeconds: Int = 60

    @Flag(help: "Also serve /_diagnostics/… routes (large bodies, slow answers) for tests and benchmarks.")
    var diagnostics = false

    @Flag(help: "Development: config/cross.dev.json unless --config names another, no production checks, and TEST MODE on every page.")
    var dev = false

    func validate() throws {
        guard checkpointSeconds > 0 else { throw ValidationError("--checkpoint-seconds must be positive") }
    }

    func run() throws {
        // Large buffers (a CSV export, a piece of the journal) come from mmap and go back to the system when
        // freed, instead of staying in a worker's malloc arena for the life of the process.
        _ = cross_set_mmap_threshold(256 * 1024)
        Server.blockShutdownSignals()
        LineLogHandler.bootstrap()
        // Before any module makes a metric: one made earlier would stay swift-metrics' no-op.
        let metrics = MetricsEndpoint.bootstrap()
        let logger = Logger(label: "cross")
        guard let path = config.named ?? (dev ? ConfigOption.development : nil) else {
            throw fail("no configuration: give --config FILE (or set CROSS_CONFIG); for development, --dev")
        }
        let configuration = try config.load(path: path, mode: dev ? .development : .production)
        var options = try listening.serverOptions()
        if !dev, case .unix = options.listen, options.unixSocketMode & 0o007 != 0 {
            throw fail("--socket-mode \(listening.socketMode) lets every user of this machine speak FastCGI to Cross; give 660 with nginx's group, or --dev")
        }
        if dev {
            logger.warning("TEST MODE: development configuration, no production checks; never for real payments", metadata: ["config": "\(path)"])
        }
        let store = try config.openStore(configuration, logger: logger)
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
        let application = Application(configuration: configuration, store: store, pages: try Pages.bundled(), metrics: metrics, logger: logger)
        options.loggedPath = application.loggedPath
        let server: Server
        do {
            let diagnostics = diagnostics
            server = try Server(
                options: options, makeResponder: { application.makeResponder(diagnostics: diagnostics) },
                errorPage: application.errorPage, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        metrics.addWorkers(of: server)
        // Webhook events go out from a thread of their own, woken by each new event: a notification's answer
        // never waits for a merchant's server.
        let courier = WebhookCourier(settings: configuration.webhookSettings, outbox: store.outbox, links: configuration.links, logger: logger)
        store.onEvent { courier.wake() }
        metrics.addWebhookBacklog(of: courier)
        let jobs: [any BackgroundJob] = [store.maintenance(checkpointSeconds: Double(checkpointSeconds), logger: logger), courier]
            + application.backgroundJobs
        for job in jobs { job.start() }
        server.run()
        for job in jobs where !job.stop(timeout: 5) {
            logger.warning("background job still busy at exit", metadata: ["job": "\(job.name)"])
        }
        OutboundHTTP.shutDown()
        LineLogHandler.flush()
    }
}
