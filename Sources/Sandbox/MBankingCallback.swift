import Dispatch
import Foundation
import Logging
import Support
import OutboundHTTP
import Payments

/// What becomes of the callback of one prompt, so that a partner can test how it copes: `send` (TMoney's
/// normal behaviour), `drop` (never sent: the partner must ask check-transaction), `twice` (sent two times,
/// as a retrying server would), `delay_ms=N` (sent N milliseconds late, after the partner's own timeout).
public enum CallbackFate: Sendable, Equatable, Codable, CustomStringConvertible {
    case send
    case drop
    case twice
    case delay(milliseconds: Int)

    public init(parsing text: String) throws(Scenario.Invalid) {
        let item = text.trimmingCharacters(in: .whitespaces)
        switch item {
        case "", "send": self = .send
        case "drop": self = .drop
        case "twice": self = .twice
        default:
            guard item.hasPrefix("delay_ms="), let milliseconds = Int(item.dropFirst("delay_ms=".count)),
                  (0...Scenario.maxDelayMilliseconds).contains(milliseconds) else {
                throw Scenario.Invalid(description: "\"\(item)\" is not a callback fate; use send, drop, twice or delay_ms=N (0 to \(Scenario.maxDelayMilliseconds))")
            }
            self = .delay(milliseconds: milliseconds)
        }
    }

    public var description: String {
        switch self {
        case .send: "send"
        case .drop: "drop"
        case .twice: "twice"
        case .delay(let milliseconds): "delay_ms=\(milliseconds)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            try self.init(parsing: try container.decode(String.self))
        } catch let error as Scenario.Invalid {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The callback TMoney (or Flooz) POSTs to a partner once a debit's prompt ends: worked out under the lock from
/// the saved state, sent after it, so that what it says is what check-transaction (or verify) says.
public struct CallbackPlan: Sendable, Equatable {
    public let partnerID: String
    /// The partner's reference of the debit: MBANKING's `idRequete`, Flooz's `mrchrefid`.
    public let idRequete: String
    /// `SUCCES` or `ECHEC` (Flooz: `0` or `1`), for the log.
    public let status: String
    public let url: String
    /// The JSON body.
    public let body: [UInt8]
    /// 1, or 2 for `twice`.
    public let copies: Int
    public let delayMilliseconds: Int
    /// Whose callback: the log names it.
    public var network: Operator = .tmoney

    /// The plan for `fate`; nil when the fate drops the callback.
    static func make(
        partnerID: String, idRequete: String, status: String, url: String, body: [UInt8], fate: CallbackFate, network: Operator = .tmoney
    ) -> CallbackPlan? {
        let (copies, delay): (Int, Int)
        switch fate {
        case .drop: return nil
        case .send: (copies, delay) = (1, 0)
        case .twice: (copies, delay) = (2, 0)
        case .delay(let milliseconds): (copies, delay) = (1, milliseconds)
        }
        return CallbackPlan(
            partnerID: partnerID, idRequete: idRequete, status: status, url: url, body: body, copies: copies, delayMilliseconds: delay,
            network: network)
    }
}

/// Carries callback plans out; tests hand the sandbox a recorder instead.
public protocol CallbackDispatcher: Sendable {
    /// Returns at once: the callback goes from a background queue.
    func dispatch(_ plan: CallbackPlan)
}

/// Makes one callback call.
public protocol CallbackTransport: Sendable {
    func post(_ url: String, json: [UInt8]) -> DeliveryResult
}

/// A JSON POST over HTTP with a timeout, server to server.
public struct HTTPCallbackTransport: CallbackTransport {
    private let http: OutboundHTTP

    public init(timeoutSeconds: Double) {
        http = OutboundHTTP(timeoutSeconds: timeoutSeconds)
    }

    public func post(_ url: String, json: [UInt8]) -> DeliveryResult {
        switch http.send("POST", url, headers: [("Content-Type", "application/json")], body: json) {
        case .failure(let failure): .failed(failure.description)
        case .success(let answer): .answered(status: answer.status, excerpt: answer.excerpt(80))
        }
    }
}

/// Sends each callback (MBANKING's and Flooz's) from a thread of its own, never on the time of the request that
/// ended the prompt, and logs what the partner answered. Like TMoney and Flooz as far as anyone knows, it does
/// not retry a refused callback.
public struct CallbackCourier: CallbackDispatcher {
    private let transport: any CallbackTransport
    private let logger: Logger

    public init(transport: any CallbackTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    public func dispatch(_ plan: CallbackPlan) {
        // A thread of its own, never a Dispatch queue's: the send blocks its thread until the answer, and blocked
        // queue threads starve whatever else runs on Dispatch (when the sends went through URLSession, whose work
        // runs there, four callbacks at once on 2 cores each waited for their timeout).
        startThread { [self] in
            if plan.delayMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(plan.delayMilliseconds) / 1000) }
            deliver(plan)
        }
    }

    private func deliver(_ plan: CallbackPlan) {
        for copy in 1...plan.copies {
            let started = Date()
            let result = transport.post(plan.url, json: plan.body)
            let flooz = plan.network == .flooz
            result.log(logger, flooz ? "flooz callback" : "mbanking callback", by: "partner", [
                "partner": "\(plan.partnerID)", flooz ? "mrchrefid" : "idRequete": "\(plan.idRequete)", "statut": "\(plan.status)",
                "copy": "\(copy)/\(plan.copies)", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))",
            ])
        }
    }
}
