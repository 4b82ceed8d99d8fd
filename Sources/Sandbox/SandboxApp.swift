import FastCGI
import Payments

/// The sandbox's HTTP surface, as nginx passes it on (127.0.0.1:8081 in development): TMoney's own URLs
/// under `/online/`, and pages for testers under `/sandbox`. Handlers stay thin: the journey is
/// `TMoneySandbox`'s, the pages' contexts are `PaymentViews`' and `ToolViews`'.
public struct SandboxApp: Sendable {
    public let sandbox: TMoneySandbox
    public let pages: SandboxPages

    public init(sandbox: TMoneySandbox, pages: SandboxPages) {
        self.sandbox = sandbox
        self.pages = pages
    }

    /// A router of its own for each worker (see `Server`); they share the one `TMoneySandbox`.
    public func makeRouter() -> Router {
        var router = Router()
        router.get("/online/online.php") { [self] in try sessionRequest($0) }
        router.post("/online/online.php") { [self] in try orderForm($0) }
        router.post("/online/payment") { [self] in try paymentStep($0) }
        router.get("/sandbox") { [self] _ in ToolViews.index(sandbox.snapshot(), sandbox.configuration, pages) }
        router.get("/sandbox/sms") { [self] _ in ToolViews.outbox(sandbox.snapshot(), pages) }
        router.get("/sandbox/style.css") { [pages] _ in
            Response(status: .ok, headers: [("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "max-age=300")], body: pages.stylesheet)
        }
        router.get("/healthz") { _ in .text("ok\n") }
        addMBankingRoutes(to: &router)
        addFloozRoutes(to: &router)
        return router
    }

    /// Merchants' servers asking for a session id get plain text, as TMoney answers them; browsers get a
    /// page, in English on the testers' pages and in French (TMoney's first language) elsewhere.
    public var errorPage: ErrorPage {
        { [pages] error, request in
            if request?.rawPath == "/online/online.php" && request?.method == "GET" {
                return .text(error.message + "\n", status: error.status)
            }
            // Partners' servers and test automation read JSON, never a page.
            if request?.rawPath.hasPrefix("/mbanking/") == true {
                return MBankingWire.answer(String(error.status.code), error.message, status: error.status)
            }
            if request?.rawPath.hasPrefix("/flooz/") == true {
                return FloozWire.answer(String(error.status.code), error.message, status: error.status)
            }
            if request?.rawPath.hasPrefix("/sandbox/api/") == true {
                return Self.jsonResponse(["error": error.message], status: error.status)
            }
            let language: Language = request?.rawPath.hasPrefix("/sandbox") == true ? .en : .fr
            return pages.page("error", language, title: error.status.reason, [
                "heading": error.status.description, "message": error.message,
            ], status: error.status)
        }
    }

    /// `GET /online/online.php?merchantid=…`: `OK:<session id>` or `NOK:<code>`, with HTTP 200 either way
    /// as TMoney does (a merchant reads the body; Cross's gateway reads it only from a 200).
    func sessionRequest(_ request: Request) throws -> Response {
        guard request.query.count(of: "merchantid") == 1, let merchantID = request.query["merchantid"] else {
            throw HTTPError(.badRequest, "Give the merchant id once: GET /online/online.php?merchantid=<16 digits>.")
        }
        let answer = try asHTTP { () throws(TMoneySandbox.Failure) in
            try sandbox.issueSession(merchantID: merchantID, remoteAddress: request.remoteAddress)
        }
        return .text(answer.text)
    }

    /// `POST /online/online.php`: the merchant's order form. A form TMoney cannot take is a 400 page naming
    /// every field at fault; otherwise the payment page, or (for a session id that is no good) the decline URL.
    func orderForm(_ request: Request) throws -> Response {
        try requireForm(request)
        let form: OrderForm
        do {
            form = try OrderForm.parse(request.form, query: request.query)
        } catch {
            return formRefused(request.form, error.errors)
        }
        do {
            return PaymentViews.response(for: try sandbox.open(form), pages)
        } catch .unknownMerchant(let id) {
            return formRefused(request.form, [FieldError("merchantid", "\(id) is not a merchant of this TMoney sandbox")])
        } catch {
            throw Self.httpError(error)
        }
    }

    /// `POST /online/payment`: one step of the journey. `transaction` is the payment's key (a hidden field),
    /// `action` the button pressed: login (with `phone` and `pin`), code (with `code`), cancel or confirm.
    func paymentStep(_ request: Request) throws -> Response {
        try requireForm(request)
        let form = request.form
        guard form.count(of: "transaction") == 1, let key = form["transaction"], !key.isEmpty else {
            throw HTTPError(.badRequest, "The payment's transaction field is missing: start again from the merchant's site.")
        }
        let action: ShopperAction
        switch form["action"] {
        case "login": action = .login(phone: form["phone"] ?? "", pin: form["pin"] ?? "")
        case "code": action = .code(form["code"] ?? "")
        case "cancel": action = .cancel
        case "confirm": action = .confirm
        default: throw HTTPError(.badRequest, "action must be login, code, cancel or confirm.")
        }
        do {
            return PaymentViews.response(for: try sandbox.advance(key, action), pages)
        } catch .unknownPayment {
            let language = Language.fr
            let heading = pages.strings.word("unknown_payment_title", language)
            throw HTTPError(page: pages.page("error", language, title: heading, [
                "heading": heading, "message": pages.strings.word("unknown_payment_body", language),
            ], status: .notFound), message: "no such payment")
        } catch {
            throw Self.httpError(error)
        }
    }

    /// The 400 page for an order form TMoney refuses: no payment opens and no notification is sent (the
    /// shopper never reached the payment page). It links back to the decline URL (the form's, else the
    /// merchant's configured one), as given, with nothing added.
    private func formRefused(_ form: Parameters, _ errors: [FieldError]) -> Response {
        let language = form["language"].flatMap(Language.init(rawValue:)) ?? .fr
        let merchant = form["merchantid"].flatMap(sandbox.configuration.merchant)
        let back = OrderForm.declineURL(in: form) ?? merchant?.returnURLs.decline
        let heading = pages.strings.word("form_refused_title", language)
        var context: [String: Any] = [
            "heading": heading, "message": pages.strings.word("form_refused_body", language),
            "invalid": ["fields": errors.map { ["field": $0.field, "message": $0.message] }],
        ]
        // Only values that exist go in a context: Mustache shows "nil" for an absent one.
        if let back { context["back"] = back }
        return pages.page("error", language, title: heading, context, status: .badRequest)
    }

    private func requireForm(_ request: Request) throws {
        guard let contentType = request.contentType, Request.mediaType(contentType) == "application/x-www-form-urlencoded" else {
            throw HTTPError(.unsupportedMediaType, "Send the form as application/x-www-form-urlencoded.")
        }
    }

    private func asHTTP<T>(_ body: () throws(TMoneySandbox.Failure) -> T) throws(HTTPError) -> T {
        do { return try body() } catch { throw Self.httpError(error) }
    }

    static func httpError(_ failure: TMoneySandbox.Failure) -> HTTPError {
        switch failure {
        case .unknownPrompt: HTTPError(.notFound, "No prompt with this id is open.")
        case .unknownMerchant(let id): HTTPError(.badRequest, "\(id) is not a merchant of this TMoney sandbox.")
        case .unknownPayment: HTTPError(.notFound, "No payment has this key.")
        case .storage: HTTPError(.serviceUnavailable, "The sandbox cannot save its state right now; nothing was changed. Try again shortly.")
        }
    }
}
