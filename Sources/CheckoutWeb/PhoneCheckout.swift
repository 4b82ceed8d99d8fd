import Cashier
import FastCGI
import Foundation
import OrderStorage
import Payments

/// Paying from the phone: the shopper types their number on the checkout page, Cross asks the operator for a
/// prompt, and a page waits with them ("approve on your phone") until the operator's confirmed word. A double
/// click or a reload never sends a second debit: the cashier finds the prompt that already waits.
extension Checkout {
    /// What the shopper typed and chose, and why it is not a number Cross can prompt.
    struct PhoneEntry {
        let typed: String
        /// `auto` (the network the number's range suggests) or an operator's name.
        let network: String
        let problem: String?
    }

    /// `POST /pay/{link}/push` with `phone` and `network` (`auto`: the one the number's range suggests; or the
    /// operator the shopper chose, since numbers are portable): 303 to the waiting page, or the checkout page again
    /// (422) saying what is wrong.
    func pushPayment(_ request: Request) throws -> Response {
        let order = try order(fromToken: request.routeParameters["token"])
        let now = cashier.now
        if let page = finalPage(order, at: now) { return page }
        let words = pages.strings
        let language = order.language
        let typed = String((request.form["phone"] ?? "").prefix(40))
        let network = request.form["network"].flatMap { $0 == "auto" || Operator(rawValue: $0) != nil ? $0 : nil } ?? "auto"
        func retype(_ problem: String) throws -> Response { try self.retype(order, PhoneEntry(typed: typed, network: network, problem: problem)) }
        let phone: PhoneNumber
        switch Result(catching: { () throws(PhoneNumber.Problem) in try PhoneNumber.mobile(typed) }) {
        case .failure(.notTogolese):
            return try retype(words.word("phone_not_togolese", language))
        case .failure(.noMobileOperator):
            return try retype(words.word("phone_no_operator", language))
        case .success(let number):
            phone = number
        }
        let chosen = network == "auto" ? phone.suggestedOperator : Operator(rawValue: network)
        guard let chosen, let push = pushes[chosen], availability(chosen, order) == .offered else {
            let name = (chosen ?? phone.suggestedOperator)?.displayName ?? ""
            return try retype(words.word("network_not_offered", language, ["operator": name]))
        }
        switch try cashier.startPushAttempt(order, phone: phone, via: push) {
        case .requested(let current, _), .waiting(let current, _), .unanswered(let current, _, _):
            return .redirect(to: "/pay/" + link(current) + "/phone")
        case .otherNumberWaiting(let current, _):
            return .redirect(to: "/pay/" + link(current) + "/phone")
        case .refusedByOperator(let current, _, _):
            return outcomePage(current, outcome: "decline", check: 0)
        case .refused(let current, .tooManyAttemptsThisMinute), .busy(let current):
            var page = pages.page("unavailable", language, title: words.word("busy_title", language), [
                "order": Self.summary(current), "retryURL": "/pay/" + link(current), "heading": words.word("busy_title", language),
                "message": words.word("too_many_attempts_minute_body", language),
            ], status: .tooManyRequests)
            page.headers.append(("Retry-After", "60"))
            return page
        case .refused(let current, .tooManyAttempts):
            return pages.message(
                language, heading: words.word("too_many_attempts_title", language), message: words.word("too_many_attempts_body", language),
                shopURL: current.details.cancelURL, status: .tooManyRequests)
        case .refused(let current, _):
            return finalPage(current, at: cashier.now) ?? outcomePage(current, outcome: "decline", check: 0)
        case .missing:
            throw HTTPError(.notFound, "This order no longer exists.")
        }
    }

    /// The checkout page again, with the number as typed, the network as chosen, and what is wrong.
    private func retype(_ order: Order, _ entry: PhoneEntry) throws -> Response {
        guard availability(.tmoney, order) == .offered else { return checkoutPage(order, nil, phone: entry, status: .unprocessableContent) }
        if let attempt = OrderLifecycle.reusableAttempt(of: order, method: .redirect, at: cashier.now) {
            return checkoutPage(order, attempt, phone: entry, status: .unprocessableContent)
        }
        return try startAttempt(order, reuse: .usable) { order, attempt in checkoutPage(order, attempt, phone: entry, status: .unprocessableContent) }
    }

    /// `GET /pay/{link}/phone`: "approve on your phone" while the prompt waits (the page asks `/status` every two
    /// seconds, and refreshes itself without JavaScript), then the outcome page.
    func phonePage(_ request: Request) throws -> Response {
        let order = try order(fromToken: request.routeParameters["token"])
        let now = cashier.now
        guard let attempt = order.attempts.last, attempt.method == .push else { return .redirect(to: "/pay/" + link(order)) }
        if let waiting = Cashier.waitingPush(order, at: now) {
            return waitingPage(order, waiting, at: now)
        }
        // Past the prompt's lifetime with no word yet: the operator is asked; the page waits a little more.
        if order.status == .pending && !attempt.isSettled(in: order) {
            return waitingPage(order, attempt, at: now, late: true)
        }
        return outcomePage(order, outcome: order.status == .paid || order.status == .review ? "accept" : "decline", check: 0)
    }

    private func waitingPage(_ order: Order, _ attempt: Attempt, at now: Timestamp, late: Bool = false) -> Response {
        let words = pages.strings
        let language = order.language
        let link = link(order)
        let phone = attempt.phone?.displayed ?? ""
        let context: [String: Any] = [
            "order": Self.summary(order),
            "heading": words.word("push_wait_title", language),
            "message": words.word(late ? "push_wait_late_body" : "push_wait_body", language, [
                "amount": order.amount.formatted, "phone": phone, "operator": attempt.operator.displayName,
            ]),
            "phone": phone,
            "statusURL": "/pay/" + link + "/status",
            "refreshSeconds": 5, "noscriptRefreshURL": "/pay/" + link + "/phone",
            "secondsLeft": max(attempt.expiresAt.seconds - now.seconds, 0),
        ]
        var page = pages.page("phone-wait", language, title: words.word("push_wait_title", language) + " · " + order.brand, context)
        page.headers.append(("Cache-Control", "no-store"))
        return page
    }

    /// `GET /pay/{link}/status`: `{"status": "waiting" | <the order's status>, "url": <the page to show>}` for the
    /// waiting page's script.
    func phoneStatus(_ request: Request) throws -> Response {
        let order = try order(fromToken: request.routeParameters["token"])
        let now = cashier.now
        let waiting = order.status == .pending && order.attempts.last.map { $0.method == .push && !$0.isSettled(in: order) } == true
        let link = link(order)
        let body: [String: Any] = [
            "status": waiting ? "waiting" : order.status.rawValue,
            "url": waiting ? "/pay/" + link + "/phone" : order.status == .paid || order.status == .review ? "/return/accept?order=" + link : "/pay/" + link,
            "seconds_left": order.attempts.last.map { max($0.expiresAt.seconds - now.seconds, 0) } ?? 0,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var response = Response.json(Array(data), status: .ok)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }
}
