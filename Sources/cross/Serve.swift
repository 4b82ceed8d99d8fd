import ArgumentParser
import CrossApp
import FastCGI
import Foundation
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer FastCGI requests from nginx.")

    @Option(help: "Where to listen: a unix socket path, 127.0.0.1:PORT, or fd:0 when started by spawn-fcgi.")
    var listen: String = "fd:0"

    @Option(help: "Worker threads, each serving one connection at a time.")
    var workers: Int = ServerOptions.defaultWorkers

    @Option(help: "Largest request body in bytes; larger bodies get 413.")
    var maxBody: Int = 64 * 1024

    @Option(help: "Permissions of the unix socket, in octal.")
    var socketMode: String = "660"

    @Flag(help: "Also serve /_diagnostics/… routes (large bodies, slow answers) for tests and benchmarks.")
    var diagnostics = false

    func validate() throws {
        guard (1...1024).contains(workers) else { throw ValidationError("--workers must be 1 to 1024") }
        guard maxBody > 0 else { throw ValidationError("--max-body must be positive") }
        guard UInt16(socketMode, radix: 8) != nil else { throw ValidationError("--socket-mode must be octal, such as 660") }
    }

    func run() throws {
        Server.blockShutdownSignals()
        LineLogHandler.bootstrap()
        let logger = Logger(label: "cross")
        let pages = try Pages.bundled()
        let (workers, diagnostics) = (workers, diagnostics)
        let application = Application(pages: pages, workers: workers, diagnostics: diagnostics)
        let options = ServerOptions(
            listen: try ListenAddress(parsing: listen), workers: workers, maxBodyBytes: maxBody,
            unixSocketMode: mode_t(socketMode, radix: 8)!)
        let server: Server
        do {
            server = try Server(
                options: options, makeResponder: { Application(pages: pages, workers: workers, diagnostics: diagnostics).router },
                errorPage: application.errorPage, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        server.run()
    }
}
