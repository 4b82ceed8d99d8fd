import Metrics

/// The requests one worker served, through swift-metrics: `cross_http_requests_total` by route, method and status,
/// and `cross_http_request_duration_seconds` by route and method. One per worker thread, with its handlers in a
/// dictionary of its own: workers share no lock on the way of a request (the backend's registry is asked once
/// per new set of labels).
final class RequestMetrics {
    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private var handlers: [Key: (requests: Counter, duration: Metrics.Timer)] = [:]
    /// The route as a label: a secret segment of a pattern (the notification path's) left out, as in the log.
    private let routeLabel: (String) -> String

    /// The route of a request no pattern took: a 404, a 405, or one refused before routing (a body too large).
    static let unmatched = "unmatched"
    /// Any other method is `other`: the labels stay few whatever clients send.
    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    init(routeLabel: @escaping (String) -> String) {
        self.routeLabel = routeLabel
    }

    func record(route: String, method: String, status: Int, nanoseconds: UInt64) {
        let key = Key(route: route, method: Self.methods.contains(method) ? method : "other", status: status)
        let handler = handlers[key] ?? make(key)
        handler.requests.increment()
        handler.duration.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    private func make(_ key: Key) -> (requests: Counter, duration: Metrics.Timer) {
        let route = key.route.isEmpty ? Self.unmatched : routeLabel(key.route)
        let handler = (
            Counter(label: "cross_http_requests_total", dimensions: [("route", route), ("method", key.method), ("status", String(key.status))]),
            Metrics.Timer(label: "cross_http_request_duration_seconds", dimensions: [("route", route), ("method", key.method)])
        )
        handlers[key] = handler
        return handler
    }
}
