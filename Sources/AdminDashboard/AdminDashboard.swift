import FastCGI
import Foundation
import Logging
import OrderStorage
import Payments
import Support
import WebPages

/// The merchant's orders dashboard, `/admin/`: behind HTTP Basic authentication (`admin` in the
/// configuration; without it every `/admin` path is a 404), in French or English (`?lang=`).
///
///     /admin, /admin/orders        the orders, newest first, 50 a page: status, operator, created dates, search
///     /admin/orders.csv?…          the same filter as CSV
///     /admin/orders/<key>          one order: fields, attempts, operators' events, webhook deliveries
///     /admin/totals?from=&to=      paid orders per day of payment, per operator and in all
///
/// Listings never read order files: they are the store's `listing` queries.
public struct Dashboard: Sendable {
    let store: any OrderStore
    let pages: Pages
    /// Who may open it; nil: the dashboard is off.
    let credentials: AdminCredentials?
    let defaultLanguage: Language
    let logger: Logger
    let gate: AdminGate
    let clock: @Sendable () -> Timestamp

    static let pageSize = 50

    /// `upgradedHashPath`: where a hash made anew with today's rounds is kept, for a configured one of fewer.
    public init(
        store: any OrderStore, pages: Pages, credentials: AdminCredentials?, defaultLanguage: Language, upgradedHashPath: String? = nil,
        clock: @escaping @Sendable () -> Timestamp = { .now() }, logger: Logger
    ) {
        self.clock = clock
        self.store = store
        self.pages = pages
        self.credentials = credentials
        self.defaultLanguage = defaultLanguage
        self.logger = logger
        gate = AdminGate(upgradePath: upgradedHashPath)
    }

    public func addRoutes(to router: inout Router) {
        router.get("/admin") { [self] request in try guarded(request) { try orders($0, request) } }
        router.get("/admin/orders") { [self] request in try guarded(request) { try orders($0, request) } }
        router.get("/admin/orders.csv") { [self] request in try guarded(request) { _ in try csv(request) } }
        router.get("/admin/orders/:key") { [self] request in try guarded(request) { try order($0, request) } }
        router.get("/admin/totals") { [self] request in try guarded(request) { try totals($0, request) } }
        router.get("/admin/payouts") { [self] request in try guarded(request) { try payouts($0, request) } }
    }

    /// 404 when the dashboard is off, 401 (with the Basic challenge) without the right name and password
    /// (`/metrics` is behind it too).
    public func guarded(_ request: Request, _ body: (Language) throws -> Response) throws -> Response {
        guard let credentials else { throw HTTPError(.notFound, "Nothing here.") }
        let outcome = gate.check(request.header("Authorization"), credentials, from: request.remoteAddress, at: clock().seconds)
        switch outcome {
        case .allowed:
            break
        case .missing:
            return AdminGate.unauthorized()
        case .refused:
            logger.warning("dashboard credentials refused", metadata: ["remote": "\(request.remoteAddress)"])
            return AdminGate.unauthorized()
        case .tooManyFailures, .busy:
            logger.warning("dashboard sign-in not checked", metadata: [
                "remote": "\(request.remoteAddress)", "reason": "\(outcome == .busy ? "every password check place taken" : "too many failures this minute")",
            ])
            return AdminGate.later(outcome)
        }
        let language = request.query["lang"].flatMap(Language.init(rawValue:)) ?? defaultLanguage
        var response = try body(language)
        response.setHeader("Cache-Control", "no-store")
        response.headers.append(("X-Frame-Options", "DENY"))
        response.headers.append(("X-Content-Type-Options", "nosniff"))
        return response
    }

    // MARK: - The orders

    func orders(_ language: Language, _ request: Request) throws -> Response {
        let query = AdminQuery(request.query, language: language)
        let (total, page, orders) = try store.listing.page(query.orderQuery, number: query.page, size: Self.pageSize)
        let words = pages.strings
        let pageCount = max(1, (total + Self.pageSize - 1) / Self.pageSize)
        var context = query.formContext(words)
        context["nav"] = query.navigation(path: "/admin/orders")
        context["rows"] = orders.map { Self.row($0, words, language) }
        context["total"] = String(total)
        context["page"] = String(page)
        context["pages"] = String(pageCount)
        if page > 1 { context["previousURL"] = query.url("/admin/orders", page: page - 1) }
        if page < pageCount { context["nextURL"] = query.url("/admin/orders", page: page + 1) }
        context["csvURL"] = query.url("/admin/orders.csv", page: nil, language: false)
        // The totals split every day by operator: an operator filter has no meaning there.
        context["totalsURL"] = query.url("/admin/totals", page: nil, status: false, operator: false, search: false)
        return pages.page("admin-orders", language, title: words.word("admin_orders", language) + " · Cross", context)
    }

    static func row(_ order: OrderSummary, _ words: StringTable, _ language: Language) -> [String: Any] {
        var context: [String: Any] = [
            "url": "/admin/orders/" + order.key.hex + "?lang=" + language.rawValue, "ref": order.ref, "phone": order.phone,
            "created": AdminFormat.time(order.createdAt), "status": order.status.rawValue,
            "statusLabel": words.word("status_" + order.status.rawValue, language), "amount": Amount.formatted(francs: order.amount),
            "operator": order.operator?.rawValue ?? "none",
            "operatorName": order.operator?.displayName ?? words.word("admin_operator_none", language),
        ]
        if let paidAt = order.paidAt { context["paidAt"] = AdminFormat.time(paidAt) }
        return context
    }

    // MARK: - CSV

    func csv(_ request: Request) throws -> Response {
        let query = AdminQuery(request.query, language: defaultLanguage)
        var response = Response(status: .ok, headers: [
            ("Content-Type", "text/csv; charset=utf-8"),
            ("Content-Disposition", "attachment; filename=\"orders.csv\""),
        ], body: try AdminCSV.export(query.orderQuery, store.listing))
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    // MARK: - Totals per day

    func totals(_ language: Language, _ request: Request) throws -> Response {
        let query = AdminQuery(request.query, language: language)
        let days = try store.listing.paidTotals(from: query.from, until: query.until)
        let words = pages.strings
        var context = query.formContext(words)
        context["nav"] = query.navigation(path: "/admin/totals")
        // A column for every operator Cross speaks, even one without a payment in the span: the table's shape
        // does not change with the dates chosen.
        func cells(_ sums: [DayTotal.Sum]) -> [[String: String]] {
            zip(Operator.allCases, sums).map { name, sum in
                ["operator": name.rawValue, "count": String(sum.count), "sum": Amount.formatted(francs: sum.sum)]
            }
        }
        context["operatorColumns"] = Operator.allCases.map { ["name": $0.displayName, "value": $0.rawValue] }
        context["columns"] = String(3 + Operator.allCases.count)
        context["days"] = days.map { day -> [String: Any] in
            [
                "day": AdminFormat.day(day.day), "count": String(day.count), "sum": Amount.formatted(francs: day.sum),
                "byOperator": cells(Operator.allCases.map { day[$0] }),
            ]
        }
        context["count"] = String(days.reduce(0) { $0 + $1.count })
        context["sum"] = Amount.formatted(francs: days.reduce(0) { $0 + $1.sum })
        context["operatorTotals"] = cells(Operator.allCases.map { name in
            days.reduce(DayTotal.Sum(count: 0, sum: 0)) { DayTotal.Sum(count: $0.count + $1[name].count, sum: $0.sum + $1[name].sum) }
        })
        context["ordersURL"] = query.url("/admin/orders", page: nil, status: false, operator: false, search: false)
        return pages.page("admin-totals", language, title: words.word("admin_totals", language) + " · Cross", context)
    }
}

extension Dashboard {
    /// `/admin/payouts`: every payout, newest first, with its credit's state.
    func payouts(_ language: Language, _ request: Request) throws -> Response {
        let query = AdminQuery(request.query, language: language)
        let words = pages.strings
        var context: [String: Any] = ["nav": query.navigation(path: "/admin/payouts")]
        let payouts = try (store as? any PayoutStore)?.allPayouts() ?? []
        context["payouts"] = payouts.map { payout -> [String: Any] in
            var row: [String: Any] = [
                "created": AdminFormat.time(payout.createdAt), "reference": payout.reference, "phone": payout.phone.displayed,
                "amount": Amount.formatted(francs: payout.amount), "status": payout.status.rawValue,
                "statusLabel": words.word("refund_status_" + payout.status.rawValue, language), "description": payout.description,
                "operatorReference": payout.operatorReference ?? "", "failure": payout.failure ?? "", "sends": String(payout.sends),
            ]
            if let check = payout.lastCheck { row["lastCheck"] = AdminFormat.time(check.at) + " · " + check.result }
            return row
        }
        context["paidOut"] = Amount.formatted(francs: payouts.filter { $0.status == .succeeded }.reduce(0) { $0 + $1.amount })
        return pages.page("admin-payouts", language, title: words.word("admin_payouts", language) + " · Cross", context)
    }
}

/// What the list, the CSV and the totals were asked for, from the query string.
struct AdminQuery {
    var status: OrderStatus?
    var `operator`: Operator?
    var fromText = ""
    var toText = ""
    var search = ""
    var from: Int64?
    /// The end of the `to` day (exclusive).
    var until: Int64?
    var page = 1
    var language: Language
    /// The dates that were given but are not dates.
    var invalid: [String] = []

    init(_ query: Parameters, language: Language) {
        self.language = language
        status = query["status"].flatMap(OrderStatus.init(rawValue:))
        // Unknown (or empty: "all"): no operator filter, as for the status.
        self.operator = query["operator"].flatMap(Operator.init(rawValue:))
        search = (query["q"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if search.count > 250 { search = String(search.prefix(250)) }
        fromText = (query["from"] ?? "").trimmingCharacters(in: .whitespaces)
        toText = (query["to"] ?? "").trimmingCharacters(in: .whitespaces)
        if !fromText.isEmpty {
            if fromText.utf8.count == 10, let date = Timestamp(iso8601: fromText) { from = date.seconds } else { invalid.append(fromText) }
        }
        if !toText.isEmpty {
            if toText.utf8.count == 10, let date = Timestamp(iso8601: toText) { until = date.seconds + 86_400 } else { invalid.append(toText) }
        }
        page = max(1, min(Int(query["page"] ?? "1") ?? 1, 10_000_000))
    }

    var orderQuery: OrderQuery {
        OrderQuery(status: status, operator: self.operator, createdFrom: from, createdUntil: until, search: search)
    }

    /// The query string of a link that keeps the current filter.
    func url(
        _ path: String, page: Int?, language includeLanguage: Bool = true, status includeStatus: Bool = true, operator includeOperator: Bool = true,
        search includeSearch: Bool = true, lang: Language? = nil
    ) -> String {
        var pairs: [(String, String)] = []
        if includeStatus, let status { pairs.append(("status", status.rawValue)) }
        if includeOperator, let chosen = self.operator { pairs.append(("operator", chosen.rawValue)) }
        if !fromText.isEmpty { pairs.append(("from", fromText)) }
        if !toText.isEmpty { pairs.append(("to", toText)) }
        if includeSearch, !search.isEmpty { pairs.append(("q", search)) }
        if let page, page > 1 { pairs.append(("page", String(page))) }
        if includeLanguage { pairs.append(("lang", (lang ?? language).rawValue)) }
        return pairs.isEmpty ? path : path + "?" + URLEncoding.encodeForm(pairs)
    }

    /// The filter form's values and choices.
    func formContext(_ words: StringTable) -> [String: Any] {
        var context: [String: Any] = [
            "from": fromText, "to": toText, "q": search, "language": language.rawValue,
            "statuses": OrderStatus.allCases.map { candidate in
                [
                    "value": candidate.rawValue, "label": words.word("status_" + candidate.rawValue, language),
                    "selected": candidate == status,
                ] as [String: Any]
            },
            "operators": Operator.allCases.map { candidate in
                ["value": candidate.rawValue, "label": candidate.displayName, "selected": candidate == self.operator] as [String: Any]
            },
        ]
        if !invalid.isEmpty { context["invalidDates"] = invalid.joined(separator: ", ") }
        return context
    }

    /// The links of the top bar; the language switch keeps the page and its filter.
    func navigation(path: String) -> [String: Any] {
        let other: Language = language == .fr ? .en : .fr
        return [
            "orders": "/admin/orders?lang=" + language.rawValue,
            "totals": "/admin/totals?lang=" + language.rawValue,
            "payouts": "/admin/payouts?lang=" + language.rawValue,
            "otherLanguage": url(path, page: page, lang: other),
            "otherLanguageCode": other.rawValue,
        ]
    }
}

/// Dates and amounts as the dashboard shows them (UTC, which is Lomé's time).
enum AdminFormat {
    /// `2026-11-26 15:23:28`.
    static func time(_ seconds: Int64) -> String { UTCTime.string(seconds: seconds, separator: UInt8(ascii: " "), zone: false) }

    static func time(_ timestamp: Timestamp?) -> String { timestamp.map { time($0.seconds) } ?? "" }

    /// `2026-11-26`, from a day number (days since 1970-01-01).
    static func day(_ day: Int64) -> String {
        var out: [UInt8] = []
        UTCTime.appendDate(day: day, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
