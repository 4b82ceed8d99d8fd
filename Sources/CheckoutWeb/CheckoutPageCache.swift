import FastCGI
import OrderStorage
import Payments
import Support

/// Checkout pages already rendered, by link, shared by the workers. A shopper on a slow connection reloads; a
/// page costs a read of the order, a JSON decode and a template; serving it again costs the store's change
/// marker of the order (a `stat`). An entry is used only while the order is unchanged and its attempt is still
/// fresh enough to reuse. One cache for all workers, not one each: sixteen workers once kept sixteen copies of
/// the same pages (8 MB of the responder's 13 MB of heap after the benchmark). The lock is held for a
/// dictionary lookup only.
final class CheckoutPageCache: Sendable {
    private struct Entry: Sendable {
        let key: OrderKey
        let marker: ChangeMarker
        let validUntil: Timestamp
        let page: Response
    }

    private let entries = Lock<[String: Entry]>([:])
    /// Some 2.5 KB a page: at most about 2.5 MB.
    private let capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    func page(for token: String, at now: Timestamp, in store: any OrderStore) -> Response? {
        guard let entry = entries.withLock({ $0[token] }) else { return nil }
        guard now < entry.validUntil, store.changeMarker(of: entry.key) == entry.marker else {
            entries.withLock { entries in
                if entries[token]?.marker == entry.marker { entries[token] = nil }
            }
            return nil
        }
        return entry.page
    }

    func remember(_ page: Response, for token: String, key: OrderKey, marker: ChangeMarker, validUntil: Timestamp) {
        let entry = Entry(key: key, marker: marker, validUntil: validUntil, page: page)
        entries.withLock { entries in
            if entries.count >= capacity, entries[token] == nil {
                // Any entry will do: the cache is about reloads of pages in use, not about history.
                entries.remove(at: entries.startIndex)
            }
            entries[token] = entry
        }
    }
}
