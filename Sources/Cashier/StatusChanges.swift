import Metrics
import OrderStorage
import Payments

extension Cashier {
    /// The store's `update`, counting the order's change of status once it is durable:
    /// `cross_order_status_changes_total{from, to}` (a new order counts from `none` to `pending`).
    func update<Result>(
        _ key: OrderKey, _ body: (inout Order) throws -> (change: OrderChange?, result: Result)
    ) throws -> (order: Order, result: Result)? {
        var before: OrderStatus?
        let updated = try store.update(key) { (order: inout Order) in
            before = order.status
            return try body(&order)
        }
        if let updated, let before, before != updated.order.status { Self.countStatusChange(from: before.rawValue, to: updated.order.status.rawValue) }
        return updated
    }

    static func countStatusChange(from: String, to: String) {
        Counter(label: "cross_order_status_changes_total", dimensions: [("from", from), ("to", to)]).increment()
    }
}
