import Cashier
import FastCGI
import Foundation
import Logging
import OrderStorage
import Payments
import WebPages

/// The shopper's pages: the checkout page that sends them to the operator, and the pages they come back to.
/// Routes translate HTTP; what happens to the order is the cashier's.
///
///     GET  /pay/{link}              the order and the form to the operator's page
///     POST /pay/{link}/retry        a new attempt after a cancel or a refusal
///     GET  /return/{outcome}?order=  where the operator sends the shopper back: the stored truth
///     POST /checkout                a payment button (ButtonCheckout.swift)
///     GET  /pay/button/{offer}      what a button without a reference sells; POST: the order is made
///     POST /pay/{link}/push         a prompt on the shopper's phone (PhoneCheckout.swift)
///     GET  /pay/{link}/phone        "approve on your phone", until the operator's word; /status: the same as JSON
public struct Checkout: Sendable {
    let cashier: Cashier
    let redirect: any RedirectOperator
    /// The operators that prompt shoppers' phones, as the merchant offers them; empty: the redirect only.
    let pushes: [Operator: any PushOperator]
    /// What the merchant allows of each operator (offered, amounts per transaction).
    let limits: [Operator: OperatorLimits]
    let pages: Pages
    let links: OrderLink
    let settings: CheckoutSettings
    let logger: Logger
    let cache = CheckoutPageCache()

    public init(
        cashier: Cashier, redirect: any RedirectOperator, pushes: [Operator: any PushOperator] = [:], limits: [Operator: OperatorLimits] = [:],
        pages: Pages, links: OrderLink, settings: CheckoutSettings, logger: Logger
    ) {
        self.cashier = cashier
        self.redirect = redirect
        self.pushes = pushes
        self.limits = limits
        self.pages = pages
        self.links = links
        self.settings = settings
        self.logger = logger
    }

    var store: any OrderStore { cashier.store }

    public func addRoutes(to router: inout Router) {
        router.get("/pay/:token") { [self] in try checkout($0) }
        router.post("/pay/:token/retry") { [self] in try retry($0) }
        router.get("/return/:outcome") { [self] in try returnPage($0) }
        // Strict, as nginx's rate limit covers /checkout and what begins with it: nothing else is a button post.
        router.post("/checkout", strict: true) { [self] in try buttonCheckout($0) }
        router.get("/pay/button/:offer") { [self] in try offerPage($0) }
        router.post("/pay/button/:offer") { [self] in try acceptOffer($0) }
        if !pushes.isEmpty {
            router.post("/pay/:token/push") { [self] in try pushPayment($0) }
            router.get("/pay/:token/phone") { [self] in try phonePage($0) }
            router.get("/pay/:token/status") { [self] in try phoneStatus($0) }
        }
    }

    func link(_ order: Order) -> String { links.token(for: order.key) }

    /// `GET /pay/{link}`: the order summary and the hidden form to the operator. Reuses the attempt's session
    /// while it has more than 30 s left, else opens a new one. A page made for a session is kept in `cache` until
    /// the order changes or the session is too old to reuse.
    func checkout(_ request: Request) throws -> Response {
        let token = request.routeParameters["token"] ?? ""
        let now = cashier.now
        if let page = cache.page(for: token, at: now, in: store) { return page }
        let marker = links.orderKey(fromToken: token).flatMap { store.changeMarker(of: $0) }
        let order = try order(fromToken: token)
        if let page = finalPage(order, at: now) { return page }
        // A prompt waits on the shopper's phone: no session for a second way of paying meanwhile.
        if !pushes.isEmpty, Cashier.waitingPush(order, at: now) != nil { return .redirect(to: "/pay/" + link(order) + "/phone") }
        guard order.status == .pending else {
            // Cancelled, declined or expired: the shopper decides to try again (a POST), a link preview does not.
            return outcomePage(order, outcome: "decline", check: 0)
        }
        // TMoney's page not offered for this order (the merchant's limits): no session, the other ways only.
        guard availability(.tmoney, order) == .offered else { return checkoutPage(order, nil) }
        // Straight from a button's offer: the page goes on to the operator by itself.
        let go = request.query["go"] != nil
        if let attempt = OrderLifecycle.reusableAttempt(of: order, method: .redirect, at: now) {
            let page = checkoutPage(order, attempt, go: go)
            if let marker, !go {
                let validUntil = min(attempt.expiresAt.adding(seconds: -30), order.expiresAt)
                cache.remember(page, for: token, key: order.key, marker: marker, validUntil: validUntil)
            }
            return page
        }
        return try startAttempt(order, reuse: .usable) { order, attempt in checkoutPage(order, attempt, go: go) }
    }

    /// `POST /pay/{link}/retry`: a new attempt with a new session (the one just started, for a second post in a
    /// row), then the checkout page.
    func retry(_ request: Request) throws -> Response {
        let order = try order(fromToken: request.routeParameters["token"])
        if let page = finalPage(order, at: cashier.now) { return page }
        guard availability(.tmoney, order) == .offered else { return .redirect(to: "/pay/" + link(order)) }
        return try startAttempt(order, reuse: .justStarted) { order, _ in .redirect(to: "/pay/" + link(order)) }
    }

    /// Whether the merchant offers `op` for `order`'s amount, and why not.
    func availability(_ op: Operator, _ order: Order) -> OperatorLimits.Availability {
        limits[op, default: OperatorLimits()].availability(for: order.amount.francs)
    }

    /// Why `op` is not offered, in the shopper's words; nil when it is, or when it is off altogether (not shown).
    func unavailableReason(_ op: Operator, _ order: Order) -> String? {
        let words = pages.strings
        switch availability(op, order) {
        case .offered, .disabled: return nil
        case .belowMinimum(let minimum):
            return words.word("operator_below_minimum", order.language, ["operator": op.displayName, "amount": Amount.formatted(francs: minimum)])
        case .aboveMaximum(let maximum):
            return words.word("operator_above_maximum", order.language, ["operator": op.displayName, "amount": Amount.formatted(francs: maximum)])
        }
    }

    /// The order a shopper's link names, or a 404 page in the configured language.
    func order(fromToken token: String?) throws -> Order {
        guard let token, let key = links.orderKey(fromToken: token), let order = try store.load(key) else {
            let language = settings.defaultLanguage
            let words = pages.strings
            let page = pages.message(
                language, heading: words.word("not_found_title", language), message: words.word("not_found_body", language), status: .notFound)
            throw HTTPError(page: page, message: "no such order")
        }
        return order
    }

    /// Paid, in review, or past its expiry: pages with no form.
    func finalPage(_ order: Order, at now: Timestamp) -> Response? {
        let words = pages.strings
        let language = order.language
        switch order.status {
        case .paid:
            return outcomePage(order, outcome: "accept", check: 0, heading: words.word("already_paid_title", language),
                               message: words.word("already_paid_body", language))
        case .review:
            return outcomePage(order, outcome: "accept", check: 0)
        default:
            guard now >= order.expiresAt else { return nil }
            return pages.message(
                language, heading: words.word("order_expired_title", language), message: words.word("order_expired_body", language),
                shopURL: order.details.cancelURL, status: .gone)
        }
    }

    func startAttempt(_ order: Order, reuse: Cashier.Reuse, then respond: (Order, Attempt) -> Response) throws -> Response {
        let words = pages.strings
        func unavailable(_ order: Order, _ title: String, _ body: String, status: HTTPStatus, retryAfter: Int? = nil) -> Response {
            var page = pages.page("unavailable", order.language, title: words.word(title, order.language), [
                "order": Self.summary(order), "retryURL": "/pay/" + link(order), "heading": words.word(title, order.language),
                "message": words.word(body, order.language),
            ], status: status)
            if let retryAfter { page.headers.append(("Retry-After", String(retryAfter))) }
            return page
        }
        switch try cashier.startRedirectAttempt(order, via: redirect, reuse: reuse) {
        case .ready(let current, let attempt):
            return respond(current, attempt)
        case .refused(let current, .tooManyAttemptsThisMinute):
            return unavailable(current, "busy_title", "too_many_attempts_minute_body", status: .tooManyRequests, retryAfter: 60)
        case .refused(let current, .tooManyAttempts):
            return pages.message(
                current.language, heading: words.word("too_many_attempts_title", current.language),
                message: words.word("too_many_attempts_body", current.language), shopURL: current.details.cancelURL, status: .tooManyRequests)
        case .refused(let current, .promptWaiting):
            // A prompt was sent to the shopper's phone meanwhile: its page, not a second way of paying.
            return .redirect(to: "/pay/" + link(current) + "/phone")
        case .refused(let current, _):
            // Paid, in review or expired meanwhile: show that.
            return finalPage(current, at: cashier.now) ?? outcomePage(current, outcome: "decline", check: 0)
        case .unavailable(let current, _):
            return unavailable(current, "unavailable_title", "unavailable_body", status: .serviceUnavailable)
        case .busy(let current):
            return unavailable(current, "busy_title", "busy_body", status: .serviceUnavailable, retryAfter: 5)
        case .missing:
            throw HTTPError(.notFound, "This order no longer exists.")
        }
    }

    /// The checkout page: TMoney's form when `attempt` has its session (nil: TMoney's page is not offered for this
    /// order), and paying from the phone with the networks the merchant offers for this amount.
    func checkoutPage(_ order: Order, _ attempt: Attempt?, go: Bool = false, phone: PhoneEntry? = nil, status: HTTPStatus = .ok) -> Response {
        let link = link(order)
        let base = settings.publicURL + "/return/"
        let words = pages.strings
        var context: [String: Any] = ["order": Self.summary(order)]
        if let attempt {
            let form = redirect.paymentForm(
                for: order, attempt: attempt,
                returnPages: ReturnURLs(accept: base + "accept?order=" + link, decline: base + "decline?order=" + link, cancel: base + "cancel?order=" + link))
            context["form"] = ["action": form.action, "fields": form.fields.map { ["name": $0.name, "value": $0.value] }]
        } else if let reason = unavailableReason(.tmoney, order) {
            context["redirectUnavailable"] = reason
        }
        let offered = Operator.allCases.filter { pushes[$0] != nil && availability($0, order) == .offered }
        if !offered.isEmpty {
            let chosen = phone?.network ?? "auto"
            var networks: [[String: Any]] = [["value": "auto", "label": words.word("network_auto", order.language), "checked": chosen == "auto"]]
            for op in offered {
                networks.append(["value": op.rawValue, "label": op.displayName, "checked": chosen == op.rawValue])
            }
            var entry: [String: Any] = ["action": "/pay/" + link + "/push", "value": phone?.typed ?? "", "networks": networks]
            if let problem = phone?.problem { entry["error"] = problem }
            // The phone operators not offered for this amount, and why.
            let reasons = Operator.allCases.filter { pushes[$0] != nil }.compactMap { unavailableReason($0, order) }
            if !reasons.isEmpty { entry["unavailable"] = reasons }
            context["push"] = entry
        }
        let autoSubmit = attempt == nil || phone != nil ? 0 : go ? 1 : settings.autoSubmitSeconds
        if autoSubmit > 0 {
            context["autoSubmit"] = autoSubmit
            context["autoSubmitNotice"] = words.word("auto_submit", order.language, ["seconds": String(autoSubmit)])
        }
        return pages.page("checkout", order.language, title: words.word("checkout_title", order.language) + " · " + order.brand, context, status: status)
    }

    /// `GET /return/{accept|decline|cancel}?order={link}`: what the order's stored state says, never what the
    /// URL claims. A pending order re-checks itself (`check` counts the refreshes) for about a minute.
    func returnPage(_ request: Request) throws -> Response {
        guard let outcome = request.routeParameters["outcome"], ["accept", "decline", "cancel"].contains(outcome) else {
            throw HTTPError(.notFound, "Nothing here.")
        }
        let order = try order(fromToken: request.query["order"])
        let check = min(max(Int(request.query["check"] ?? "0") ?? 0, 0), 1000)
        logger.info("shopper returned", metadata: ["ref": "\(order.ref)", "order": "\(order.key)", "claims": "\(outcome)", "status": "\(order.status.rawValue)"])
        return outcomePage(order, outcome: outcome, check: check)
    }

    static let pendingChecks = 20
    static let pendingCheckSeconds = 3

    func outcomePage(_ order: Order, outcome: String, check: Int, heading: String? = nil, message: String? = nil) -> Response {
        let words = pages.strings
        let language = order.language
        let link = link(order)
        var context: [String: Any] = [
            "order": Self.summary(order),
            "statusLabel": words.word("status_" + order.status.rawValue, language),
        ]
        var title: String
        switch order.status {
        case .paid:
            title = heading ?? words.word("paid_title", language)
            context["message"] = message ?? words.word("paid_body", language)
            context["noticeClass"] = "ok"
            context["shopURL"] = order.details.acceptURL
        case .review:
            title = words.word("review_title", language)
            context["message"] = words.word("review_body", language)
            context["shopURL"] = order.details.acceptURL
        case .pending:
            if outcome == "accept" {
                title = words.word("pending_title", language)
                context["message"] = words.word(check < Self.pendingChecks ? "pending_body" : "pending_gave_up", language)
            } else {
                title = words.word("not_completed_title", language)
                context["message"] = words.word("not_completed_body", language)
                context["noticeClass"] = "bad"
                context["retryURL"] = "/pay/" + link + "/retry"
                context["shopURL"] = outcome == "cancel" ? order.details.cancelURL : order.details.declineURL
            }
            // The operator's word may still be on its way: look again, for a bounded time.
            if check < Self.pendingChecks && (outcome == "accept" || check < 5) {
                context["refreshSeconds"] = Self.pendingCheckSeconds
                context["refreshURL"] = "/return/\(outcome)?order=\(link)&check=\(check + 1)"
            }
        case .cancelled, .declined, .expired:
            title = words.word("not_completed_title", language)
            context["message"] = Self.failureMessage(order, words)
            context["noticeClass"] = "bad"
            if cashier.now < order.expiresAt { context["retryURL"] = "/pay/" + link + "/retry" }
            context["shopURL"] = order.status == .cancelled ? order.details.cancelURL : order.details.declineURL
        }
        context["heading"] = title
        return pages.page("outcome", language, title: title + " · " + order.brand, context)
    }

    /// The fields the shopper's pages show; every value is escaped by the template.
    static func summary(_ order: Order) -> [String: Any] {
        var summary: [String: Any] = [
            "ref": order.ref, "brand": order.brand, "amount": order.amount.formatted, "status": order.status.rawValue,
        ]
        if let description = order.details.description, !description.isEmpty { summary["description"] = description }
        if let payment = order.payment, order.status == .paid || order.status == .review, !payment.receipt.isEmpty {
            summary["paymentref"] = payment.receipt
        }
        return summary
    }

    /// Why an attempt failed, in the shopper's words: from the last event's reason.
    static func failureMessage(_ order: Order, _ strings: StringTable) -> String {
        let language = order.language
        switch order.status {
        case .cancelled: return strings.word("cancelled_body", language)
        case .expired: return strings.word("expired_session_body", language)
        case .declined:
            switch order.events.last?.event.reason {
            case "AUTHENTICATION": return strings.word("declined_authentication_body", language)
            case "PAYMENT_FAILED": return strings.word("declined_payment_failed_body", language)
            default: return strings.word("declined_other_body", language)
            }
        default: return strings.word("not_completed_body", language)
        }
    }
}
