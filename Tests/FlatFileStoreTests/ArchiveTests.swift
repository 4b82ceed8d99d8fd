import Foundation
import Testing
import Cashier
@testable import FlatFileStore
import OrderStorage
@testable import Payments
import TMoneyOnline

@Suite struct ArchiveTests {
    static let january = Timestamp(iso8601: "2026-01-10T09:00:00Z")!
    static let june = Timestamp(iso8601: "2026-06-01")!

    /// The use cases with the clock at `time`, as `cross serve` ran them then.
    func cashier(_ store: FlatFileStore, at time: Timestamp) -> Cashier {
        Cashier(
            store: store,
            settings: Cashier.Settings(policy: OrderPolicy(currency: "952", brand: "Boutique", language: .fr, allowedReturnHosts: []), orderLifetimeSeconds: 600, raisesWebhooks: true),
            clock: { time })
    }

    @Test func finalOldOrdersMoveAndAreStillFoundAndAChangeBringsThemBack() throws {
        let directory = temporaryDirectory("archive")
        let store = try FlatFileStore(directory: directory)
        let old = cashier(store, at: Self.january)
        for ref in ["OLD-PAID", "OLD-PENDING"] { _ = try old.createOrder(newOrder(ref)) }
        _ = try old.apply(ok("OLD-PAID").event, source: .notification, remote: "127.0.0.1")
        _ = try create(store, newOrder("NEW-PENDING"))
        let paid = try #require(try store.load(ref: "OLD-PAID"))
        #expect(paid.status == .paid)

        let report = try store.archive(before: Self.june, now: .now())
        #expect(report.archived.map(\.ref) == ["OLD-PAID"])
        #expect(report.kept == 1, "the old pending order stays live")
        #expect(report.folder == directory + "/archive/2026-06-01")
        #expect(!FileManager.default.fileExists(atPath: store.path(for: paid.key)), "gone from the live folder")
        let archived = try #require(store.location(of: paid.key))
        #expect(archived == directory + "/archive/2026-06-01/\(paid.key.hex.prefix(3))/\(paid.key.hex).json")
        #expect(try store.load(ref: "OLD-PAID") == paid, "still read, as it was")
        #expect(store.allOrders().count == 2 && store.archivedOrders().count == 1)
        guard case .existing = try create(store, newOrder("OLD-PAID")) else {
            Issue.record("an archived purchaseref is still taken")
            return
        }
        // Every order still on the dashboard after `cross index rebuild`.
        #expect(try store.rebuildIndex().orders.count == 3)
        // Nothing else moves on a second run.
        #expect(try store.archive(before: Self.june, now: .now()).archived.isEmpty)

        // A second payment after all: the order changes, in the live folder, and its archived copy goes.
        _ = try notify(store, ok("OLD-PAID", payid: "P2"))
        let back = try #require(try store.load(ref: "OLD-PAID"))
        #expect(back.status == .review && back.revision == paid.revision + 1)
        #expect(store.location(of: paid.key) == store.path(for: paid.key))
        #expect(!FileManager.default.fileExists(atPath: archived))
    }

    @Test func aDryRunMovesNothingAndAFutureDateIsRefused() throws {
        let store = try FlatFileStore(directory: temporaryDirectory("archive-dry"))
        let old = cashier(store, at: Self.january)
        _ = try old.createOrder(newOrder("OLD-PAID"))
        _ = try old.apply(ok("OLD-PAID").event, source: .notification, remote: "127.0.0.1")
        let key = OrderKey(ref: "OLD-PAID")
        let report = try store.archive(before: Self.june, now: .now(), dryRun: true)
        #expect(report.archived.map(\.ref) == ["OLD-PAID"])
        #expect(store.location(of: key) == store.path(for: key))
        #expect(throws: StoreError.self) {
            try store.archive(before: Timestamp(seconds: Timestamp.now().seconds + 86_400), now: .now())
        }
    }

    @Test func anOrderWithARefundUnderWayStaysLive() throws {
        #expect(FlatFileStore.isArchivable(try paidOrder(), before: Self.june))
        var order = try paidOrder()
        order.refunds.append(Refund(
            id: "rf_1", idempotencyKey: "k", amount: 1000, reason: "", operator: .tmoney, phone: PhoneNumber("90000001")!, creditReference: "CR1",
            createdAt: Self.january))
        #expect(!FlatFileStore.isArchivable(order, before: Self.june))
    }

    private func paidOrder() throws -> Order {
        let store = try FlatFileStore(directory: temporaryDirectory("archive-refund"))
        let old = cashier(store, at: Self.january)
        _ = try old.createOrder(newOrder("R"))
        _ = try old.apply(ok("R").event, source: .notification, remote: "127.0.0.1")
        return try #require(try store.load(ref: "R"))
    }
}
