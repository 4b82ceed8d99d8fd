import ArgumentParser
import CrossApp
import Foundation
import FlatFileStore
import FastCGI
import Logging
import OrderStorage
import Payments

struct Orders: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the order files.", subcommands: [List.self, Show.self, Archive.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Orders, newest first.")

        @OptionGroup var config: ConfigOption

        @Option(help: "Only orders in this status: \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
        var status: String?

        @Option(help: "Only orders created on or after this date (2026-11-26 or 2026-11-26T08:00:00Z).")
        var since: String?

        @Flag(help: "Also the archived orders (`cross orders archive`).")
        var archived = false

        @Option(name: .customLong("operator"), help: "Only orders of this operator (the payment's, else the latest attempt's): \(Operator.allCases.map(\.rawValue).joined(separator: ", ")).")
        var operatorName: String?

        func run() throws {
            let wanted: OrderStatus?
            if let status {
                guard let parsed = OrderStatus(rawValue: status) else {
                    throw fail("--status must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(status)\"")
                }
                wanted = parsed
            } else {
                wanted = nil
            }
            let wantedOperator: Operator?
            if let operatorName {
                guard let parsed = Operator(rawValue: operatorName) else {
                    throw fail("--operator must be one of \(Operator.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(operatorName)\"")
                }
                wantedOperator = parsed
            } else {
                wantedOperator = nil
            }
            let from: Timestamp?
            if let since {
                guard let parsed = Timestamp(iso8601: since) else {
                    throw fail("--since must be a date such as 2026-11-26 or 2026-11-26T08:00:00Z, not \"\(since)\"")
                }
                from = parsed
            } else {
                from = nil
            }
            let configuration = try config.load()
            let store = try config.openStore(configuration)
            var orders: [Order] = []
            var damaged: [String] = []
            for result in store.allOrders() + (archived ? store.archivedOrders() : []) {
                switch result {
                case .success(let order): orders.append(order)
                case .failure(let error): damaged.append("\(error)")
                }
            }
            orders = orders.filter {
                (wanted == nil || $0.status == wanted) && (wantedOperator == nil || $0.operator == wantedOperator)
                    && (from == nil || $0.createdAt >= from!)
            }
            .sorted { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.ref < $1.ref }
            print("created               status     operator  amount           purchaseref")
            for order in orders {
                let amount = order.amount.formatted
                // "-": no attempt yet, so no operator.
                print(order.createdAt.iso8601 + "  " + pad(order.status.rawValue, 9) + "  " + pad(order.operator?.rawValue ?? "-", 8) + "  "
                    + pad(amount, 15, right: true) + "  " + order.ref)
            }
            print("\(orders.count) order\(orders.count == 1 ? "" : "s")")
            for message in damaged { FileHandle.standardError.write(Data("cross: \(message)\n".utf8)) }
            if !damaged.isEmpty { throw ExitCode(2) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One order, with its attempts and what the operators said.")

        @OptionGroup var config: ConfigOption

        @Argument(help: "The order's purchaseref.")
        var ref: String

        func run() throws {
            let configuration = try config.load()
            let store = try config.openStore(configuration)
            let order: Order
            do {
                guard let found = try store.load(ref: ref) else {
                    throw fail("no order with purchaseref \"\(ref)\" (looked for \(store.path(for: OrderKey(ref: ref))))")
                }
                order = found
            } catch let error as StoreError {
                throw fail("\(error)")
            }
            print("purchaseref  \(order.ref)")
            print("status       \(order.status.rawValue)")
            print("amount       \(order.amount.formatted) (currency \(order.currency))")
            print("brand        \(order.brand)")
            for (name, value) in order.details.values { print(pad(name, 12) + " \(value)") }
            print("created      \(order.createdAt.iso8601)   updated \(order.updatedAt.iso8601)   expires \(order.expiresAt.iso8601)")
            let file = store.location(of: order.key) ?? store.path(for: order.key)
            let archived = file != store.path(for: order.key) ? "   (archived)" : ""
            print("file         \(file)   revision \(order.revision)\(archived)")
            if let payment = order.payment {
                print("payment      \(payment.operator.displayName)  receipt \(payment.receipt)  transaction \(payment.transactionID)  \(payment.amount) F CFA  payer \(payment.payer.phone)  at \(payment.receivedAt.iso8601)")
            }
            for reason in order.reviewReasons { print("review       \(reason)") }
            print("attempts     \(order.attempts.count)")
            for attempt in order.attempts {
                var line = "  \(attempt.issuedAt.iso8601)  \(attempt.operator.displayName) \(attempt.method.rawValue)  \(attempt.shownReference)  expires \(attempt.expiresAt.iso8601)"
                if let phone = attempt.phone { line += "  phone \(phone.international)" }
                if let check = attempt.lastCheck { line += "  last check \(check.at.iso8601): \(check.result) (\(check.count))" }
                print(line)
            }
            if !order.refunds.isEmpty { print("refunds      \(order.refunds.count), \(order.refundedAmount) F CFA refunded or under way") }
            for refund in order.refunds {
                var line = "  \(refund.createdAt.iso8601)  \(refund.id)  \(refund.status.rawValue)  \(refund.amount) F CFA to \(refund.phone.international)"
                line += "  request \(refund.creditReference)  sent \(refund.sends)x"
                if let reference = refund.operatorReference { line += "  operator \(reference)" }
                if let failure = refund.failure { line += "  failure \(failure)" }
                if !refund.reason.isEmpty { line += "  (\(refund.reason))" }
                print(line)
            }
            print("events       \(order.events.count)")
            for record in order.events {
                let event = record.event
                var line = "  \(record.receivedAt.iso8601)  \(event.operator.displayName) \(record.source.rawValue)  \(event.outcome.rawValue)"
                if !event.reason.isEmpty { line += " \(event.reason)" }
                line += "  \(event.amount) F CFA  transaction \(event.transactionID.isEmpty ? "-" : event.transactionID)  \(record.from.rawValue) → \(record.to.rawValue)"
                if let note = record.note { line += "  (\(note))" }
                print(line)
            }
        }
    }

    struct Archive: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move final orders last changed before a date out of the live folders, into archive/DATE/.",
            discussion: """
                Paid, cancelled, declined and expired orders whose session ended, with no push attempt or refund \
                still open. Nothing is removed: `cross orders show`, the dashboard and the operators' calls still \
                find an archived order, and a change (a refund, a late payment) brings it back. Safe while Cross runs.
                """)

        @OptionGroup var config: ConfigOption

        @Option(help: "Orders last changed before this date (2026-06-01 or 2026-06-01T00:00:00Z), which must be past.")
        var before: String

        @Flag(help: "Say what would move, move nothing.")
        var dryRun = false

        func run() throws {
            guard let cutoff = Timestamp(iso8601: before) else {
                throw fail("--before must be a date such as 2026-06-01 or 2026-06-01T00:00:00Z, not \"\(before)\"")
            }
            guard cutoff <= .now() else { throw fail("--before \(before) is in the future: only orders of the past are archived") }
            let configuration = try config.load()
            let store = try config.openStore(configuration)
            LineLogHandler.bootstrap()
            let report: FlatFileStore.ArchiveReport
            do {
                report = try store.archive(before: cutoff, now: .now(), dryRun: dryRun, logger: Logger(label: "cross.archive"))
            } catch {
                throw fail("\(error)")
            }
            for order in report.archived {
                print(order.updatedAt.iso8601 + "  " + pad(order.status.rawValue, 9) + "  " + order.ref)
            }
            let verb = dryRun ? "would move" : "moved"
            print("\(report.archived.count) order\(report.archived.count == 1 ? "" : "s") \(verb) to \(report.folder); \(report.kept) as old kept live (not final yet)")
        }
    }
}
