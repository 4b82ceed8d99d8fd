import Payments

/// What the dashboard lists: a status, an operator, a span of creation days, a search in the purchaseref (a
/// substring, in any case) or, for a query of digits (`+228 90…`), in the phone's digits.
public struct OrderQuery: Sendable, Equatable {
    public var status: OrderStatus?
    /// Only the orders of this operator (`Order.operator`: the payment's, else the latest attempt's); an order
    /// no operator has seen yet matches none.
    public var `operator`: Operator?
    /// Unix seconds, `from` included, `until` excluded.
    public var createdFrom: Int64?
    public var createdUntil: Int64?
    public var search: String

    public init(
        status: OrderStatus? = nil, operator: Operator? = nil, createdFrom: Int64? = nil, createdUntil: Int64? = nil, search: String = ""
    ) {
        self.status = status
        self.operator = `operator`
        self.createdFrom = createdFrom
        self.createdUntil = createdUntil
        self.search = search
    }
}

/// An order as a listing shows it.
public struct OrderSummary: Sendable, Equatable {
    public let key: OrderKey
    public let ref: String
    public let phone: String
    public let createdAt: Int64
    public let paidAt: Int64?
    public let status: OrderStatus
    public let amount: Int64
    /// `Order.operator`; nil: no attempt yet.
    public let `operator`: Operator?

    public init(
        key: OrderKey, ref: String, phone: String, createdAt: Int64, paidAt: Int64?, status: OrderStatus, amount: Int64, operator: Operator?
    ) {
        self.key = key
        self.ref = ref
        self.phone = phone
        self.createdAt = createdAt
        self.paidAt = paidAt
        self.status = status
        self.amount = amount
        self.operator = `operator`
    }
}

/// One row of an export, lent for the time of a call: its text as bytes, so that 100,000 rows become a CSV
/// without 200,000 strings.
public struct OrderRowBytes {
    /// The order key's 32 hex digits, as two numbers of 16.
    public let key: (high: UInt64, low: UInt64)
    public let ref: UnsafeBufferPointer<UInt8>
    public let phone: UnsafeBufferPointer<UInt8>
    public let createdAt: Int64
    public let paidAt: Int64?
    public let status: OrderStatus
    public let amount: Int64
    /// `Order.operator`; nil: no attempt yet.
    public let `operator`: Operator?

    public init(
        key: (high: UInt64, low: UInt64), ref: UnsafeBufferPointer<UInt8>, phone: UnsafeBufferPointer<UInt8>, createdAt: Int64, paidAt: Int64?,
        status: OrderStatus, amount: Int64, operator: Operator?
    ) {
        self.key = key
        self.ref = ref
        self.phone = phone
        self.createdAt = createdAt
        self.paidAt = paidAt
        self.status = status
        self.amount = amount
        self.operator = `operator`
    }
}

/// Orders in the `paid` status on one UTC day of payment: all of them, and split by the operator that took the
/// payment, so that the merchant can match each operator's statement of the day.
public struct DayTotal: Sendable, Equatable {
    /// How many orders, and their amounts added up.
    public struct Sum: Sendable, Equatable {
        public var count: Int
        public var sum: Int64

        public init(count: Int, sum: Int64) {
            self.count = count
            self.sum = sum
        }
    }

    /// Days since 1970-01-01.
    public let day: Int64
    public var count: Int
    public var sum: Int64
    /// Only the operators with a payment that day. A paid order always has its payment's operator, so these add
    /// up to `count` and `sum`.
    public var byOperator: [Operator: Sum]

    public init(day: Int64, count: Int, sum: Int64, byOperator: [Operator: Sum] = [:]) {
        self.day = day
        self.count = count
        self.sum = sum
        self.byOperator = byOperator
    }

    /// The operator's count and sum that day, zero without a payment.
    public subscript(_ operator: Operator) -> Sum { byOperator[`operator`] ?? Sum(count: 0, sum: 0) }
}

/// The dashboard's queries, answered without reading order files one by one.
public protocol OrderListing: Sendable {
    /// Page `number` (from 1) of the orders matching `query`, newest first, and how many match in all. A page
    /// past the end is the last page; `number` in the answer says which was given.
    func page(_ query: OrderQuery, number: Int, size: Int) throws(StoreError) -> (total: Int, number: Int, orders: [OrderSummary])
    /// Every order matching `query`, newest first, to `body`; `estimate` first, with the number of rows and the
    /// bytes of their text, so that a writer can size its buffer once.
    func export(_ query: OrderQuery, estimate: (_ rows: Int, _ textBytes: Int) -> Void, _ body: (OrderRowBytes) -> Void) throws(StoreError)
    /// Paid orders per UTC day of payment, newest day first, in `[from, until)` of the payment time, with each
    /// day's split by operator.
    func paidTotals(from: Int64?, until: Int64?) throws(StoreError) -> [DayTotal]
}
