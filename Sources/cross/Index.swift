import ArgumentParser
import CrossApp
import Foundation
import FlatFileStore
import OrderStorage
import Payments

/// `cross index …`: the compact order index (`index/orders.tsv`) the dashboard lists orders from.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "The order index the dashboard reads.", subcommands: [Rebuild.self])

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the index anew from every order file.",
            discussion: """
                Reads every order file, reports the damaged ones (left out of the index, exit status 2), and
                replaces the index in one rename; changes made meanwhile are kept. A running `cross serve` notices
                the new index on the dashboard's next request. Safe to run while Cross serves.
                """)

        @OptionGroup var config: ConfigOption

        func run() throws {
            let configuration = try config.load()
            let store = try config.openStore(configuration)
            let started = Date()
            let rebuilt: (orders: [Order], damaged: [StoreError])
            do {
                rebuilt = try store.rebuildIndex()
            } catch {
                throw fail("\(error)")
            }
            for error in rebuilt.damaged { FileHandle.standardError.write(Data("cross: \(error)\n".utf8)) }
            var counts: [OrderStatus: Int] = [:]
            for order in rebuilt.orders { counts[order.status, default: 0] += 1 }
            let written = rebuilt.orders.count
            let damaged = rebuilt.damaged.count
            let seconds = Date().timeIntervalSince(started)
            print("index rebuilt: \(store.directory)/index/orders.tsv")
            print("orders       \(written) (" + OrderStatus.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", ") + ")")
            print("damaged      \(damaged)" + (damaged > 0 ? " (left out; see above)" : ""))
            print(String(format: "time         %.1f s", seconds))
            if damaged > 0 { throw ExitCode(2) }
        }
    }
}
