import ArgumentParser
import CrossApp
import Foundation
import OrderStore
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
            var orders: [Order] = []
            var damaged = 0
            for result in store.allOrders() {
                switch result {
                case .success(let order):
                    orders.append(order)
                case .failure(let error):
                    damaged += 1
                    FileHandle.standardError.write(Data("cross: \(error)\n".utf8))
                }
            }
            var counts: [OrderStatus: Int] = [:]
            for order in orders { counts[order.status, default: 0] += 1 }
            let written: Int
            do {
                written = try store.index.rebuild(from: orders)
            } catch {
                throw fail("\(error)")
            }
            let seconds = Date().timeIntervalSince(started)
            print("index rebuilt: \(store.index.path)")
            print("orders       \(written) (" + OrderStatus.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", ") + ")")
            print("damaged      \(damaged)" + (damaged > 0 ? " (left out; see above)" : ""))
            print(String(format: "time         %.1f s", seconds))
            if damaged > 0 { throw ExitCode(2) }
        }
    }
}
