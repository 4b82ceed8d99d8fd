import Foundation
import Metrics
import Prometheus
import Testing
@testable import CrossApp

/// Prometheus' text format as `/metrics` writes it, without a Prometheus: Cross's buckets and the gauges measured
/// at a scrape, behind the dashboard's credentials.
@Suite struct MetricsTests {
    @Test func theTextFormatWithCrossBuckets() {
        let registry = PrometheusCollectorRegistry()
        let factory = MetricsEndpoint.factory(registry)
        Counter(label: "cross_notifications_total", dimensions: [("outcome", "applied")], factory: factory).increment(by: 2)
        Counter(label: "cross_notifications_total", dimensions: [("outcome", "forbidden_address")], factory: factory).increment()
        Metrics.Timer(label: "cross_journal_sync_duration_seconds", factory: factory).recordMicroseconds(300)
        Metrics.Timer(label: "cross_journal_sync_duration_seconds", factory: factory).recordMilliseconds(3)
        Recorder(label: "cross_journal_sync_group_records", factory: factory).record(3)
        let text = registry.emitToString()
        #expect(text.contains("# TYPE cross_notifications_total counter\n"))
        #expect(text.contains("cross_notifications_total{outcome=\"applied\"} 2\n"))
        #expect(text.contains("cross_notifications_total{outcome=\"forbidden_address\"} 1\n"))
        #expect(text.contains("# TYPE cross_journal_sync_duration_seconds histogram\n"))
        #expect(text.contains("cross_journal_sync_duration_seconds_bucket{le=\"0.00025\"} 0\n"))
        #expect(text.contains("cross_journal_sync_duration_seconds_bucket{le=\"0.0005\"} 1\n"))
        #expect(text.contains("cross_journal_sync_duration_seconds_bucket{le=\"0.002\"} 1\n"))
        #expect(text.contains("cross_journal_sync_duration_seconds_bucket{le=\"0.005\"} 2\n"))
        #expect(text.contains("cross_journal_sync_duration_seconds_bucket{le=\"+Inf\"} 2\n"))
        #expect(text.contains("cross_journal_sync_duration_seconds_sum 0.0033\n"))
        #expect(text.contains("cross_journal_sync_duration_seconds_count 2\n"))
        #expect(text.contains("cross_journal_sync_group_records_bucket{le=\"2.0\"} 0\n"))
        #expect(text.contains("cross_journal_sync_group_records_bucket{le=\"4.0\"} 1\n"))
        #expect(text.contains("cross_journal_sync_group_records_sum 3.0\n"))
    }

    @Test func metricsBehindTheDashboardsCredentialsWithTheScrapeGauges() throws {
        let metrics = MetricsEndpoint(registry: PrometheusCollectorRegistry())
        let world = try World(settings: Admin.settings.merging(["disk_reserve_mb": 5]) { $1 }, metrics: metrics)
        metrics.addWebhookBacklog(of: world.courier())
        #expect(world.send("GET", "/metrics").status.code == 401)
        #expect(world.send("GET", "/metrics", headers: ["Authorization": Admin.basic(Admin.user, "guess")]).status.code == 401)
        let scrape = world.send("GET", "/metrics", headers: ["Authorization": Admin.authorization])
        #expect(scrape.status.code == 200)
        #expect(scrape.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let text = String(decoding: scrape.body, as: UTF8.self)
        #expect(text.contains("# TYPE cross_disk_reserve_bytes gauge\ncross_disk_reserve_bytes 5242880.0\n"), "\(text)")
        #expect(text.contains("cross_webhook_pending_events 0.0\n"))
        #expect(text.contains("cross_webhook_oldest_pending_age_seconds 0.0\n"))
        let free = text.split(separator: "\n").first { $0.hasPrefix("cross_disk_free_bytes ") }.flatMap { Double($0.split(separator: " ")[1]) }
        #expect((free ?? 0) > 0)
    }

    /// The use cases' counters, each recorded into a factory of this test's own (swift-metrics' task-local one), so
    /// that other suites running meanwhile add nothing: notifications by outcome, status changes, a gateway that
    /// fails counted by its kind of failure.
    @Test func notificationsStatusChangesAndGatewayFailuresAreCounted() throws {
        let registry = PrometheusCollectorRegistry()
        try withMetricsFactory(MetricsEndpoint.factory(registry)) {
            let world = try World(gateway: { _ in .respond(status: 503, body: "down") })
            let (_, checkout) = try world.createOrder(["purchaseref": "MET-1", "amount": 15000])
            try world.createOrder(["purchaseref": "MET-2", "amount": 15000])
            #expect(world.send("GET", checkout).status != .ok)
            #expect(world.notify(World.okParameters("MET-1")).status == .ok)
            #expect(world.notify(World.okParameters("MET-1")).status == .ok)
            #expect(world.notify(World.okParameters("MET-2", amount: "150", payid: "P2")).status == .ok)
            #expect(world.notify(World.okParameters("MET-9")).status == .notFound)
            #expect(world.notify([("purchaseref", "MET-2")]).status == .badRequest)
            #expect(world.notify(World.okParameters("MET-2"), remote: "192.0.2.7").status == .forbidden)
        }
        let text = registry.emitToString()
        for line in [
            #"cross_notifications_total{outcome="applied"} 2"#, #"cross_notifications_total{outcome="duplicate"} 1"#,
            #"cross_notifications_total{outcome="unknown_order"} 1"#, #"cross_notifications_total{outcome="invalid"} 1"#,
            #"cross_notifications_total{outcome="forbidden_address"} 1"#,
            #"cross_order_status_changes_total{from="none",to="pending"} 2"#, #"cross_order_status_changes_total{from="pending",to="paid"} 1"#,
            #"cross_order_status_changes_total{from="pending",to="review"} 1"#,
            #"cross_gateway_call_errors_total{operator="tmoney",call="session",error="http_status"} 1"#,
            #"cross_gateway_call_duration_seconds_count{operator="tmoney",call="session"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "\(line) in \(text)")
        }
    }

    @Test func noMetricsRouteWithoutABackend() throws {
        let world = try World(settings: Admin.settings)
        #expect(world.send("GET", "/metrics", headers: ["Authorization": Admin.authorization]).status.code == 404)
    }
}
