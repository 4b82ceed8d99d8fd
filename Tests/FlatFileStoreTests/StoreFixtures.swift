import Cashier
import Foundation
@testable import FlatFileStore
import OrderStorage
@testable import Payments
import TMoneyOnline

func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "cross-store-tests/\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func newOrder(_ ref: String, amount: Int64 = 15000, description: String = "Sac de riz") -> NewOrder {
    NewOrder(ref: ref, amount: Amount(francs: amount)!, currency: "952", brand: "Boutique", language: .fr, details: OrderDetails(description: description))
}

func ok(_ ref: String, payid: String = "P1", amount: Int64 = 15000) -> TMoneyOnline.Notification {
    TMoneyOnline.Notification(
        purchaseref: ref, amount: amount, currency: "952", status: .ok, clientid: "C1", cname: "Kofi", mobile: "22890000001",
        paymentref: "PR-" + payid, payid: payid, timestamp: "1800000000", error: "")
}

/// The use cases on `store`, as `cross serve` runs them (webhook events raised).
func cashier(_ store: FlatFileStore) -> Cashier {
    Cashier(
        store: store,
        settings: Cashier.Settings(policy: OrderPolicy(currency: "952", brand: "Boutique", language: .fr, allowedReturnHosts: []), orderLifetimeSeconds: 600, raisesWebhooks: true))
}

@discardableResult
func create(_ store: FlatFileStore, _ new: NewOrder) throws -> CreateOutcome {
    try cashier(store).createOrder(new)
}

/// A Flooz payment of `ref` applied through the store, as Flooz's callback will be: what makes an order Flooz's.
@discardableResult
func floozPaid(_ store: FlatFileStore, _ ref: String, amount: Int64 = 15000, transaction: String = "F1") throws -> EventEffect? {
    let event = PaymentEvent(
        operator: .flooz, outcome: .paid, purchaseref: ref, amount: amount, currency: "952", transactionID: transaction,
        receipt: "FR-" + transaction, payer: Payer(account: "F1", name: "Ama", phone: "22899000001"), occurredAt: "1800000000")
    guard case .applied(_, let effect) = try cashier(store).apply(event, source: .notification, remote: "127.0.0.1") else { return nil }
    return effect
}

/// Applies a notification through the store, as the notification endpoint does.
func notify(_ store: FlatFileStore, _ notification: TMoneyOnline.Notification) throws -> EventEffect? {
    guard case .applied(_, let effect) = try cashier(store).apply(notification.event, source: .notification, remote: "127.0.0.1") else { return nil }
    return effect
}

/// Every complete record of the journal, in order across its segments, with the offsets of the lines that did
/// not parse.
func readJournal(_ store: FlatFileStore) throws -> (records: [JournalRecord], damaged: [Int64]) {
    var records: [JournalRecord] = []
    var damaged: [Int64] = []
    for segment in store.journalFolder.presentSegments() {
        let (cut, _) = try Journal.scan(path: store.journalFolder.segmentPath(segment), from: 0) { _, record throws(StoreError) in records.append(record) }
        damaged += cut
    }
    return (records, damaged)
}

func journalRecords(_ store: FlatFileStore) throws -> [JournalRecord] { try readJournal(store).records }

/// The index as the dashboard reads it: the latest line of each order.
func indexSummaries(_ store: FlatFileStore) throws -> [OrderKey: (summary: OrderSummary, revision: Int)] {
    let table = IndexTable()
    try table.refresh(path: store.index.path)
    var summaries: [OrderKey: (OrderSummary, Int)] = [:]
    for id in 0..<Int32(table.count) {
        let summary = table.summary(id)
        summaries[summary.key] = (summary, Int(table.rows[Int(id)].revision))
    }
    return summaries
}
