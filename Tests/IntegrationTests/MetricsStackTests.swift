import Foundation
import Testing
import TestStack

/// `/metrics` as a real Prometheus scrapes it through nginx, behind the dashboard's credentials: after a known
/// sequence of requests, the counters Prometheus stored are exactly those requests.
@Suite(.serialized) struct MetricsStackTests {
    static let credentials = (user: "admin", password: Security.password)

    @Test func prometheusScrapesTheCountsOfAKnownSequence() throws {
        let gateway = try HTTPStandIn { _ in .respond(status: 200, body: "OK:27875690759565722269644474422394") }
        defer { gateway.stop() }
        let stack = try Stack(
            name: "metrics", settings: ["gateway_url": gateway.url, "admin": ["user": Self.credentials.user, "password_hash": Security.passwordHash]])
        defer { stack.stop() }
        let prometheus = try PrometheusServer(
            directory: stack.runDirectory + "/prometheus", job: "cross", target: "127.0.0.1:\(stack.port)", credentials: Self.credentials)
        defer { prometheus.stop() }

        // Three orders, each checked out (a TMoney Online session each), one paid by its notification, which then
        // comes again; one notification from an address TMoney does not use, one for an order that does not exist.
        for index in 1...3 {
            let order = try stack.createOrder("CMD-M\(index)")
            let checkout = String(try #require(order["checkout_url"] as? String).dropFirst(stack.base.count))
            #expect(try HTTPClient.get(stack.port, checkout).status == 200)
        }
        #expect(try HTTPClient.get(stack.port, Stack.notification("CMD-M1")).text == "OK")
        #expect(try HTTPClient.get(stack.port, Stack.notification("CMD-M1")).text == "OK")
        #expect(try HTTPClient.get(stack.port, Stack.notification("CMD-M2"), from: "127.0.0.2").status == 403)
        #expect(try HTTPClient.get(stack.port, Stack.notification("CMD-NONE")).status == 404)
        #expect(try HTTPClient.get(stack.port, "/no-such-page").status == 404)
        let done = Date()

        try prometheus.waitForScrape(of: "cross", after: done)
        func value(_ promql: String) throws -> Double? { try prometheus.value(promql) }
        #expect(try value(#"cross_http_requests_total{route="/api/orders",method="POST",status="201"}"#) == 3)
        #expect(try value(#"cross_http_requests_total{route="/pay/:token",method="GET",status="200"}"#) == 3)
        #expect(try value(#"cross_http_requests_total{route="/notify",method="GET",status="200"}"#) == 2)
        #expect(try value(#"cross_http_requests_total{route="/notify",method="GET",status="403"}"#) == 1)
        #expect(try value(#"cross_http_requests_total{route="/notify",method="GET",status="404"}"#) == 1)
        #expect(try value(#"cross_http_requests_total{route="unmatched",method="GET",status="404"}"#) == 1)
        #expect(try value(#"cross_http_request_duration_seconds_count{route="/pay/:token",method="GET"}"#) == 3)
        #expect(try value(#"cross_notifications_total{outcome="applied"}"#) == 1)
        #expect(try value(#"cross_notifications_total{outcome="duplicate"}"#) == 1)
        #expect(try value(#"cross_notifications_total{outcome="forbidden_address"}"#) == 1)
        #expect(try value(#"cross_notifications_total{outcome="unknown_order"}"#) == 1)
        #expect(try value(#"cross_order_status_changes_total{from="none",to="pending"}"#) == 3)
        #expect(try value(#"cross_order_status_changes_total{from="pending",to="paid"}"#) == 1)
        #expect(try value(#"cross_gateway_call_duration_seconds_count{operator="tmoney",call="session"}"#) == 3)
        #expect(try value(#"sum(cross_gateway_call_errors_total)"#) ?? 0 == 0)
        // Every journal record this process wrote was made durable by one group sync or another.
        let journalLines = try String(contentsOfFile: stack.dataDirectory + "/journal/segment-000001.jsonl", encoding: .utf8)
            .split(separator: "\n").count
        #expect(try value("cross_journal_sync_group_records_sum") == Double(journalLines))
        #expect(try value("cross_journal_sync_duration_seconds_count") ?? 0 > 0)
        #expect(try value("cross_disk_reserve_bytes") == Double(64 << 20))
        #expect(try value("cross_disk_free_bytes") ?? 0 > 0)
        #expect(try value("cross_webhook_pending_events") == 0)
        #expect(try value("cross_fastcgi_workers") == 16)
        #expect(try value("cross_fastcgi_workers_busy") == 0)
    }

    /// Paying from the phone against the sandbox playing MBANKING: the debit and status calls timed for `tmoney`,
    /// the callback counted as checked, a callback that is not one as invalid, and reconciliation's passes.
    @Test func prometheusScrapesAPhonePaymentsCalls() throws {
        let stack = try Stack(
            name: "metrics-push", settings: ["admin": ["user": Self.credentials.user, "password_hash": Security.passwordHash]], sandbox: true)
        defer { stack.stop() }
        let prometheus = try PrometheusServer(
            directory: stack.runDirectory + "/prometheus", job: "cross", target: "127.0.0.1:\(stack.port)", credentials: Self.credentials)
        defer { prometheus.stop() }

        try stack.createOrder("PUSH-M1")
        let pushed = try HTTPClient.json(stack.port, "POST", "/api/orders/PUSH-M1/push", #"{"phone":"90 00 00 01"}"#, apiKey: Stack.apiKey)
        #expect(pushed.status == 202, "\(pushed.text)")
        let prompts = try stack.sandboxJSON("GET", "/sandbox/api/prompts?phone=90000001").json as? [[String: Any]]
        let prompt = try #require(prompts?.first?["id"] as? String)
        #expect(try stack.sandboxJSON("POST", "/sandbox/api/prompts/" + prompt, #"{"pin":"1234"}"#).status == 200)
        #expect(try stack.order("PUSH-M1", becomes: "paid") != nil)
        let bad = try HTTPClient.post(stack.port, "/callbacks/tmoney", body: Array("not json".utf8), contentType: "application/json")
        #expect(bad.status == 400)
        let done = Date()

        try prometheus.waitForScrape(of: "cross", after: done)
        func value(_ promql: String) throws -> Double? { try prometheus.value(promql) }
        #expect(try value(#"cross_gateway_call_duration_seconds_count{operator="tmoney",call="debit"}"#) == 1)
        #expect(try value(#"cross_gateway_call_duration_seconds_count{operator="tmoney",call="status"}"#) ?? 0 >= 1)
        #expect(try value(#"sum(cross_gateway_call_errors_total)"#) ?? 0 == 0)
        #expect(try value(#"cross_operator_callbacks_total{operator="tmoney",outcome="checked"}"#) == 1)
        #expect(try value(#"cross_operator_callbacks_total{operator="tmoney",outcome="invalid"}"#) == 1)
        #expect(try value(#"cross_http_requests_total{route="/callbacks/tmoney",method="POST",status="200"}"#) == 1)
        #expect(try value(#"cross_order_status_changes_total{from="pending",to="paid"}"#) == 1)
        #expect(try value(#"cross_reconciliation_passes_total{outcome="done"}"#) ?? 0 >= 1)
        #expect(try value("cross_reconciliation_last_pass_timestamp_seconds") ?? 0 > 0)
    }

    /// docs/prometheus/: the sample configuration and the alert rules are what Prometheus accepts, and the rules
    /// fire as their unit tests say.
    @Test func theSampleConfigurationAndAlertRulesPassPromtool() throws {
        let docs = Stack.root + "/docs/prometheus"
        let rules = try PrometheusServer.promtool(["check", "rules", docs + "/alerts.yml"])
        #expect(rules.status == 0, "\(rules.output)")
        #expect(rules.output.contains("SUCCESS: 4 rules found"), "\(rules.output)")
        let configuration = try PrometheusServer.promtool(["check", "config", docs + "/prometheus.yml"])
        #expect(configuration.status == 0, "\(configuration.output)")
        // Each alert fires on what it is for, and not on what it is not (docs/prometheus/alerts-test.yml).
        let behaviour = try PrometheusServer.promtool(["test", "rules", docs + "/alerts-test.yml"])
        #expect(behaviour.status == 0 && behaviour.output.contains("SUCCESS"), "\(behaviour.output)")
    }

    @Test func metricsNeedTheDashboardsCredentials() throws {
        let stack = try Stack(name: "metrics-auth", settings: ["admin": ["user": Self.credentials.user, "password_hash": Security.passwordHash]])
        defer { stack.stop() }
        let anonymous = try HTTPClient.get(stack.port, "/metrics")
        #expect(anonymous.status == 401)
        #expect(!anonymous.text.contains("cross_"))
        let wrong = try HTTPClient.get(stack.port, "/metrics", headers: [("Authorization", Security.basic("admin", "guess"))])
        #expect(wrong.status == 401)
        let scrape = try HTTPClient.get(stack.port, "/metrics", headers: [("Authorization", Security.basic(Self.credentials.user, Self.credentials.password))])
        #expect(scrape.status == 200)
        #expect(scrape.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(scrape.text.contains("# TYPE cross_http_requests_total counter"))
        // Without a dashboard there is nothing to sign in to, and no metrics.
        let bare = try Stack(name: "metrics-off")
        defer { bare.stop() }
        #expect(try HTTPClient.get(bare.port, "/metrics").status == 404)
    }
}
