import Cashier
import FastCGI
import Foundation
import Metrics
import OrderStorage
import Payments
import Prometheus
import Support
import Webhooks

/// `GET /metrics`, Prometheus' text format: every metric the modules record through swift-metrics, with the
/// Prometheus backend (swift-prometheus) bootstrapped by `cross serve`, and the gauges only a scrape can tell
/// (disk headroom, webhook backlog, busy workers) measured as it is answered. Behind the dashboard's credentials
/// (docs/monitoring.md says why).
public final class MetricsEndpoint: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// What is measured at each scrape, before the registry is written out.
    private let collectors = Lock<[@Sendable () -> Void]>([])

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Makes the Prometheus backend swift-metrics' for the whole process (once: `cross serve`).
    public static func bootstrap() -> MetricsEndpoint {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(factory(registry))
        return MetricsEndpoint(registry: registry)
    }

    /// The backend with Cross's buckets: a journal sync takes well under a millisecond to tens of them, a group
    /// is one record to a few hundred.
    static func factory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["cross_journal_sync_duration_seconds"] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        factory.valueHistogramBuckets["cross_journal_sync_group_records"] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        return factory
    }

    /// Runs `collect` at every scrape: it sets gauges in `registry` (`registry.makeGauge(name:).set(…)`).
    public func addCollector(_ collect: @escaping @Sendable () -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// `cross_fastcgi_workers`, and `cross_fastcgi_workers_busy`: those serving a request besides the one that
    /// answers the scrape.
    public func addWorkers(of server: Server) {
        addCollector { [registry] in
            registry.makeGauge(name: "cross_fastcgi_workers").set(Int64(server.workerCount))
            registry.makeGauge(name: "cross_fastcgi_workers_busy").set(Int64(max(0, server.inFlight - 1)))
        }
    }

    /// `cross_webhook_pending_events`: events not yet delivered to every endpoint (nor given up);
    /// `cross_webhook_oldest_pending_age_seconds`: how long ago the oldest of them was raised (0 when none). From
    /// the courier's schedule in memory: a scrape reads no event file, however long the backlog.
    public func addWebhookBacklog(of courier: WebhookCourier, now: @escaping @Sendable () -> Timestamp = { .now() }) {
        addCollector { [registry] in
            let backlog = courier.backlog
            registry.makeGauge(name: "cross_webhook_pending_events").set(Int64(backlog.pending))
            registry.makeGauge(name: "cross_webhook_oldest_pending_age_seconds").set(backlog.oldestCreatedAt.map { max(0, now().seconds - $0.seconds) } ?? 0)
        }
    }

    func response() -> Response {
        for collect in collectors.withLock({ $0 }) { collect() }
        return Response(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: registry.emitToBuffer())
    }
}

/// The gauges of the data folder and the outbox, measured at each scrape.
enum ScrapeGauges {
    /// `cross_disk_free_bytes`: what the data folder's filesystem has left for Cross (statvfs' available blocks);
    /// `cross_disk_reserve_bytes`: what new orders leave for the orders already made (`disk_reserve_mb`).
    static func disk(_ directory: String, reserveBytes: Int64, into registry: PrometheusCollectorRegistry) {
        var info = statvfs()
        if statvfs(directory, &info) == 0 {
            registry.makeGauge(name: "cross_disk_free_bytes").set(Int64(info.f_bavail) * Int64(info.f_frsize))
        }
        registry.makeGauge(name: "cross_disk_reserve_bytes").set(reserveBytes)
    }
}

/// The reconciliation job's backlog as its last pass found it: `cross_reconciliation_open_attempts` (push attempts
/// without a final answer), `cross_reconciliation_oldest_open_attempt_age_seconds` (0 when none),
/// `cross_reconciliation_pending_refunds`, `cross_reconciliation_pending_payouts`,
/// `cross_reconciliation_last_pass_timestamp_seconds`, and `cross_reconciliation_passes_total{outcome}`.
enum ReconciliationMetrics {
    static func passed(_ report: Cashier.ReconciliationReport, at now: Timestamp) {
        Gauge(label: "cross_reconciliation_open_attempts").record(report.open)
        Gauge(label: "cross_reconciliation_oldest_open_attempt_age_seconds").record(report.oldestOpenSince.map { max(0, now.seconds - $0.seconds) } ?? 0)
        Gauge(label: "cross_reconciliation_pending_refunds").record(report.refundsPending)
        Gauge(label: "cross_reconciliation_pending_payouts").record(report.payoutsPending)
        Gauge(label: "cross_reconciliation_last_pass_timestamp_seconds").record(now.seconds)
        Counter(label: "cross_reconciliation_passes_total", dimensions: [("outcome", "done")]).increment()
    }

    static func failed() {
        Counter(label: "cross_reconciliation_passes_total", dimensions: [("outcome", "failed")]).increment()
    }
}
