/// At most `limit` events per minute, counted in the current minute (a fixed window): a cap on what an anonymous
/// caller can make Cross do, cheap enough for every request.
public final class MinuteLimit: Sendable {
    public let limit: Int
    private let window = Lock((minute: Int64.min, count: 0))

    public init(_ limit: Int) {
        self.limit = limit
    }

    /// Counts one event at `seconds` (Unix time); false, and not counted, when the minute's limit is reached.
    public func allow(at seconds: Int64) -> Bool {
        window.withLock { window in
            let minute = seconds / 60
            if window.minute != minute { window = (minute, 0) }
            guard window.count < limit else { return false }
            window.count += 1
            return true
        }
    }
}

/// Calls counted per source (an address), for a log line a minute per source instead of one per call: a
/// stranger hammering an endpoint costs a counter, not a line of log or journal each time. Bounded: past
/// `capacity` sources, the rest are counted together as "other".
public final class SourceCounter: Sendable {
    public struct Report: Sendable, Equatable {
        public let source: String
        /// Calls since the source's last line.
        public let count: Int
    }

    private struct Entry {
        var count = 0
        var lastReported = Int64.min
        var lastSeen: Int64 = 0
    }

    private let entries = Lock<[String: Entry]>([:])
    private let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// Counts a call from `source` at `seconds`; a report when a line is due for it now (its first call, or the
    /// first after a minute since its last line).
    public func note(_ source: String, at seconds: Int64) -> Report? {
        entries.withLock { entries in
            let key = entries[source] != nil || entries.count < capacity ? source : "other"
            var entry = entries[key] ?? Entry()
            entry.count += 1
            entry.lastSeen = seconds
            var report: Report?
            if entry.lastReported == .min || seconds - entry.lastReported >= 60 {
                report = Report(source: key, count: entry.count)
                entry.count = 0
                entry.lastReported = seconds
            }
            entries[key] = entry
            return report
        }
    }

    /// The counts of sources whose last line is a minute old or more, and forgets the sources quiet for an hour.
    public func due(at seconds: Int64) -> [Report] {
        entries.withLock { entries in
            var reports: [Report] = []
            for (source, var entry) in entries {
                if entry.count > 0 && seconds - entry.lastReported >= 60 {
                    reports.append(Report(source: source, count: entry.count))
                    entry.count = 0
                    entry.lastReported = seconds
                    entries[source] = entry
                } else if entry.count == 0 && seconds - entry.lastSeen >= 3600 {
                    entries[source] = nil
                }
            }
            return reports.sorted { $0.source < $1.source }
        }
    }
}
