import ArgumentParser
import FastCGI
import Foundation
import Logging
import OutboundHTTP
import Sandbox

/// `cross sandbox`: TMoney Online played locally, for development and tests (nginx serves it on 8081).
struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Play TMoney Online, MBANKING and Flooz: session ids, the payment pages, push debits, credits, sandbox accounts, notifications and callbacks.",
        subcommands: [Run.self, Reset.self],
        defaultSubcommand: Run.self
    )

    /// `--config` and `--state`, shared by both subcommands.
    struct Files: ParsableArguments {
        @Option(help: "Merchants and accounts (default: $CROSS_SANDBOX_CONFIG, else config/sandbox.dev.json).")
        var config: String?

        @Option(help: "Balances, blocked accounts, SMS and payments, kept across restarts.")
        var state: String = "run/sandbox-state.json"

        var configPath: String {
            config ?? ProcessInfo.processInfo.environment["CROSS_SANDBOX_CONFIG"] ?? "config/sandbox.dev.json"
        }

        /// The configuration, or a message naming the bad key and exit 1.
        func load() throws -> SandboxConfiguration {
            do {
                return try SandboxConfiguration.load(path: configPath)
            } catch {
                throw fail("\(error)")
            }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve", abstract: "Answer FastCGI requests from nginx as TMoney Online.")

        @OptionGroup var files: Files

        @OptionGroup var server: ListenOptions

        @Option(help: "Seconds a session id lives, overriding the configuration's session_lifetime_seconds (180).")
        var sessionLifetime: Int64?

        @Option(help: "Seconds between sweeps that end abandoned payments with EXPIRED_SESSION and unanswered prompts with ECHEC.")
        var sweepSeconds: Int = 5

        func validate() throws {
            if let sessionLifetime, !(1...86_400).contains(sessionLifetime) {
                throw ValidationError("--session-lifetime must be 1 to 86400 seconds")
            }
            guard (1...3600).contains(sweepSeconds) else { throw ValidationError("--sweep-seconds must be 1 to 3600") }
        }

        func run() throws {
            Server.blockShutdownSignals()
            LineLogHandler.bootstrap()
            let logger = Logger(label: "sandbox")
            var configuration = try files.load()
            if let sessionLifetime { configuration.sessionLifetimeSeconds = sessionLifetime }
            let sandbox: TMoneySandbox
            let pages: SandboxPages
            do {
                pages = try SandboxPages.bundled()
                let courier = NotificationCourier(
                    transport: HTTPNotificationTransport(timeoutSeconds: configuration.notificationTimeoutSeconds), logger: logger)
                let callbacks = CallbackCourier(
                    transport: HTTPCallbackTransport(timeoutSeconds: configuration.notificationTimeoutSeconds), logger: logger)
                sandbox = try TMoneySandbox(
                    configuration: configuration, stateFile: StateFile(path: files.state), words: pages.strings,
                    dispatcher: courier, callbacks: callbacks, logger: logger)
            } catch {
                logger.critical("cannot start", metadata: ["error": "\(error)"])
                throw ExitCode(1)
            }
            let application = SandboxApp(sandbox: sandbox, pages: pages)
            let options = try server.serverOptions()
            let server: Server
            do {
                server = try Server(
                    options: options, makeResponder: { application.makeRouter() }, errorPage: application.errorPage, logger: logger)
            } catch {
                logger.critical("cannot start", metadata: ["error": "\(error)"])
                throw ExitCode(1)
            }
            logger.info("sandbox ready", metadata: [
                "config": "\(files.configPath)", "state": "\(files.state)", "merchants": "\(configuration.merchants.count)",
                "accounts": "\(configuration.accounts.count)", "session_lifetime": "\(configuration.sessionLifetimeSeconds)",
                "mbanking_partners": "\(configuration.mbanking?.partners.count ?? 0)", "flooz_partners": "\(configuration.flooz?.partners.count ?? 0)",
            ])
            let interval = sweepSeconds
            Thread.detachNewThread {
                // A shopper who leaves the payment page still gets the merchant a notification, once it expires;
                // a prompt nobody answers still gets the partner its callback.
                while true {
                    sleep(UInt32(interval))
                    do { try sandbox.expireAbandonedPayments() } catch { logger.error("sweep failed", metadata: ["error": "\(error)"]) }
                    do { try sandbox.expireUnansweredPrompts() } catch { logger.error("prompt sweep failed", metadata: ["error": "\(error)"]) }
                }
            }
            server.run()
            OutboundHTTP.shutDown()
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put every account and partner back at its opening balance, unblocked, and forget SMS, sessions, payments, prompts, MBANKING and Flooz requests, Flooz keys and token indexes.",
            discussion: "Stop the sandbox first: a running one keeps its state in memory and would write it back.")

        @OptionGroup var files: Files

        func run() throws {
            let configuration = try files.load()
            do {
                try StateFile(path: files.state).save(SandboxState(configuration))
            } catch {
                throw fail("\(error)")
            }
            print("sandbox state reset: \(files.state) (\(configuration.accounts.count) accounts and \(configuration.mbanking?.partners.count ?? 0) MBANKING and \(configuration.flooz?.partners.count ?? 0) Flooz partners at their opening balances)")
        }
    }
}
