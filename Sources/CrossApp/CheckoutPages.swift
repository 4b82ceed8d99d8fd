import FastCGI
import Foundation
import OrderStore
import Payments

/// The shopper's pages: the checkout page that sends them to TMoney, and the pages they come back to.
extension Application {
    /// `GET /pay/{link}`: the order summary and the hidden form to TMoney. Reuses the attempt's session id
    /// while it has more than 30 s left, else asks TMoney for a new one. A page made for a session id is kept
    /// in `checkoutPages` until the order's file changes or the session is too old to reuse.
    func checkout(_ request: Request) throws -> Response {
        let token = request.routeParameters["token"] ?? ""
        let now = Timestamp.now()
        if let page = checkoutPages.page(for: token, at: now) { return page }
        let version = links.orderKey(fromToken: token).flatMap { store.version(of: $0) }
        let order = try order(fromToken: token)
        if let page = try finalPage(order) { return page }
        guard order.status == .pending else {
            // Cancelled, declined or expired: the shopper decides to try again (a POST), a link preview does not.
            return outcomePage(order, outcome: "decline", check: 0)
        }
        if let attempt = OrderLifecycle.reusableSession(of: order, at: now) {
            let page = checkoutPage(order, session: attempt.sessionID)
            if let version {
                let validUntil = min(attempt.expiresAt.adding(seconds: -30), order.expiresAt)
                checkoutPages.remember(page, for: token, path: store.path(for: order.key), version: version, validUntil: validUntil)
            }
            return page
        }
        return try startAttempt(order, force: false) { order, session in checkoutPage(order, session: session) }
    }

    /// `POST /pay/{link}/retry`: a new attempt with a new session id, then the checkout page.
    func retry(_ request: Request) throws -> Response {
        let order = try order(fromToken: request.routeParameters["token"])
        if let page = try finalPage(order) { return page }
        return try startAttempt(order, force: true) { order, _ in .redirect(to: "/pay/" + publicLink(order)) }
    }

    /// Paid, in review, or past its expiry: pages with no form.
    private func finalPage(_ order: Order) throws -> Response? {
        let words = pages.strings
        let language = order.language
        switch order.status {
        case .paid:
            return outcomePage(order, outcome: "accept", check: 0, heading: words.word("already_paid_title", language),
                               message: words.word("already_paid_body", language))
        case .review:
            return outcomePage(order, outcome: "accept", check: 0)
        default:
            if Timestamp.now() >= order.expiresAt {
                var context: [String: Any] = [
                    "heading": words.word("order_expired_title", language), "message": words.word("order_expired_body", language),
                ]
                context["shopURL"] = order.returnURLs.cancel
                return pages.page("message", language, title: words.word("order_expired_title", language), context, status: .gone)
            }
            return nil
        }
    }

    /// Asks TMoney for a session id, outside the order's lock (the call may take seconds), then records the
    /// attempt under the lock. Without `force`, an attempt another request recorded meanwhile is used instead.
    private func startAttempt(_ order: Order, force: Bool, then respond: (Order, SessionID) -> Response) throws -> Response {
        let session: SessionID
        switch gateway.requestSessionID() {
        case .success(let id):
            session = id
        case .failure(let failure):
            logger.error("no session id from TMoney", metadata: ["ref": "\(order.ref)", "order": "\(order.key)", "cause": "\(failure)"])
            return pages.page("unavailable", order.language, title: pages.strings.word("unavailable_title", order.language), [
                "order": OrderViews.summary(order), "retryURL": "/pay/" + publicLink(order),
            ], status: .serviceUnavailable)
        }
        let now = Timestamp.now()
        let updated = try storeCall {
            try store.update(order.key) { (current: inout Order) throws -> (record: JournalRecord, result: SessionID?) in
                var record = JournalRecord(at: now, kind: .attemptStarted)
                record.from = current.status
                if !force, let fresh = OrderLifecycle.reusableSession(of: current, at: now) {
                    return (record, fresh.sessionID)
                }
                do {
                    try OrderLifecycle.startAttempt(&current, sessionID: session, at: now, sessionLifetime: configuration.sessionLifetimeSeconds)
                } catch {
                    return (record, nil)
                }
                record.to = current.status
                return (record, session)
            }
        }
        guard let (current, used) = updated else { throw HTTPError(.notFound, "This order no longer exists.") }
        guard let used else {
            // Paid or in review meanwhile: show that.
            return try finalPage(current) ?? outcomePage(current, outcome: "decline", check: 0)
        }
        if used == session {
            logger.info("attempt started", metadata: [
                "ref": "\(current.ref)", "order": "\(current.key)", "session": "\(session.redacted)",
                "attempt": "\(current.attempts.count)", "from": "\(order.status.rawValue)",
            ])
        }
        return respond(current, used)
    }

    private func checkoutPage(_ order: Order, session: SessionID) -> Response {
        let link = publicLink(order)
        let base = configuration.publicURL + "/return/"
        let form = CheckoutForm(
            order: order, session: session, merchantID: configuration.merchantID, gatewayURL: configuration.gatewayURL,
            returnPages: (base + "accept?order=" + link, base + "decline?order=" + link, base + "cancel?order=" + link),
            phoneFieldName: configuration.phoneFieldName)
        let words = pages.strings
        var context: [String: Any] = [
            "order": OrderViews.summary(order),
            "form": ["action": form.action, "fields": form.fields.map { ["name": $0.name, "value": $0.value] }],
        ]
        if configuration.checkoutAutoSubmitSeconds > 0 {
            context["autoSubmit"] = configuration.checkoutAutoSubmitSeconds
            context["autoSubmitNotice"] = words.word("auto_submit", order.language)
                .replacing("{{seconds}}", with: String(configuration.checkoutAutoSubmitSeconds))
        }
        return pages.page("checkout", order.language, title: words.word("checkout_title", order.language) + " · " + order.brand, context)
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
        let link = publicLink(order)
        var context: [String: Any] = [
            "order": OrderViews.summary(order),
            "statusLabel": words.word("status_" + order.status.rawValue, language),
        ]
        var title: String
        switch order.status {
        case .paid:
            title = heading ?? words.word("paid_title", language)
            context["message"] = message ?? words.word("paid_body", language)
            context["noticeClass"] = "ok"
            context["shopURL"] = order.returnURLs.accept
        case .review:
            title = words.word("review_title", language)
            context["message"] = words.word("review_body", language)
            context["shopURL"] = order.returnURLs.accept
        case .pending:
            if outcome == "accept" {
                title = words.word("pending_title", language)
                context["message"] = words.word(check < Self.pendingChecks ? "pending_body" : "pending_gave_up", language)
            } else {
                title = words.word("not_completed_title", language)
                context["message"] = words.word("not_completed_body", language)
                context["noticeClass"] = "bad"
                context["retryURL"] = "/pay/" + link + "/retry"
                context["shopURL"] = outcome == "cancel" ? order.returnURLs.cancel : order.returnURLs.decline
            }
            // TMoney's notification may still be on its way: look again, for a bounded time.
            if check < Self.pendingChecks && (outcome == "accept" || check < 5) {
                context["refreshSeconds"] = Self.pendingCheckSeconds
                context["refreshURL"] = "/return/\(outcome)?order=\(link)&check=\(check + 1)"
            }
        case .cancelled, .declined, .expired:
            title = words.word("not_completed_title", language)
            context["message"] = OrderViews.failureMessage(order, words)
            context["noticeClass"] = "bad"
            if Timestamp.now() < order.expiresAt { context["retryURL"] = "/pay/" + link + "/retry" }
            context["shopURL"] = order.status == .cancelled ? order.returnURLs.cancel : order.returnURLs.decline
        }
        context["heading"] = title
        return pages.page("outcome", language, title: title + " · " + order.brand, context)
    }
}
