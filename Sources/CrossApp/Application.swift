import FastCGI
import Foundation
import Logging
import OrderStore
import Payments

/// Cross's HTTP surface: every route, and the pages it answers errors with. Handlers stay thin: what they
/// decide lives in the payment domain (`Payments`), what they keep in the `OrderStore`.
public struct Application: Sendable {
    public static let version = "0.2.0"

    public let configuration: Configuration
    public let store: OrderStore
    public let gateway: Gateway
    public let pages: Pages
    public let links: OrderLink
    let logger: Logger
    let checkoutPages = CheckoutPageCache()

    public init(configuration: Configuration, store: OrderStore, pages: Pages, logger: Logger = Logger(label: "cross")) {
        self.configuration = configuration
        self.store = store
        self.pages = pages
        self.logger = logger
        gateway = Gateway(
            baseURL: configuration.gatewayURL, merchantID: configuration.merchantID,
            timeoutSeconds: configuration.gatewayTimeoutSeconds)
        links = OrderLink(secret: configuration.linkSecret)
    }

    /// A router of its own for each worker (see `Server`): routes are cheap to build.
    public func makeRouter(diagnostics: Bool = false) -> Router {
        var router = Router()
        router.get("/") { [self] _ in
            pages.page("home", configuration.defaultLanguage, title: "Cross", ["version": Application.version])
        }
        router.get("/healthz") { _ in .text("ok\n") }
        router.post("/api/orders") { [self] in try createOrder($0) }
        router.post("/checkout") { [self] in try buttonCheckout($0) }
        router.get("/api/orders/:ref") { [self] in try getOrder($0) }
        router.get("/pay/:token") { [self] in try checkout($0) }
        router.post("/pay/:token/retry") { [self] in try retry($0) }
        router.get("/return/:outcome") { [self] in try returnPage($0) }
        router.get(configuration.notificationPath) { [self] in try notify($0) }
        // The orders dashboard, /admin/… (a 404 unless `admin` is configured): AdminDashboard.swift.
        AdminDashboard.addRoutes(to: &router, self)
        if diagnostics { DiagnosticRoutes.add(to: &router) }
        return router
    }

    /// Browsers get a page in the configured language; the API (`/api/…`), and clients asking for JSON, get
    /// `{"error": …}`; TMoney's notification calls get plain text.
    public var errorPage: ErrorPage {
        { [pages, configuration] error, request in
            let path = request?.rawPath ?? ""
            if path == configuration.notificationPath {
                return .text(error.message + "\n", status: error.status)
            }
            if path.hasPrefix("/api/") || (request?.header("accept") ?? "").contains("application/json") {
                return Self.json(["error": error.message], status: error.status)
            }
            return pages.page("error", configuration.defaultLanguage, title: error.status.reason, [
                "heading": error.status.description, "message": error.message,
            ], status: error.status)
        }
    }

    // MARK: - Shared helpers

    func publicLink(_ order: Order) -> String { links.token(for: order.key) }

    func checkoutURL(_ order: Order) -> String { configuration.publicURL + "/pay/" + publicLink(order) }

    /// The order a shopper's link names, or a 404 page in the configured language.
    func order(fromToken token: String?) throws -> Order {
        guard let token, let key = links.orderKey(fromToken: token), let order = try storeCall({ try store.load(key) }) else {
            let language = configuration.defaultLanguage
            let page = pages.page("message", language, title: pages.strings.word("not_found_title", language), [
                "heading": pages.strings.word("not_found_title", language),
                "message": pages.strings.word("not_found_body", language),
            ], status: .notFound)
            throw HTTPError(page: page, message: "no such order")
        }
        return order
    }

    /// Store failures as HTTP: the disk (full, read-only, broken) is a 503 to try again later; a damaged order
    /// file is a 500 that an operator must look at.
    func storeCall<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StoreError {
            switch error {
            case .unavailable(let reason):
                logger.error("storage unavailable", metadata: ["error": "\(reason)"])
                throw HTTPError(.serviceUnavailable, "Orders cannot be saved right now. Nothing was changed; please try again shortly.")
            case .damaged(let path, let reason):
                logger.critical("order file damaged", metadata: ["path": "\(path)", "error": "\(reason)"])
                throw HTTPError(.internalServerError, "This order's record needs an operator's attention.")
            }
        }
    }

    static func json(_ object: [String: Any], status: HTTPStatus) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return .json(Array(body), status: status)
    }

    static func json<T: Encodable>(_ value: T, status: HTTPStatus) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return .json(Array((try? encoder.encode(value)) ?? Data("{}".utf8)), status: status)
    }
}

