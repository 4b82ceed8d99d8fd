import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP request from a worker or a background thread, answered synchronously, with a timeout that holds:
/// the session id request to TMoney, the operators' API calls, the sandbox's notifications, the merchant's
/// webhooks. AsyncHTTPClient does the work, through one client shared by the whole process (its connection
/// pool and event loops), so that an `OutboundHTTP` is only a timeout and a size limit and costs nothing to
/// make. URLSession did it before, and on Linux it never freed what libcurl allocated when FoundationNetworking
/// compared URL's host with curl's (`CFURLSessionCurlHostIsEqual`): about 90 bytes a request, found with
/// heaptrack on a real `cross serve` (docs/performance.md).
/// Redirects are never followed (a POST redirected becomes a GET, and a gateway that redirects is not the
/// gateway), TLS certificates are verified against the system's roots, and an answer longer than
/// `maxBodyBytes` is refused rather than read whole.
public struct OutboundHTTP: Sendable {
    public let timeoutSeconds: Double
    public let maxBodyBytes: Int

    public struct Answer: Sendable, Equatable {
        public let status: Int
        public let headers: [String: String]
        public let body: [UInt8]

        /// The start of the body on one line, printable, for a log or an error message.
        public func excerpt(_ length: Int = 120) -> String {
            let text = String(decoding: body.prefix(length * 4), as: UTF8.self)
            return String(text.unicodeScalars.prefix(length).map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
                .trimmingCharacters(in: .whitespaces)
        }
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case badURL
        case timeout(seconds: Double)
        /// The answer went on past `maxBodyBytes`.
        case tooLarge(bytes: Int)
        /// Could not connect, TLS failed, the connection broke.
        case transport(String)

        public var description: String {
            switch self {
            case .badURL: "not a URL"
            case .timeout(let seconds): "no answer within \(seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)) s"
            case .tooLarge(let bytes): "the answer is longer than \(bytes) bytes"
            case .transport(let reason): reason
            }
        }
    }

    public init(timeoutSeconds: Double, maxBodyBytes: Int = 1 << 20) {
        self.timeoutSeconds = timeoutSeconds
        self.maxBodyBytes = maxBodyBytes
    }

    /// Sends and waits for the whole answer, at most `timeoutSeconds`. Call it from a thread of its own (a
    /// worker, a background job), never from inside an async task or on one of the client's event loops.
    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) -> Result<Answer, Failure> {
        guard let client = Self.shared.client() else { return .failure(.transport("the process is shutting down")) }
        let request: HTTPClient.Request
        do {
            var fields = HTTPHeaders()
            for (name, value) in headers { fields.replaceOrAdd(name: name, value: value) }
            request = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method), headers: fields, body: body.map { .bytes($0) })
        } catch {
            return .failure(.badURL)
        }
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeoutSeconds * 1_000_000_000))
        let response: HTTPClient.Response
        do {
            response = try client.execute(
                request: request, delegate: ResponseAccumulator(request: request, maxBodySize: maxBodyBytes), deadline: deadline
            ).wait()
        } catch {
            return .failure(failure(error))
        }
        var answerHeaders: [String: String] = [:]
        for (name, value) in response.headers {
            let key = name.lowercased()
            answerHeaders[key] = answerHeaders[key].map { $0 + ", " + value } ?? value
        }
        return .success(Answer(status: Int(response.status.code), headers: answerHeaders, body: response.body.map { Array($0.readableBytesView) } ?? []))
    }

    private func failure(_ error: any Error) -> Failure {
        if error is ResponseAccumulator.ResponseTooBigError { return .tooLarge(bytes: maxBodyBytes) }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return .timeout(seconds: timeoutSeconds)
            case .invalidURL, .emptyHost, .emptyScheme:
                return .badURL
            case _ where error.shortDescription == HTTPClientError.unsupportedScheme("").shortDescription:
                return .badURL
            default:
                return .transport(error.shortDescription)
            }
        }
        return .transport(String(describing: error))
    }

    /// Ends the process's client: its connections closed, its event loops stopped. Called once at exit, after the
    /// last request; a send after it fails at once.
    public static func shutDown() {
        shared.shutDown()
    }

    private static let shared = SharedClient()

    /// The one client, made at the first request (a command that sends nothing starts no event loop) and ended
    /// by `shutDown`.
    private final class SharedClient: @unchecked Sendable {
        private let lock = NSLock()
        private var made: HTTPClient?
        private var ended = false

        func client() -> HTTPClient? {
            lock.withLock {
                if ended { return nil }
                if let made { return made }
                var configuration = HTTPClient.Configuration()
                configuration.redirectConfiguration = .disallow
                // Each call's deadline is its timeout (at most 120 s, docs/configuration.md); the connect timeout, shared by
                // every caller, only bounds a connection that no call waits for any more.
                configuration.timeout = .init(connect: .seconds(120))
                // A refused connection is an answer (the endpoint is down), not something to retry until the
                // deadline.
                configuration.connectionPool.retryConnectionEstablishment = false
                configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
                configuration.decompression = .disabled
                let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
                made = client
                return client
            }
        }

        func shutDown() {
            let client: HTTPClient? = lock.withLock {
                ended = true
                return made
            }
            try? client?.syncShutdown()
        }
    }
}
