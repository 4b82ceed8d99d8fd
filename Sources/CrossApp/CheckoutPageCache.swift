import FastCGI
import OrderStore
import Payments

/// Checkout pages already rendered, by link, shared by the workers. A shopper on a slow connection reloads; a
/// page costs a file read, a JSON decode and a template; serving it again costs a `stat` of the order's file.
/// An entry is used only while the file is unchanged and its session id is still fresh enough to reuse.
/// One cache for all workers, not one each: sixteen workers once kept sixteen copies of the same pages (8 MB
/// of the responder's 13 MB of heap after the benchmark). The lock is held for a dictionary lookup only.
final class CheckoutPageCache: Sendable {
    private struct Entry: Sendable {
        let path: String
        let version: OrderStore.FileVersion
        let validUntil: Timestamp
        let page: Response
    }

    private let entries = Lock<[String: Entry]>([:])
    /// Some 2.5 KB a page: at most about 2.5 MB.
    private let capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    func page(for token: String, at now: Timestamp) -> Response? {
        guard let entry = entries.withLock({ $0[token] }) else { return nil }
        guard now < entry.validUntil, OrderStore.version(atPath: entry.path) == entry.version else {
            entries.withLock { entries in
                if entries[token]?.version == entry.version { entries[token] = nil }
            }
            return nil
        }
        return entry.page
    }

    func remember(_ page: Response, for token: String, path: String, version: OrderStore.FileVersion, validUntil: Timestamp) {
        let entry = Entry(path: path, version: version, validUntil: validUntil, page: page)
        entries.withLock { entries in
            if entries.count >= capacity, entries[token] == nil {
                // Any entry will do: the cache is about reloads of pages in use, not about history.
                entries.remove(at: entries.startIndex)
            }
            entries[token] = entry
        }
    }
}
