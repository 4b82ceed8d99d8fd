import FastCGI
import Foundation
import Logging
import Payments
import Support

/// Flooz's URLs on the sandbox (Cross's configuration names `token_url` `/flooz/token`, `debit_url`
/// `/flooz/debit`, `verify_url` `/flooz/verify`) and its faults switch. The shopper's prompts are on the same
/// phone page and prompts API as MBANKING's. Handlers stay thin: the wire is `FloozWire`'s, the rules
/// `TMoneySandbox`'s.
extension SandboxApp {
    func addFloozRoutes(to router: inout Router) {
        router.get("/flooz/token") { [self] in try floozCall(.token, $0, floozToken) }
        router.post("/flooz/debit") { [self] in try floozCall(.debit, $0, floozDebit) }
        router.post("/flooz/verify") { [self] in try floozCall(.verify, $0, floozVerify) }
        router.post("/sandbox/api/flooz/faults") { [self] request in
            try requireFlooz()
            return queueFault(request) { fault, on, count in sandbox.queueFloozFault(fault, on: on, count: count) }
        }
        router.get("/sandbox/api/flooz/faults") { [self] _ in
            try requireFlooz()
            return Self.faultList(sandbox.floozFaults.entries)
        }
        router.add("DELETE", "/sandbox/api/flooz/faults") { [self] _ in
            try requireFlooz()
            sandbox.floozFaults.clear(logger: sandbox.logger)
            return Self.faultList(sandbox.floozFaults.entries)
        }
    }

    @discardableResult
    func requireFlooz() throws -> FloozConfiguration {
        guard let flooz = sandbox.configuration.flooz else {
            throw HTTPError(.notFound, "This sandbox plays no Flooz: its configuration has no flooz section.")
        }
        return flooz
    }

    /// Every partner call: the fault queued for it, if any, else the call itself; one log line either way (the
    /// path only: the token call's query holds a password).
    private func floozCall(_ call: FloozCall, _ request: Request, _ body: (Request) throws -> Response) throws -> Response {
        let flooz = try requireFlooz()
        let fault = sandbox.floozFaults.take(for: call)
        let response: Response
        switch fault {
        case nil: response = try body(request)
        case .expiredKey: response = FloozWire.invalidKeyAnswer
        case .serverError: response = FloozWire.gatewayPage(.internalServerError)
        case .timeout:
            sandbox.hold(flooz.holdSeconds)
            response = FloozWire.gatewayPage(.gatewayTimeout)
        }
        var metadata: Logger.Metadata = [
            "call": "\(call.rawValue)", "method": "\(request.method)", "path": "\(request.rawPath)", "status": "\(response.status.code)",
            "remote": "\(request.remoteAddress)",
        ]
        if let fault { metadata["fault"] = "\(fault.rawValue)" }
        sandbox.logger.info("flooz request", metadata: metadata)
        return response
    }

    private func floozToken(_ request: Request) throws -> Response {
        let token: FloozWire.TokenRequest
        do { token = try FloozWire.tokenRequest(request.query) } catch { return FloozWire.malformedAnswer(error) }
        let reply: TMoneySandbox.KeyReply
        do { reply = try sandbox.issueFloozKey(token) } catch { throw Self.httpError(error) }
        switch reply {
        case .issued(let key, let index): return FloozWire.keyIssued(key, index: index)
        case .indexUsed: return FloozWire.indexUsedAnswer
        case .wrongCredentials: return FloozWire.wrongCredentialsAnswer
        }
    }

    /// The body as an object and the partner its key or header names; else the answer to give.
    private func floozPartner(_ request: Request) -> Result<([String: Any], FloozConfiguration.Partner), FloozRefusal> {
        let object: [String: Any]
        do { object = try FloozWire.object(request.body) } catch { return .failure(FloozRefusal(FloozWire.malformedAnswer(error))) }
        guard let partner = sandbox.authenticateFlooz(key: FloozWire.key(in: object), authorization: request.header("Authorization")) else {
            return .failure(FloozRefusal(FloozWire.invalidKeyAnswer))
        }
        return .success((object, partner))
    }

    private func floozDebit(_ request: Request) throws -> Response {
        let (object, partner): ([String: Any], FloozConfiguration.Partner)
        switch floozPartner(request) {
        case .failure(let refusal): return refusal.response
        case .success(let found): (object, partner) = found
        }
        let debit: FloozWire.Debit
        do { debit = try FloozWire.debit(object) } catch { return FloozWire.malformedAnswer(error) }
        let reply: TMoneySandbox.FloozDebitReply
        do { reply = try sandbox.floozDebit(debit, partner: partner) } catch { throw Self.httpError(error) }
        switch reply {
        case .answered(let recorded): return FloozWire.debitAnswer(recorded)
        case .unknownMerchant: return FloozWire.unknownMerchantAnswer
        }
    }

    private func floozVerify(_ request: Request) throws -> Response {
        let (object, partner): ([String: Any], FloozConfiguration.Partner)
        switch floozPartner(request) {
        case .failure(let refusal): return refusal.response
        case .success(let found): (object, partner) = found
        }
        let verify: FloozWire.Verify
        do { verify = try FloozWire.verify(object) } catch { return FloozWire.malformedAnswer(error) }
        guard verify.partnerMSISDN.international == partner.msisdn else { return FloozWire.unknownMerchantAnswer }
        guard let found = sandbox.floozRequest(partner: partner.user, mrchrefid: verify.mrchrefid) else {
            sandbox.logger.info("flooz verify: unknown mrchrefid", metadata: ["partner": "\(partner.user)", "mrchrefid": "\(verify.mrchrefid)"])
            return FloozWire.unknownTransactionAnswer
        }
        return FloozWire.verifyAnswer(found)
    }
}

/// An answer given instead of the call (bad body, bad key).
struct FloozRefusal: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}
