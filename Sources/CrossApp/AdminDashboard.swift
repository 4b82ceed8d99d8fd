import FastCGI
import Foundation
import OrderStore
import Payments

/// The merchant's orders dashboard, `/admin/`: behind HTTP Basic authentication (`admin` in the
/// configuration; without it every `/admin` path is a 404), in French or English (`?lang=`).
///
///     /admin, /admin/orders        the orders, newest first, 50 a page: status, created dates, search
///     /admin/orders.csv?…          the same filter as CSV
///     /admin/orders/<key>          one order: fields, attempts, notifications, webhook deliveries
///     /admin/totals?from=&to=      paid orders per day of payment
///
/// Listings never read order files: they walk `AdminTable`, a compact copy of the order index kept in
/// memory (loaded on first use, then brought up to date from the index on each request, under one lock).
final class AdminDashboard: Sendable {
    let gate = AdminGate()
    let table = Lock(AdminTable())

    static let pageSize = 50

    // MARK: - One dashboard per store

    private struct Registered {
        weak var store: OrderStore?
        let dashboard: AdminDashboard
    }

    private static let registry = Lock<[Registered]>([])

    /// The dashboard of this store: routers are made per worker, the table and the remembered credentials are
    /// shared by all of them.
    static func of(_ store: OrderStore) -> AdminDashboard {
        registry.withLock { registered in
            registered.removeAll { $0.store == nil }
            if let found = registered.first(where: { $0.store === store }) { return found.dashboard }
            let dashboard = AdminDashboard()
            registered.append(Registered(store: store, dashboard: dashboard))
            return dashboard
        }
    }

    static func addRoutes(to router: inout Router, _ application: Application) {
        let dashboard = AdminDashboard.of(application.store)
        router.get("/admin") { request in try dashboard.guarded(request, application) { try dashboard.orders($0, request, application) } }
        router.get("/admin/orders") { request in try dashboard.guarded(request, application) { try dashboard.orders($0, request, application) } }
        router.get("/admin/orders.csv") { request in try dashboard.guarded(request, application) { _ in try dashboard.csv(request, application) } }
        router.get("/admin/orders/:key") { request in try dashboard.guarded(request, application) { try dashboard.order($0, request, application) } }
        router.get("/admin/totals") { request in try dashboard.guarded(request, application) { try dashboard.totals($0, request, application) } }
    }

    /// 404 when the dashboard is off, 401 (with the Basic challenge) without the right name and password.
    func guarded(_ request: Request, _ application: Application, _ body: (Language) throws -> Response) throws -> Response {
        guard let credentials = application.configuration.admin else { throw HTTPError(.notFound, "Nothing here.") }
        switch gate.check(request.header("Authorization"), credentials) {
        case .allowed:
            break
        case .missing:
            return AdminGate.unauthorized()
        case .refused:
            application.logger.warning("dashboard credentials refused", metadata: ["remote": "\(request.remoteAddress)"])
            return AdminGate.unauthorized()
        }
        let language = request.query["lang"].flatMap(Language.init(rawValue:)) ?? application.configuration.defaultLanguage
        var response = try body(language)
        response.setHeader("Cache-Control", "no-store")
        response.headers.append(("X-Frame-Options", "DENY"))
        response.headers.append(("X-Content-Type-Options", "nosniff"))
        return response
    }

    /// Runs `body` on the table brought up to date with the index.
    func withTable<Result>(_ application: Application, _ body: (AdminTable) throws -> Result) throws -> Result {
        try table.withLock { table in
            do {
                try table.refresh(path: application.store.index.path)
            } catch {
                application.logger.error("order index unreadable", metadata: ["error": "\(error)"])
                throw HTTPError(.serviceUnavailable, "The order index cannot be read right now; please try again shortly.")
            }
            return try body(table)
        }
    }

    // MARK: - The orders

    func orders(_ language: Language, _ request: Request, _ application: Application) throws -> Response {
        let query = AdminQuery(request.query, language: language)
        let filter = query.filter
        let requested = query.page
        let (total, page, rows) = try withTable(application) { table in
            var result = filter.page(requested, size: Self.pageSize, in: table)
            let pages = max(1, (result.total + Self.pageSize - 1) / Self.pageSize)
            if requested > pages {
                // Past the end: the last page.
                result = filter.page(pages, size: Self.pageSize, in: table)
                return (result.total, pages, result.rows.map { AdminRowView(table, $0) })
            }
            return (result.total, requested, result.rows.map { AdminRowView(table, $0) })
        }
        let words = application.pages.strings
        let pages = max(1, (total + Self.pageSize - 1) / Self.pageSize)
        var context = query.formContext(words)
        context["nav"] = query.navigation(path: "/admin/orders")
        context["rows"] = rows.map { $0.context(words, language, query) }
        context["total"] = String(total)
        context["page"] = String(page)
        context["pages"] = String(pages)
        if page > 1 { context["previousURL"] = query.url("/admin/orders", page: page - 1) }
        if page < pages { context["nextURL"] = query.url("/admin/orders", page: page + 1) }
        context["csvURL"] = query.url("/admin/orders.csv", page: nil, language: false)
        context["totalsURL"] = query.url("/admin/totals", page: nil, status: false, search: false)
        return application.pages.page("admin-orders", language, title: words.word("admin_orders", language) + " · Cross", context)
    }

    // MARK: - CSV

    func csv(_ request: Request, _ application: Application) throws -> Response {
        let query = AdminQuery(request.query, language: application.configuration.defaultLanguage)
        let filter = query.filter
        let body = try withTable(application) { table in AdminCSV.export(filter, table) }
        var response = Response(status: .ok, headers: [
            ("Content-Type", "text/csv; charset=utf-8"),
            ("Content-Disposition", "attachment; filename=\"orders.csv\""),
        ], body: body)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    // MARK: - Totals per day

    func totals(_ language: Language, _ request: Request, _ application: Application) throws -> Response {
        let query = AdminQuery(request.query, language: language)
        let from = query.from, until = query.until
        let days = try withTable(application) { table in AdminTotals.perDay(table, from: from, until: until) }
        let words = application.pages.strings
        var context = query.formContext(words)
        context["nav"] = query.navigation(path: "/admin/totals")
        context["days"] = days.map { day in
            ["day": AdminFormat.day(day.day), "count": String(day.count), "sum": AdminFormat.amount(day.sum)]
        }
        context["count"] = String(days.reduce(0) { $0 + $1.count })
        context["sum"] = AdminFormat.amount(days.reduce(0) { $0 + $1.sum })
        context["ordersURL"] = query.url("/admin/orders", page: nil, status: false, search: false)
        return application.pages.page("admin-totals", language, title: words.word("admin_totals", language) + " · Cross", context)
    }
}

/// What the list, the CSV and the totals were asked for, from the query string.
struct AdminQuery {
    var status: OrderStatus?
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

    var filter: AdminFilter {
        AdminFilter(status: status.map(AdminTable.statusCode), from: from, until: until, search: AdminSearch(search))
    }

    /// The query string of a link that keeps the current filter.
    func url(_ path: String, page: Int?, language includeLanguage: Bool = true, status includeStatus: Bool = true, search includeSearch: Bool = true, lang: Language? = nil) -> String {
        var pairs: [(String, String)] = []
        if includeStatus, let status { pairs.append(("status", status.rawValue)) }
        if !fromText.isEmpty { pairs.append(("from", fromText)) }
        if !toText.isEmpty { pairs.append(("to", toText)) }
        if includeSearch, !search.isEmpty { pairs.append(("q", search)) }
        if let page, page > 1 { pairs.append(("page", String(page))) }
        if includeLanguage { pairs.append(("lang", (lang ?? language).rawValue)) }
        return pairs.isEmpty ? path : path + "?" + URLEncoding.encodeForm(pairs)
    }

    /// The filter form's values and choices.
    func formContext(_ words: Strings) -> [String: Any] {
        var context: [String: Any] = [
            "from": fromText, "to": toText, "q": search, "language": language.rawValue,
            "statuses": AdminTable.statuses.map { candidate in
                [
                    "value": candidate.rawValue, "label": words.word("status_" + candidate.rawValue, language),
                    "selected": candidate == status,
                ] as [String: Any]
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
            "otherLanguage": url(path, page: page, lang: other),
            "otherLanguageCode": other.rawValue,
        ]
    }
}

/// A row of the list, copied out of the table while it is locked.
struct AdminRowView {
    let key: String
    let ref: String
    let phone: String
    let created: Int64
    let paidAt: Int64?
    let status: OrderStatus
    let amount: Int64

    init(_ table: AdminTable, _ id: Int32) {
        let row = table.rows[Int(id)]
        key = AdminTable.keyHex(row)
        ref = String(decoding: table.ref(row), as: UTF8.self)
        phone = String(decoding: table.phone(row), as: UTF8.self)
        created = row.created
        paidAt = row.paidAt == .min ? nil : row.paidAt
        status = AdminTable.statuses[Int(row.status)]
        amount = row.amount
    }

    func context(_ words: Strings, _ language: Language, _ query: AdminQuery) -> [String: Any] {
        var context: [String: Any] = [
            "url": "/admin/orders/" + key + "?lang=" + language.rawValue, "ref": ref, "phone": phone,
            "created": AdminFormat.time(created), "status": status.rawValue,
            "statusLabel": words.word("status_" + status.rawValue, language), "amount": AdminFormat.amount(amount),
        ]
        if let paidAt { context["paidAt"] = AdminFormat.time(paidAt) }
        return context
    }
}

/// Dates and amounts as the dashboard shows them (UTC, which is Lomé's time).
enum AdminFormat {
    /// `2026-11-26 15:23:28`.
    static func time(_ seconds: Int64) -> String {
        let text = Timestamp(seconds: seconds).iso8601
        return text.replacing("T", with: " ").replacing("Z", with: "")
    }

    static func time(_ timestamp: Timestamp?) -> String { timestamp.map { time($0.seconds) } ?? "" }

    /// `2026-11-26`, from a day number (days since 1970-01-01).
    static func day(_ day: Int64) -> String { String(Timestamp(seconds: day * 86_400).iso8601.prefix(10)) }

    /// `15 000 F CFA`.
    static func amount(_ francs: Int64) -> String {
        let digits = Array(String(francs.magnitude))
        var out = francs < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(" ") }
            out.append(digit)
        }
        return out + " F CFA"
    }
}
