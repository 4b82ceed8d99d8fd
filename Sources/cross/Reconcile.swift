import ArgumentParser
import Cashier
import CrossApp
import Flooz
import Foundation
import Logging
import MBanking
import OutboundHTTP
import Payments

/// `cross reconcile`: one reconciliation pass by hand, as `cross serve` runs it in the background.
struct Reconcile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the operator about every push attempt and refund without a final result, and apply what it says.",
        discussion: """
            Every open attempt is asked about, due or not. --dry-run asks and changes nothing. --report also lists the \
            TMoney Online orders still pending past their session's lifetime: TMoney Online has no status call, so \
            check those in TMoney's back office.
            """)

    @OptionGroup var config: ConfigOption

    @Flag(help: "Ask the operator, print what would be applied, record nothing.")
    var dryRun = false

    @Flag(help: "Also list the TMoney Online orders pending past their session's lifetime.")
    var report = false

    func run() throws {
        let configuration = try config.load()
        guard configuration.mbanking != nil || configuration.flooz != nil else {
            throw fail("the configuration has neither an mbanking nor a flooz section: there is nothing to reconcile with (TMoney Online has no status call)")
        }
        let store = try config.openStore(configuration)
        var logger = Logger(label: "cross")
        logger.logLevel = .warning
        let cashier = Cashier(store: store, settings: configuration.cashierSettings, logger: logger)
        let client = configuration.mbanking.map { MBankingClient($0, logger: logger) }
        var pushes: [any PushOperator] = []
        if let client { pushes.append(client) }
        if let flooz = configuration.flooz { pushes.append(FloozClient(flooz, logger: logger)) }
        let result: Cashier.ReconciliationReport
        do {
            defer { OutboundHTTP.shutDown() }
            result = try cashier.reconcile(via: pushes, credits: client, dryRun: dryRun, force: true)
        } catch {
            throw fail("\(error)")
        }
        for line in result.lines { print(line) }
        let changed = result.changed.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", ")
        print("\(result.open) open push attempt(s), \(result.checked) asked about; changed: \(changed.isEmpty ? "none" : changed); still pending: \(result.stillPending); status calls failed: \(result.failedCalls)")
        print("\(result.refundsPending) pending refund(s), \(result.refundsSettled) settled\(dryRun ? " (dry run: nothing recorded)" : "")")
        if report {
            print("\(result.unconfirmedRedirects.count) TMoney Online order(s) pending past their session (no status call: check them in TMoney's back office):")
            for line in result.unconfirmedRedirects { print("  " + line) }
        }
        if result.failedCalls > 0 { throw ExitCode(3) }
    }
}
