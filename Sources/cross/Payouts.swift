import ArgumentParser
import CrossApp
import FlatFileStore
import Foundation
import OrderStorage
import Payments

/// `cross payouts list|show`: the payouts as their files say.
struct Payouts: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read the payouts.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Payouts, newest first.")

        @OptionGroup var config: ConfigOption

        @Option(help: "Only payouts in this status: pending, succeeded, failed.")
        var status: String?

        func run() throws {
            let wanted = try status.map { text -> Refund.Status in
                guard let parsed = Refund.Status(rawValue: text) else { throw fail("--status must be pending, succeeded or failed, not \"\(text)\"") }
                return parsed
            }
            let store = try config.openStore(try config.load())
            let payouts: [Payout]
            do { payouts = try store.allPayouts().filter { wanted == nil || $0.status == wanted } } catch { throw fail("\(error)") }
            print("created               status     amount           phone         reference")
            for payout in payouts {
                print(payout.createdAt.iso8601 + "  " + pad(payout.status.rawValue, 9) + "  " + pad(Amount.formatted(francs: payout.amount), 15, right: true)
                    + "  " + payout.phone.international + "  " + payout.reference)
            }
            print("\(payouts.count) payout\(payouts.count == 1 ? "" : "s"), \(payouts.filter { $0.status == .succeeded }.reduce(Int64(0)) { $0 + $1.amount }) F CFA paid out")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One payout, with its credit's history.")

        @OptionGroup var config: ConfigOption

        @Argument(help: "The payout's reference.")
        var reference: String

        func run() throws {
            let store = try config.openStore(try config.load())
            let found: Payout?
            do { found = try store.payout(reference) } catch { throw fail("\(error)") }
            guard let payout = found else { throw fail("no payout with reference \"\(reference)\"") }
            print("reference    \(payout.reference)")
            print("status       \(payout.status.rawValue)")
            print("amount       \(Amount.formatted(francs: payout.amount))")
            print("phone        \(payout.phone.international)")
            if !payout.description.isEmpty { print("description  \(payout.description)") }
            print("operator     \(payout.operator.displayName)  request \(payout.creditReference)  sent \(payout.sends)x")
            if let reference = payout.operatorReference { print("operator ref \(reference)") }
            if let failure = payout.failure { print("failure      \(failure)") }
            if let check = payout.lastCheck { print("last check   \(check.at.iso8601): \(check.result) (\(check.count))") }
            print("created      \(payout.createdAt.iso8601)   updated \(payout.updatedAt.iso8601)   revision \(payout.revision)")
        }
    }
}
