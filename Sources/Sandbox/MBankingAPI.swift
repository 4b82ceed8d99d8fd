import FastCGI
import Foundation
import Logging
import Payments
import Support

/// MBANKING's URLs on the sandbox (the bases Cross's client is configured with: login `/mbanking`, push
/// `/mbanking/tmoney-middleware`, credit v2 `/mbanking/api/tpcredit`, credit v1 `/mbanking/tpcredit.php`),
/// and the switches tests use: faults for the next calls, the shopper's prompts as JSON. Handlers stay thin:
/// the wire is `MBankingWire`'s, the rules `TMoneySandbox`'s.
extension SandboxApp {
    func addMBankingRoutes(to router: inout Router) {
        router.post("/mbanking/login") { [self] in try partnerCall(.login, $0, login) }
        router.post("/mbanking/tmoney-middleware/debit") { [self] in try partnerCall(.debit, $0, debit) }
        router.get("/mbanking/tmoney-middleware/transactionid") { [self] in try partnerCall(.check, $0, checkTransaction) }
        router.post("/mbanking/api/tpcredit") { [self] in try partnerCall(.credit, $0, creditV2) }
        router.get("/mbanking/tpcredit.php") { [self] request in
            try partnerCall(.credit, request, creditV1, refusal: {
                MBankingWire.v1Answer(MBankingWire.v1Credit(request.query), .authenticationFailed, transactionID: "", status: .unauthorized)
            })
        }
        router.post("/sandbox/api/mbanking/faults") { [self] request in
            try requireMBanking()
            return queueFault(request) { fault, on, count in sandbox.queueFault(fault, on: on, count: count) }
        }
        router.get("/sandbox/api/mbanking/faults") { [self] _ in
            try requireMBanking()
            return Self.faultList(sandbox.queuedFaults())
        }
        router.add("DELETE", "/sandbox/api/mbanking/faults") { [self] _ in
            try requireMBanking()
            sandbox.clearFaults()
            return Self.faultList(sandbox.queuedFaults())
        }
        router.add("DELETE", "/sandbox/api/mbanking/tokens") { [self] _ in try revokeTokens() }
        router.get("/sandbox/api/prompts") { [self] in try promptList($0) }
        router.post("/sandbox/api/prompts/:id") { [self] in try promptAnswer($0) }
        router.get("/sandbox/phone/:number") { [self] in try phonePage($0) }
        router.post("/sandbox/phone/:number") { [self] in try phoneAnswer($0) }
    }

    /// The phone page and the prompts API serve MBANKING's and Flooz's prompts: either will do.
    func requirePrompts() throws {
        guard sandbox.configuration.mbanking != nil || sandbox.configuration.flooz != nil else {
            throw HTTPError(.notFound, "This sandbox plays neither MBANKING nor Flooz: its configuration has no mbanking or flooz section.")
        }
    }

    @discardableResult
    func requireMBanking() throws -> MBankingConfiguration {
        guard let mbanking = sandbox.configuration.mbanking else {
            throw HTTPError(.notFound, "This sandbox plays no MBANKING: its configuration has no mbanking section.")
        }
        return mbanking
    }

    /// Every partner call: the fault queued for it, if any, else the call itself; one log line either way
    /// (the path only: credit v1's query holds a password).
    private func partnerCall(
        _ call: MBankingCall, _ request: Request, _ body: (Request) throws -> Response,
        refusal: () -> Response = { MBankingWire.invalidTokenAnswer }
    ) throws -> Response {
        let mbanking = try requireMBanking()
        let fault = sandbox.takeFault(for: call)
        let response: Response
        switch fault {
        case nil: response = try body(request)
        case .unauthorized: response = refusal()
        case .serverError: response = MBankingWire.gatewayPage(.internalServerError)
        case .timeout:
            sandbox.hold(mbanking.holdSeconds)
            response = MBankingWire.gatewayPage(.gatewayTimeout)
        case .lostAnswer:
            let lost = try body(request)
            sandbox.logger.info("mbanking answer lost on purpose", metadata: ["path": "\(request.rawPath)", "status": "\(lost.status.code)"])
            sandbox.hold(mbanking.holdSeconds)
            response = MBankingWire.gatewayPage(.gatewayTimeout)
        }
        var metadata: Logger.Metadata = [
            "call": "\(call.rawValue)", "method": "\(request.method)", "path": "\(request.rawPath)", "status": "\(response.status.code)",
            "remote": "\(request.remoteAddress)",
        ]
        if let fault { metadata["fault"] = "\(fault.rawValue)" }
        sandbox.logger.info("mbanking request", metadata: metadata)
        return response
    }

    private func login(_ request: Request) throws -> Response {
        let credentials: MBankingWire.Login
        do { credentials = try MBankingWire.login(request.body) } catch { return MBankingWire.malformedAnswer(error) }
        guard let token = sandbox.login(credentials) else { return MBankingWire.wrongCredentialsAnswer }
        return MBankingWire.loggedIn(token: token)
    }

    private func debit(_ request: Request) throws -> Response {
        guard let partner = sandbox.authenticate(request.header("Authorization")) else { return MBankingWire.invalidTokenAnswer }
        let money: MBankingWire.MoneyRequest
        do { money = try MBankingWire.moneyRequest(request.body) } catch { return MBankingWire.malformedAnswer(error) }
        return try moneyAnswer { () throws(TMoneySandbox.Failure) in try sandbox.debit(money, partner: partner) }
    }

    private func creditV2(_ request: Request) throws -> Response {
        guard let partner = sandbox.authenticate(request.header("Authorization")) else { return MBankingWire.invalidTokenAnswer }
        let money: MBankingWire.MoneyRequest
        do { money = try MBankingWire.moneyRequest(request.body) } catch { return MBankingWire.malformedAnswer(error) }
        return try moneyAnswer { () throws(TMoneySandbox.Failure) in try sandbox.credit(money, partner: partner, via: "v2") }
    }

    private func moneyAnswer(_ body: () throws(TMoneySandbox.Failure) -> MoneyReply) throws -> Response {
        let reply: MoneyReply
        do { reply = try body() } catch { throw Self.httpError(error) }
        switch reply {
        case .answered(let recorded): return MBankingWire.firstAnswer(recorded)
        case .reusedForOtherKind: return MBankingWire.answer(MBankingWire.malformed, MBankingWire.reusedForOtherKindMessage, status: .badRequest)
        }
    }

    private func checkTransaction(_ request: Request) throws -> Response {
        guard let partner = sandbox.authenticate(request.header("Authorization")) else { return MBankingWire.invalidTokenAnswer }
        guard request.query.count(of: "idRequete") == 1, let id = request.query["idRequete"], !id.isEmpty else {
            return MBankingWire.malformedAnswer(FieldError("idRequete", "est obligatoire, une fois"))
        }
        return MBankingWire.checkAnswer(sandbox.request(partner: partner.id, idRequete: id), partnerName: partner.name)
    }

    /// `GET /tpcredit.php?merchantid=…&password=…`: TagPay's form, answered in XML.
    private func creditV1(_ request: Request) throws -> Response {
        let mbanking = try requireMBanking()
        let credit = MBankingWire.v1Credit(request.query)
        let partner = mbanking.partner(id: credit.merchantID)
        let matches = ConstantTime.equal(credit.password, partner?.password ?? "\u{0}no partner\u{0}")
        guard let partner, matches else {
            sandbox.logger.warning("mbanking credit v1 refused: wrong merchant id or password", metadata: ["merchant": "\(credit.merchantID.prefix(32))"])
            return MBankingWire.v1Answer(credit, .authenticationFailed, transactionID: "")
        }
        func invalid(_ field: String) -> Response { MBankingWire.v1Answer(credit, .invalid(field), transactionID: "", status: .badRequest) }
        guard let phone = try? MBankingWire.clientNumber(credit.client, field: "client") else { return invalid("client") }
        guard credit.amount.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let amount = Int64(credit.amount),
              amount > 0, amount <= 10_000_000_000 else { return invalid("amount") }
        guard credit.currency == MBankingWire.v1Currency else { return invalid("currency") }
        guard (try? MBankingWire.checkText(credit.referenceID, "referenceid", 1...64)) != nil else { return invalid("referenceid") }
        guard (try? MBankingWire.checkText(credit.trxcode, "trxcode", 0...64)) != nil else { return invalid("trxcode") }
        guard (try? MBankingWire.checkText(credit.description, "description", 0...255)) != nil else { return invalid("description") }
        let money = MBankingWire.MoneyRequest(
            idRequete: credit.referenceID, phone: phone, amount: amount, refCommande: credit.trxcode.isEmpty ? credit.referenceID : credit.trxcode,
            dateHeureRequete: MBankingWire.dateTime(sandbox.clock()), description: credit.description)
        let reply: MoneyReply
        do { reply = try sandbox.credit(money, partner: partner, via: "v1") } catch { throw Self.httpError(error) }
        guard case .answered(let recorded) = reply else { return invalid("referenceid") }
        let result: MBankingWire.V1Result = switch recorded.answer.code {
        case MBankingWire.accepted: .success
        case MBankingWire.partnerBalanceShort: .insufficientBalance
        default: .unknownClient
        }
        return MBankingWire.v1Answer(credit, result, transactionID: recorded.refTmoney)
    }

    // MARK: - Faults

    /// `POST /sandbox/api/{operator}/faults`: `{"fault": …, "on": …, "count": N}`, for MBANKING's or Flooz's queue.
    func queueFault<Fault, Call>(
        _ request: Request, _ add: (Fault, Call, Int) -> [FaultQueue<Fault, Call>.Entry]
    ) -> Response {
        let object: [String: Any]
        do { object = try Self.jsonObject(request.body) } catch { return Self.apiError(error) }
        guard let name = object["fault"] as? String, let fault = Fault(rawValue: name) else {
            return Self.apiError(FieldError("fault", "must be one of " + Fault.allCases.map(\.rawValue).joined(separator: ", ")))
        }
        var on = Call.any
        if let value = object["on"] {
            guard let text = value as? String, let call = Call(rawValue: text) else {
                return Self.apiError(FieldError("on", "must be one of " + Call.allCases.map(\.rawValue).joined(separator: ", ")))
            }
            on = call
        }
        var count = 1
        if let value = object["count"] {
            guard let number = Self.integer(value), (1...1000).contains(number) else { return Self.apiError(FieldError("count", "must be a whole number from 1 to 1000")) }
            count = Int(number)
        }
        return Self.faultList(add(fault, on, count))
    }

    static func faultList<Fault, Call>(_ faults: [FaultQueue<Fault, Call>.Entry]) -> Response {
        jsonResponse(["faults": faults.map { ["fault": $0.fault.rawValue, "on": $0.on.rawValue, "count": $0.remaining] }])
    }

    /// `DELETE /sandbox/api/mbanking/tokens`: every token issued so far stops working.
    private func revokeTokens() throws -> Response {
        try requireMBanking()
        do { try sandbox.revokeTokens() } catch { throw Self.httpError(error) }
        return Self.jsonResponse(["revoked": true])
    }

    // MARK: - Prompts as JSON

    private func promptList(_ request: Request) throws -> Response {
        try requirePrompts()
        guard let written = request.query["phone"], let phone = PhoneNumber(written) else {
            return Self.apiError(FieldError("phone", "must be a Togolese number, such as 90000001"))
        }
        let list = sandbox.openPrompts(phone: phone.national).map { prompt -> [String: Any] in
            var entry: [String: Any] = [
                "id": prompt.id, "amount": prompt.amount, "merchant": sandbox.merchantName(prompt), "expires_at": prompt.expiresAt.iso8601,
                "operator": prompt.network.rawValue, "reference": prompt.idRequete,
            ]
            if prompt.network == .tmoney {
                entry["id_requete"] = prompt.idRequete
                entry["ref_commande"] = prompt.refCommande
            }
            return entry
        }
        return Self.jsonResponse(list)
    }

    private func promptAnswer(_ request: Request) throws -> Response {
        try requirePrompts()
        let id = request.routeParameters["id"] ?? ""
        let object: [String: Any]
        do { object = try Self.jsonObject(request.body) } catch { return Self.apiError(error) }
        let action: PromptAction
        let pin = object["pin"]
        switch object["action"] {
        case nil, "approve" as String:
            guard let pin = pin as? String, !pin.isEmpty else { return Self.apiError(FieldError("pin", "must be the account's PIN (or send \"action\": \"decline\")")) }
            action = .approve(pin: pin)
        case "decline" as String: action = .decline
        default: return Self.apiError(FieldError("action", "must be approve or decline"))
        }
        var fate: CallbackFate?
        if let value = object["callback"] {
            guard let text = value as? String else { return Self.apiError(FieldError("callback", "must be send, drop, twice or delay_ms=N")) }
            do {
                fate = try CallbackFate(parsing: text)
            } catch {
                return Self.apiError(FieldError("callback", error.description))
            }
        }
        let phone = sandbox.prompt(id)?.phone
        let result: PromptResult
        do {
            result = try sandbox.answerPrompt(id, action, callback: fate)
        } catch .unknownPrompt {
            return Self.jsonResponse(["error": "no open prompt has this id"], status: .notFound)
        } catch {
            throw Self.httpError(error)
        }
        let balance = phone.flatMap { sandbox.snapshot().accounts[$0]?.balance } ?? 0
        var answer: [String: Any] = [
            "status": result.status.rawValue, "message": PhoneViews.resultText(result, pages.strings), "balance": balance,
        ]
        if case .wrongPIN(let left) = result { answer["attempts_left"] = left }
        return Self.jsonResponse(answer)
    }

    // MARK: - The shopper's phone

    private func phonePage(_ request: Request) throws -> Response {
        try requirePrompts()
        let written = request.routeParameters["number"] ?? ""
        guard let phone = PhoneNumber(written), let account = sandbox.configuration.account(phone.national) else {
            return PhoneViews.unknown(pages)
        }
        if written != phone.national {
            return Response.redirect(to: "/sandbox/phone/" + phone.national)
        }
        return PhoneViews.page(account: account, state: sandbox.snapshot(), prompts: sandbox.openPrompts(phone: phone.national),
                               answer: nil, sandbox: sandbox, pages: pages)
    }

    private func phoneAnswer(_ request: Request) throws -> Response {
        try requirePrompts()
        guard let phone = PhoneNumber(request.routeParameters["number"] ?? ""), let account = sandbox.configuration.account(phone.national) else {
            return PhoneViews.unknown(pages)
        }
        let form = request.form
        let id = form["prompt"] ?? ""
        let action: PromptAction = form["action"] == "decline" ? .decline : .approve(pin: form["pin"] ?? "")
        var answer = PhoneViews.Answer.gone
        // A prompt of another phone is not this one's to answer.
        if sandbox.prompt(id)?.phone == phone.national {
            do {
                answer = .result(try sandbox.answerPrompt(id, action))
            } catch .unknownPrompt {
                answer = .gone
            } catch {
                throw Self.httpError(error)
            }
        }
        return PhoneViews.page(account: account, state: sandbox.snapshot(), prompts: sandbox.openPrompts(phone: phone.national),
                               answer: answer, sandbox: sandbox, pages: pages)
    }

    // MARK: - JSON for the sandbox's own API

    static func jsonResponse(_ value: Any, status: HTTPStatus = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var response = Response.json(Array(data), status: status)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    static func apiError(_ error: FieldError) -> Response {
        jsonResponse(["error": error.description, "field": error.field], status: .badRequest)
    }

    static func jsonObject(_ body: [UInt8]) throws(FieldError) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw FieldError("body", "must be a JSON object")
        }
        return object
    }

    /// A JSON whole number (not a boolean, not a fraction).
    static func integer(_ value: Any) -> Int64? { JSONNumber.whole(value) }
}
