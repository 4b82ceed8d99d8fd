import FastCGI
import Foundation

/// Cross's HTTP surface: every route and the pages it answers with errors. Handlers stay thin; what they do
/// lives in the payment domain and the order store.
public struct Application: Sendable {
    public static let version = "0.1.0"

    public let pages: Pages
    public let router: Router
    public let workers: Int

    public init(pages: Pages, workers: Int, diagnostics: Bool = false) {
        self.pages = pages
        self.workers = workers
        var router = Router()
        router.get("/") { [pages] _ in
            pages.response("home", ["title": "Cross", "lang": "en", "version": Application.version, "workers": workers])
        }
        router.get("/healthz") { _ in .text("ok\n") }
        if diagnostics { DiagnosticRoutes.add(to: &router) }
        self.router = router
    }

    /// Browsers get an HTML page; API clients (`/api/…`, or asking for JSON) get `{"error": …}`.
    public var errorPage: ErrorPage {
        { [pages] error, request in
            let wantsJSON = request.map { $0.rawPath.hasPrefix("/api/") || ($0.header("accept") ?? "").contains("application/json") } ?? false
            if wantsJSON {
                let body = (try? JSONSerialization.data(withJSONObject: ["error": error.message], options: [.sortedKeys])) ?? Data()
                return .json(Array(body), status: error.status)
            }
            return pages.response("error", [
                "title": error.status.reason, "lang": "en", "heading": error.status.description, "message": error.message,
            ], status: error.status)
        }
    }
}
