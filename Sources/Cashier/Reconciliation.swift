import Logging
import OrderStorage
import Payments
import Support

/// What an operator never told Cross: push attempts without a confirmed result (a callback dropped, a status
/// call failed), and refunds whose credit's answer was lost. Each pass asks the operator about what is due (see
/// `ReconciliationSchedule`) and applies the answers through the same lifecycle and journal as a callback.
extension Cashier {
    public struct ReconciliationReport: Sendable, Equatable {
        /// Open push attempts seen, and those asked about this pass.
        public var open = 0
        public var checked = 0
        /// When the oldest open push attempt started: one that stays open for long is reconciliation stuck.
        public var oldestOpenSince: Timestamp?
        /// Orders whose status changed, by the status they reached.
        public var changed: [OrderStatus: Int] = [:]
        public var stillPending = 0
        public var failedCalls = 0
        public var refundsPending = 0
        public var refundsSettled = 0
        public var payoutsPending = 0
        public var payoutsSettled = 0
        /// What a dry run would have applied, or what was applied: a line per attempt asked about.
        public var lines: [String] = []
        /// TMoney Online orders pending past their session's lifetime: no status call exists; check them in TMoney's
        /// back office.
        public var unconfirmedRedirects: [String] = []

        public init() {}
    }

    /// One pass. With `dryRun`, the operator is asked and nothing is recorded; with `force`, every open attempt and
    /// credit is asked about, due or not. Which orders: the pending ones and those this process knows have open
    /// work; with `thorough`, also every paid or in-review order (a refund left pending by another process or
    /// before a crash) and every order made within an order's lifetime and two days (a push attempt on an order
    /// another way paid, cancelled or declined meanwhile: its money must not be ignored).
    public func reconcile(
        via pushes: [any PushOperator], credits: (any CreditOperator)?, dryRun: Bool = false, force: Bool = false, thorough: Bool = true
    ) throws -> ReconciliationReport {
        var report = ReconciliationReport()
        let now = clock()
        var keys = Set(try keys(status: .pending))
        keys.formUnion(openWork.withLock { $0 })
        if thorough {
            keys.formUnion(try self.keys(status: .paid))
            keys.formUnion(try self.keys(status: .review))
            keys.formUnion(try self.keys(createdFrom: now.seconds - settings.orderLifetimeSeconds - 2 * 86_400))
        }
        for key in keys.sorted() {
            guard let order = try store.load(key) else { continue }
            var open = false
            if order.status == .pending, let last = order.attempts.last, last.method == .redirect, now >= last.expiresAt {
                report.unconfirmedRedirects.append("\(order.ref)\t\(order.key)\tsession expired \(last.expiresAt.iso8601)")
            }
            for attempt in order.attempts where attempt.method == .push && !attempt.isSettled(in: order) {
                guard let push = pushes.first(where: { $0.operator == attempt.operator }) else { continue }
                report.open += 1
                if report.oldestOpenSince.map({ attempt.issuedAt < $0 }) ?? true { report.oldestOpenSince = attempt.issuedAt }
                open = true
                guard force || settings.reconciliation.isDue(startedAt: attempt.issuedAt, lastCheck: attempt.lastCheck, at: now) else { continue }
                report.checked += 1
                if dryRun {
                    let answer = push.status(ofRequest: attempt.reference)
                    let would: String
                    switch answer {
                    case .success(let status):
                        let expiredAt = attempt.expiresAt.adding(seconds: settings.reconciliation.graceSeconds)
                        would = status.event(for: attempt, of: order, at: now, expiredAt: expiredAt).map { "would apply \($0.outcome.rawValue)" } ?? "nothing final"
                        report.lines.append("\(order.ref)\t\(attempt.reference)\t\(Self.describe(status))\t\(would)")
                    case .failure(let failure):
                        report.failedCalls += 1
                        report.lines.append("\(order.ref)\t\(attempt.reference)\tstatus call failed: \(failure)")
                    }
                    continue
                }
                switch try check(order.key, reference: attempt.reference, via: push, source: .reconciliation) {
                case .checked(let status, let effect):
                    if let transition = effect?.transition { report.changed[transition.to, default: 0] += 1 } else if effect == nil { report.stillPending += 1 }
                    report.lines.append("\(order.ref)\t\(attempt.reference)\t\(Self.describe(status))")
                case .failed(let failure):
                    report.failedCalls += 1
                    report.lines.append("\(order.ref)\t\(attempt.reference)\tstatus call failed: \(failure)")
                case .unknownAttempt:
                    break
                }
            }
            if let credits {
                for refund in order.refunds where refund.status == .pending {
                    report.refundsPending += 1
                    open = true
                    guard !dryRun, force || settings.reconciliation.isDue(startedAt: refund.updatedAt, lastCheck: refund.lastCheck, at: now) else { continue }
                    if let (_, settled) = try settle(refund: refund.id, of: key, via: credits), settled.status != .pending {
                        report.refundsSettled += 1
                        report.lines.append("\(order.ref)\trefund \(refund.id)\t\(settled.status.rawValue)")
                    }
                }
            }
            if !open, !dryRun { openWork.withLock { _ = $0.remove(key) } }
        }
        if let credits, let payouts {
            for payout in try payouts.allPayouts() where payout.status == .pending {
                report.payoutsPending += 1
                guard !dryRun, force || settings.reconciliation.isDue(startedAt: payout.updatedAt, lastCheck: payout.lastCheck, at: now) else { continue }
                if let settled = try settle(payout: payout.reference, via: credits), settled.status != .pending {
                    report.payoutsSettled += 1
                    report.lines.append("payout \(payout.reference)\t\(settled.status.rawValue)")
                }
            }
        }
        if report.checked > 0 || report.refundsPending > 0 || report.payoutsPending > 0 {
            logger.info("reconciliation pass", metadata: [
                "open": "\(report.open)", "checked": "\(report.checked)", "changed": "\(report.changed.values.reduce(0, +))",
                "pending": "\(report.stillPending)", "failed_calls": "\(report.failedCalls)", "refunds_pending": "\(report.refundsPending)",
                "refunds_settled": "\(report.refundsSettled)", "payouts_pending": "\(report.payoutsPending)",
                "payouts_settled": "\(report.payoutsSettled)", "dry_run": "\(dryRun)",
            ])
        }
        return report
    }

    /// The keys of the orders in `status`, or created since `createdFrom`, from the store's index.
    func keys(status: OrderStatus? = nil, createdFrom: Int64? = nil) throws(StoreError) -> [OrderKey] {
        var keys: [OrderKey] = []
        try store.listing.export(OrderQuery(status: status, createdFrom: createdFrom), estimate: { rows, _ in keys.reserveCapacity(rows) }) { row in
            if let key = OrderKey(hex: Hex.encode(row.key.high) + Hex.encode(row.key.low)) { keys.append(key) }
        }
        return keys
    }
}
