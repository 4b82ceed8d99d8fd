import ArgumentParser
import CrossApp
import Foundation
import OrderStorage
import Payments

struct Webhooks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the webhook outbox, and send a failed event again.", subcommands: [List.self, Retry.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Webhook events with each endpoint's attempts, last status and error, next attempt or delivery.")

        @OptionGroup var config: ConfigOption

        @Option(help: "Which events: pending, sent, failed or all (default: pending and failed).")
        var folder: String?

        func run() throws {
            let folders: [OutboxFolder]
            switch folder {
            case nil: folders = [.pending, .failed]
            case "all": folders = [.pending, .failed, .sent]
            case let name?:
                guard let one = OutboxFolder(rawValue: name) else {
                    throw fail("--folder must be pending, sent, failed or all, not \"\(name)\"")
                }
                folders = [one]
            }
            let configuration = try config.load()
            let outbox = try config.openStore(configuration).outbox
            var count = 0
            var damaged: [String] = []
            for folder in folders {
                var events: [OutboxEvent] = []
                for id in outbox.ids(in: folder) {
                    do {
                        // Loaded where it is now: the courier may have moved it since the listing.
                        if let (event, _) = try outbox.load(id) { events.append(event) }
                    } catch {
                        damaged.append("\(error)")
                    }
                }
                events.sort { $0.createdAt != $1.createdAt ? $0.createdAt < $1.createdAt : $0.id < $1.id }
                for event in events {
                    count += 1
                    print("\(event.id)  \(folder.rawValue)  \(event.type)  \(printable(event.subject))  created \(event.createdAt.iso8601)")
                    if event.deliveries.isEmpty {
                        print("    not attempted yet")
                    }
                    for delivery in event.deliveries {
                        var line = "    \(delivery.endpoint)  attempts \(delivery.attempts)"
                        if let status = delivery.lastStatus { line += "  last status \(status)" }
                        if let delivered = delivery.deliveredAt {
                            line += "  delivered \(delivered.iso8601)"
                        } else {
                            if folder == .pending { line += "  next attempt \(delivery.nextAttemptAt.iso8601)" }
                            if let error = delivery.lastError { line += "  last error: \(printable(error))" }
                        }
                        print(line)
                    }
                }
            }
            print("\(count) event\(count == 1 ? "" : "s") (\(folders.map(\.rawValue).joined(separator: ", ")))")
            for message in damaged { FileHandle.standardError.write(Data("cross: \(message)\n".utf8)) }
            if !damaged.isEmpty { throw ExitCode(2) }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a failed (or pending) event back in pending with every undelivered endpoint due now.",
            discussion: "Attempts made so far are kept. A running `cross serve` sends it within a second.")

        @OptionGroup var config: ConfigOption

        @Argument(help: "The event's id, as `cross webhooks list` shows it (<order key>-<revision>).")
        var id: String

        func run() throws {
            // Checked before it is used in a path.
            guard id.range(of: "^[0-9a-f]{32}-[0-9]{10}$", options: .regularExpression) != nil else {
                throw fail("no webhook event with id \"\(id)\" (ids look like <32 hex digits>-<10 digits>); see `cross webhooks list --folder all`")
            }
            let configuration = try config.load()
            let outbox = try config.openStore(configuration).outbox
            // Taken as the courier takes it to write an attempt's outcome, so that neither overwrites the other;
            // a running courier finds the change at its next listing of pending (within a second).
            let outcome = try storeCall {
                try outbox.withEventLock { () throws(StoreError) -> Result<String, ExitCode> in try retry(outbox, configuration) }
            }
            switch outcome {
            case .success(let message): print(message)
            case .failure(let code): throw code
            }
        }

        private func retry(_ outbox: any WebhookOutbox, _ configuration: Configuration) throws(StoreError) -> Result<String, ExitCode> {
            guard let (found, folder) = try outbox.load(id) else {
                return .failure(fail("no webhook event with id \"\(id)\"; see `cross webhooks list --folder all`"))
            }
            guard folder != .sent else {
                return .failure(fail("event \(id) was already delivered to every endpoint; nothing to retry"))
            }
            var event = found
            let now = Timestamp.now()
            var due = 0
            for index in event.deliveries.indices where event.deliveries[index].deliveredAt == nil {
                event.deliveries[index].nextAttemptAt = now
                due += 1
            }
            try outbox.save(event, in: .pending)
            var message = "event \(id) (\(event.type), \(printable(event.subject))) is pending again"
            message += event.deliveries.isEmpty ? ": every endpoint is due now" : ": \(due) endpoint\(due == 1 ? "" : "s") due now"
            let configured = Set(configuration.webhooks.map(\.url))
            let unknown = event.deliveries.filter { $0.deliveredAt == nil && !configured.contains($0.endpoint) }.map(\.endpoint)
            if !unknown.isEmpty {
                message += "\nwarning: not in the configuration any more, so it cannot be sent there: " + unknown.joined(separator: ", ")
            }
            if now.seconds >= event.createdAt.seconds + configuration.webhookGiveUpSeconds {
                message += "\nnote: the event is older than webhook_give_up_hours: if this attempt fails too, it is set aside as failed again"
            }
            return .success(message)
        }

        private func storeCall<T>(_ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch let error as StoreError {
                throw fail("\(error)")
            }
        }
    }
}

/// A purchaseref or error message on one line of output: control characters shown as `?`.
private func printable(_ text: String) -> String {
    String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
}
