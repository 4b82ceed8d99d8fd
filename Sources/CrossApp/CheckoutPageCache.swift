import FastCGI
import OrderStore
import Payments

/// Checkout pages already rendered, by link, for one worker thread (each worker builds its own router, so
/// nothing here is shared and nothing needs a lock). A shopper on a slow connection reloads; a page costs a
/// file read, a JSON decode and a template; serving it again costs a `stat` of the order's file.
/// An entry is used only while the file is unchanged and its session id is still fresh enough to reuse.
final class CheckoutPageCache: @unchecked Sendable {
    private struct Entry {
        let path: String
        let version: OrderStore.FileVersion
        let validUntil: Timestamp
        let page: Response
    }

    private var entries: [String: Entry] = [:]
    /// Pages kept per worker: some 2.5 KB each, so 16 workers keep at most about 10 MB.
    private let capacity: Int

    init(capacity: Int = 256) {
        self.capacity = capacity
    }

    func page(for token: String, at now: Timestamp) -> Response? {
        guard let entry = entries[token] else { return nil }
        guard now < entry.validUntil, OrderStore.version(atPath: entry.path) == entry.version else {
            entries[token] = nil
            return nil
        }
        return entry.page
    }

    func remember(_ page: Response, for token: String, path: String, version: OrderStore.FileVersion, validUntil: Timestamp) {
        if entries.count >= capacity, entries[token] == nil {
            // Any entry will do: a cache this small is about reloads of the same page, not about history.
            entries.remove(at: entries.startIndex)
        }
        entries[token] = Entry(path: path, version: version, validUntil: validUntil, page: page)
    }
}
