import ArgumentParser
import CheckoutWeb
import CrossApp
import Foundation
import Payments
import WebPages

struct Button: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a signed payment button to paste into any web page.",
        discussion: """
            Leave --ref out to sell an item many times: each shopper who presses pay then gets an order with a fresh reference.
            A button stops working after 30 days unless --expires says otherwise (--expires never: a button that never does).
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: "Amount in whole F CFA.") var amount: String
    @Option(help: "What the shopper buys (plain text, up to 255 characters).") var description: String?
    @Option(name: .customLong("ref"), help: "The order's purchaseref; leave it out for a fresh one per click.") var purchaseref: String?
    @Option(help: "When the button stops working: 2026-12-31T23:59:59Z, 2026-12-31, a number of seconds from now, or never.")
    var expires: String = String(Button.defaultLifetime)

    /// A button pasted and forgotten should not sell for ever: 30 days, unless the merchant says otherwise.
    static let defaultLifetime: Int64 = 30 * 86_400
    @Option(help: "Currency code (default: the configured one).") var currency: String?
    @Option(help: "fr or en (default: the configured one).") var language: String?
    @Option(help: "The shopper's phone number, if known.") var phone: String?
    @Option(help: "Text shown at the top of TMoney's page.") var text: String?
    @Option(name: .customLong("accept-url")) var acceptURL: String?
    @Option(name: .customLong("decline-url")) var declineURL: String?
    @Option(name: .customLong("cancel-url")) var cancelURL: String?
    @Option(name: .customLong("field"), help: "Any optional field of an order as NAME=VALUE, repeatable (\(OrderDetails.fields.map(\.name).joined(separator: ", "))).")
    var fields: [String] = []

    func run() throws {
        let configuration = try config.load()
        var values: [String: String] = ["amount": amount]
        values["purchaseref"] = purchaseref
        values["description"] = description
        values["currency"] = currency
        values["language"] = language
        values["phone"] = phone
        values["text"] = text
        values["accept_url"] = acceptURL
        values["decline_url"] = declineURL
        values["cancel_url"] = cancelURL
        for field in fields {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, OrderDetails.names.contains(parts[0]) else {
                throw fail("--field must be NAME=VALUE with NAME one of \(OrderDetails.fields.map(\.name).joined(separator: ", ")), not \"\(field)\"")
            }
            values[parts[0]] = parts[1]
        }
        if expires != "never" {
            let now = Timestamp.now()
            if let seconds = Int64(expires), seconds > 0 {
                values["expires"] = String(now.seconds + seconds)
            } else if let time = Timestamp(iso8601: expires) {
                guard time > now else { throw fail("--expires \(expires) is already past") }
                values["expires"] = String(time.seconds)
            } else {
                throw fail("--expires must be a time such as 2026-12-31T23:59:59Z, a number of seconds or never, not \"\(expires)\"")
            }
        }
        let snippet = ButtonSnippet(policy: configuration.orderPolicy, settings: configuration.checkout, pages: try Pages.bundled())
        do {
            print(try snippet.render(values), terminator: "")
        } catch {
            throw fail("this button would make an invalid order: \(error.description)")
        }
    }
}
