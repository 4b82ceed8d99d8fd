import CFastCGI
import Dispatch
import Foundation
import Logging
import Support
import Synchronization

public struct ServerOptions: Sendable {
    public var listen: ListenAddress
    /// Worker threads, each serving one FastCGI connection at a time. nginx's upstream `keepalive` pool must
    /// stay below this number, or requests queue behind idle kept-alive connections.
    public var workers: Int
    /// Largest request body read; a larger one is answered 413 without reading it.
    public var maxBodyBytes: Int
    /// How long in-flight requests may take to finish after SIGTERM before the process exits anyway.
    public var shutdownGraceSeconds: Double
    /// Permissions of a unix socket (nginx's workers usually run as another user).
    public var unixSocketMode: mode_t
    /// The path as log lines show it: a secret part of a path (a notification path's secret segment) left out.
    public var loggedPath: @Sendable (String) -> String = { $0 }

    public init(
        listen: ListenAddress, workers: Int = ServerOptions.defaultWorkers, maxBodyBytes: Int = 64 * 1024,
        shutdownGraceSeconds: Double = 10, unixSocketMode: mode_t = 0o660
    ) {
        self.listen = listen
        self.workers = workers
        self.maxBodyBytes = maxBodyBytes
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.unixSocketMode = unixSocketMode
    }

    /// Enough threads to keep the cores busy while some wait on disk or on the gateway.
    public static var defaultWorkers: Int { max(16, ProcessInfo.processInfo.activeProcessorCount * 8) }
}

/// Turns a refused or failed request into the response the client sees. The default is plain text; an
/// application passes its own (HTML pages for browsers, JSON for its API).
public typealias ErrorPage = @Sendable (_ error: HTTPError, _ request: Request?) -> Response

/// A FastCGI responder on libfcgi: `workers` threads accept on one listening socket, each with its own
/// heap-allocated `FCGX_Request`, and hand every request to their responder.
///
/// Each worker builds its own responder (and logger) from `makeResponder` at start, so that workers share no
/// reference-counted object on the path of a request: on two cores, two threads taking turns at one reference
/// count cost more than everything else a trivial request does.
public final class Server: Sendable {
    private let options: ServerOptions
    private let makeResponder: @Sendable () -> any Responder
    private let errorPage: ErrorPage
    private let logger: Logger
    private let socket: ListenSocket
    private let stopping = Atomic<Bool>(false)
    private let workers: [Worker]
    private let stopRequested = DispatchSemaphore(value: 0)
    private let workersDone = DispatchGroup()

    /// Binds the socket at once, so that a socket that cannot be bound is reported before anything starts.
    public init(
        options: ServerOptions, makeResponder: @escaping @Sendable () -> any Responder, errorPage: ErrorPage? = nil,
        logger: Logger
    ) throws(ListenError) {
        guard FCGX_Init() == 0 else { throw ListenError("libfcgi failed to initialise") }
        // FCGX_Init installs a SIGPIPE handler; ignoring it outright makes a vanished client a failed write.
        signal(SIGPIPE, SIG_IGN)
        self.options = options
        self.makeResponder = makeResponder
        self.errorPage = errorPage ?? Server.plainErrorPage
        self.logger = logger
        self.socket = try ListenSocket.open(options.listen, unixMode: options.unixSocketMode)
        workers = (0..<options.workers).map { _ in Worker() }
    }

    public var address: ListenAddress { socket.address }

    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread started after it, so that they
    /// reach only the thread `run()` waits for them on. Call it first thing, before any thread exists.
    public static func blockShutdownSignals() {
        var set = shutdownSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Serves until SIGTERM or SIGINT (or `stop()`), then stops accepting, lets in-flight requests finish
    /// (within `shutdownGraceSeconds`), removes the socket file and returns.
    public func run() {
        logger.info("listening", metadata: ["address": "\(socket.address)", "workers": "\(options.workers)"])
        startThread { [self] in waitForShutdownSignal() }
        for worker in workers {
            workersDone.enter()
            startThread { [self] in
                workerLoop(worker)
                workersDone.leave()
            }
        }
        stopRequested.wait()
        let finished = workersDone.wait(timeout: .now() + options.shutdownGraceSeconds) == .success
        if finished {
            logger.info("stopped", metadata: ["in_flight": "0"])
        } else {
            logger.warning("stopped before in-flight requests finished", metadata: ["in_flight": "\(inFlight)"])
        }
        socket.closeAndRemove()
        LineLogHandler.flush()
    }

    /// Stops accepting and wakes every idle worker; `run()` then returns once in-flight requests are answered.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        FCGX_ShutdownPending()
        socket.stopAccepting()
        // Idle kept-alive connections are closed for reading: a request already queued on one is still read
        // and answered, then the worker finds the listening socket shut and ends.
        for worker in workers {
            worker.state.withLock { state in
                if case .idle(let connection) = state, connection >= 0 { shutdown(connection, Int32(SHUT_RDWR)) }
            }
        }
        stopRequested.signal()
    }

    private static func shutdownSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        return set
    }

    private func waitForShutdownSignal() {
        var set = Server.shutdownSignals()
        var received: Int32 = 0
        while sigwait(&set, &received) == 0 {
            if received == SIGHUP { continue }
            logger.info("shutting down", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")", "in_flight": "\(inFlight)"])
            stop()
            return
        }
    }

    // MARK: - Workers

    /// How many worker threads serve requests.
    public var workerCount: Int { workers.count }

    /// Requests being served right now (each holds a worker thread).
    public var inFlight: Int {
        workers.reduce(0) { count, worker in count + (worker.state.withLock { $0 == .busy } ? 1 : 0) }
    }

    private func workerLoop(_ worker: Worker) {
        // libfcgi keeps pointers to the request inside its streams: it must not move, hence the heap.
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        FCGX_InitRequest(request, socket.fd, 0)
        defer {
            if request.pointee.ipcFd >= 0 { FCGX_Free(request, 1) }
            request.deallocate()
        }
        let responder = makeResponder()
        let logger = Logger(label: logger.label)
        let metrics = RequestMetrics(routeLabel: options.loggedPath)
        while true {
            let connection = request.pointee.ipcFd
            // Published under the lock, after checking `stopping`: `stop()` either sees this connection and
            // shuts it, or this worker sees `stopping` first. Either way no worker waits on after a stop.
            let goOn = worker.state.withLock { state in
                guard !stopping.load(ordering: .acquiring) else { return false }
                state = .idle(connection: connection)
                return true
            }
            guard goOn else { break }
            let accepted = FCGX_Accept_r(request)
            worker.state.withLock { $0 = accepted < 0 ? .idle(connection: -1) : .busy }
            if accepted < 0 {
                if stopping.load(ordering: .acquiring) { break }
                if accepted != -EINTR && accepted != -ECONNABORTED {
                    logger.error("accept failed", metadata: ["error": "\(String(cString: strerror(-accepted)))"])
                    usleep(10_000)
                }
                continue
            }
            serve(request, responder: responder, logger: logger, metrics: metrics)
            FCGX_Finish_r(request)
        }
        worker.state.withLock { $0 = .stopped }
    }

    private func serve(_ fcgi: UnsafeMutablePointer<FCGX_Request>, responder: any Responder, logger: Logger, metrics: RequestMetrics) {
        let started = Self.monotonicNanoseconds()
        let params = CGIParameters(copying: fcgi.pointee.envp)
        let method = params["REQUEST_METHOD"] ?? "GET"
        let path = options.loggedPath(String((params["REQUEST_URI"] ?? "/").prefix(while: { $0 != "?" })))
        var request: Request?
        var response: Response
        var errorID: String?
        var route = ""
        do {
            let body = try readBody(fcgi, declaredLength: Int(params["CONTENT_LENGTH"] ?? "") ?? 0)
            let parsed = try Request(params: params, body: body)
            request = parsed
            response = try responder.respond(to: parsed, route: &route)
        } catch let error as HTTPError {
            response = Self.errorResponse(error, request: request, params: params, errorPage: errorPage)
        } catch {
            let id = Self.errorID()
            errorID = id
            logger.error("handler failed", metadata: ["error_id": "\(id)", "method": "\(method)", "path": "\(path)", "error": "\(error)"])
            response = errorPage(HTTPError(.internalServerError, "Something went wrong on our side. Error reference: \(id)."), request)
        }
        let complete = send(response, omitBody: method == "HEAD", to: fcgi.pointee.out)
        metrics.record(route: route, method: method, status: response.status.code, nanoseconds: Self.monotonicNanoseconds() - started)
        guard logger.logLevel <= .info else { return }
        // Formatted here rather than as metadata: this line is written for every request, and a metadata
        // dictionary per request costs more than the rest of a trivial request.
        var line = "access method=\(LineLogHandler.quoted(method)) path=\(LineLogHandler.quoted(path))"
        line += " status=\(response.status.code) bytes=\(response.body.count) ms=\(Self.milliseconds(since: started))"
        line += " remote=\(LineLogHandler.quoted(params["REMOTE_ADDR"] ?? ""))"
        if let errorID { line += " error_id=\(errorID)" }
        if !complete { line += " client=gone" }
        logger.info("\(line)")
    }

    /// The answer to a refused request: its own page, else the application's, told of the request even when it
    /// could not be read (then as `Request(unreadable:)`).
    public static func errorResponse(_ error: HTTPError, request: Request?, params: CGIParameters, errorPage: ErrorPage) -> Response {
        var response = error.page ?? errorPage(error, request ?? Request(unreadable: params))
        response.headers += error.headers
        return response
    }

    /// Reads the body up to the limit. A body over it is refused before it is kept: its rest is dropped, or,
    /// past a bound, the connection is marked broken so that libfcgi closes it instead of parsing the unread
    /// rest as the next request.
    private func readBody(_ fcgi: UnsafeMutablePointer<FCGX_Request>, declaredLength: Int) throws(HTTPError) -> [UInt8] {
        do {
            return try BodyReader.read(limit: options.maxBodyBytes, declaredLength: declaredLength) { buffer, count in
                FCGX_GetStr(buffer, count, fcgi.pointee.in)
            }
        } catch {
            // The rest is read and dropped, up to a bound, so that the connection stays usable: closed under
            // nginx, a kept-alive connection could be handed the next request just as it goes (a 502). Past
            // the bound, the connection is given up instead.
            if !Self.drain(fcgi.pointee.in, upTo: Self.drainLimit) {
                fcgi.pointee.in.pointee.FCGI_errno = FCGX_PROTOCOL_ERROR
            }
            throw error
        }
    }

    /// What is read and dropped of a refused body (nginx's own `client_max_body_size` comes first).
    private static let drainLimit = 4 << 20

    /// Reads the stream to its end, keeping nothing; false if more than `limit` bytes remain.
    private static func drain(_ stream: UnsafeMutablePointer<FCGX_Stream>, upTo limit: Int) -> Bool {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 16 * 1024) { chunk in
            var dropped = 0
            while dropped <= limit {
                let count = FCGX_GetStr(chunk.baseAddress!, Int32(chunk.count), stream)
                if count <= 0 { return count == 0 }
                dropped += Int(count)
            }
            return false
        }
    }

    /// Writes the head and the body in pieces. False when the client went away (nginx closed the connection).
    /// No flush: `FCGX_Finish_r` sends what is buffered with the end-of-request record in one write, and a
    /// body larger than libfcgi's buffer is sent as it fills.
    private func send(_ response: Response, omitBody: Bool, to stream: UnsafeMutablePointer<FCGX_Stream>) -> Bool {
        let head = response.encodedHead()
        guard Self.put(head[...], to: stream) else { return false }
        if omitBody { return true }
        let piece = 64 * 1024
        var offset = 0
        while offset < response.body.count {
            let end = min(offset + piece, response.body.count)
            guard Self.put(response.body[offset..<end], to: stream) else { return false }
            offset = end
        }
        return true
    }

    private static func put(_ bytes: ArraySlice<UInt8>, to stream: UnsafeMutablePointer<FCGX_Stream>) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                FCGX_PutStr($0, Int32(buffer.count), stream) == Int32(buffer.count)
            }
        }
    }

    public static let plainErrorPage: ErrorPage = { error, _ in
        Response.text(error.message + "\n", status: error.status)
    }

    private static func errorID() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 16, uppercase: true)
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    private static func milliseconds(since start: UInt64) -> String {
        let micros = (monotonicNanoseconds() - start) / 1_000
        let fraction = micros % 1_000
        return "\(micros / 1_000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }
}

/// What one worker is doing, for `stop()` to close its idle connection and count what is in flight.
private final class Worker: Sendable {
    enum State: Equatable {
        /// Waiting for a request: on a kept-alive connection from nginx, or (-1) in `accept`.
        case idle(connection: Int32)
        case busy
        case stopped
    }

    let state = Lock<State>(.idle(connection: -1))
    /// Keeps each worker's lock on a cache line of its own: workers are allocated one after the other.
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
}
