import Metrics

/// The journal's group syncs, through swift-metrics: how long each `fdatasync` took
/// (`cross_journal_sync_duration_seconds`) and how many records it made durable at once
/// (`cross_journal_sync_group_records`): every waiting writer shares the one sync.
enum JournalMetrics {
    // Made at first use, after `cross serve` has bootstrapped the backend.
    private static let duration = Metrics.Timer(label: "cross_journal_sync_duration_seconds")
    private static let group = Recorder(label: "cross_journal_sync_group_records")

    static func synced(records: UInt64, nanoseconds: UInt64) {
        duration.recordNanoseconds(Int64(clamping: nanoseconds))
        group.record(Int64(clamping: records))
    }
}
