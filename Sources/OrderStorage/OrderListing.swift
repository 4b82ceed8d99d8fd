import Payments

/// What the dashboard lists: a status, a span of creation days, a search in the purchaseref (a substring, in any
/// case) or, for a query of digits (`+228 90…`), in the phone's digits.
public struct OrderQuery: Sendable, Equatable {
    public var status: OrderStatus?
    /// Unix seconds, `from` included, `until` excluded.
    public var createdFrom: Int64?
    public var createdUntil: Int64?
    public var search: String

    public init(status: OrderStatus? = nil, createdFrom: Int64? = nil, createdUntil: Int64? = nil, search: String = "") {
        self.status = status
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

    public init(key: OrderKey, ref: String, phone: String, createdAt: Int64, paidAt: Int64?, status: OrderStatus, amount: Int64) {
        self.key = key
        self.ref = ref
        self.phone = phone
        self.createdAt = createdAt
        self.paidAt = paidAt
        self.status = status
        self.amount = amount
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

    public init(key: (high: UInt64, low: UInt64), ref: UnsafeBufferPointer<UInt8>, phone: UnsafeBufferPointer<UInt8>, createdAt: Int64, paidAt: Int64?, status: OrderStatus, amount: Int64) {
        self.key = key
        self.ref = ref
        self.phone = phone
        self.createdAt = createdAt
        self.paidAt = paidAt
        self.status = status
        self.amount = amount
    }
}

/// Orders in the `paid` status on one UTC day of payment.
public struct DayTotal: Sendable, Equatable {
    /// Days since 1970-01-01.
    public let day: Int64
    public var count: Int
    public var sum: Int64

    public init(day: Int64, count: Int, sum: Int64) {
        self.day = day
        self.count = count
        self.sum = sum
    }
}

/// The dashboard's queries, answered without reading order files one by one.
public protocol OrderListing: Sendable {
    /// Page `number` (from 1) of the orders matching `query`, newest first, and how many match in all. A page
    /// past the end is the last page; `number` in the answer says which was given.
    func page(_ query: OrderQuery, number: Int, size: Int) throws(StoreError) -> (total: Int, number: Int, orders: [OrderSummary])
    /// Every order matching `query`, newest first, to `body`; `estimate` first, with the number of rows and the
    /// bytes of their text, so that a writer can size its buffer once.
    func export(_ query: OrderQuery, estimate: (_ rows: Int, _ textBytes: Int) -> Void, _ body: (OrderRowBytes) -> Void) throws(StoreError)
    /// Paid orders per UTC day of payment, newest day first, in `[from, until)` of the payment time.
    func paidTotals(from: Int64?, until: Int64?) throws(StoreError) -> [DayTotal]
}
