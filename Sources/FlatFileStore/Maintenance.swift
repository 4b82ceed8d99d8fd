import CLinux
import Dispatch
import Foundation
import Logging
import OrderStorage
import Payments
import Support

extension FlatFileStore {
    /// The store's background work for `cross serve`: first the sweep (damaged order files reported, leftovers of
    /// writes that a crash interrupted removed), then a checkpoint of the journal every `checkpointSeconds`, so
    /// that recovery after a crash reads only what changed since; the checkpoint also starts a new journal segment
    /// when the current one passed `journal_segment_mb`, closes the old ones (and then compacts the index), and
    /// removes closed segments past `journal_retention_days`. Behind the requests: a checkpoint after a busy
    /// minute reads thousands of journal records, and none of it is urgent (it holds an order's lock only while
    /// it checks that one file).
    public func maintenance(checkpointSeconds: Double, logger: Logger) -> any BackgroundJob {
        let swept = Lock(false)
        return PeriodicJob(name: "checkpoint", interval: checkpointSeconds, lowerPriority: true) { [self] in
            if !swept.withLock({ $0 }) {
                swept.withLock { $0 = true }
                let sweep = sweep(logger: logger)
                if !sweep.damagedFiles.isEmpty {
                    logger.critical("damaged order files found at start", metadata: ["count": "\(sweep.damagedFiles.count)"])
                }
                return checkpointSeconds
            }
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                if let report = try recover(thorough: false, logger: logger), report.recordsScanned > 0 {
                    logger.info("checkpoint", metadata: [
                        "journal_records": "\(report.recordsScanned)", "redone": "\(report.recordsRedone)",
                        "orders_restored": "\(report.ordersRestored.count)",
                        "ms": "\((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)",
                    ])
                }
                try applyJournalRetention(logger: logger)
            } catch {
                logger.error("checkpoint failed", metadata: ["error": "\(error)"])
            }
            // What the pass read is given back to the system rather than kept in an arena.
            _ = cross_release_free_memory()
            return nil
        }
    }
}

extension FlatFileStore {
    /// Closes every segment wholly before the checkpoint (all its changes are in the order files, synced: the
    /// pass that moved the checkpoint past it made sure): it is recorded in the manifest, the space reserved ahead
    /// for it is given back, and the dashboard's index is compacted, since the changes it held lines for are
    /// settled. Called holding the recovery lock.
    func closeSegments(into report: inout RecoveryReport, logger: Logger) throws(StoreError) {
        let folder = journalFolder
        guard let checkpoint = folder.readCheckpoint() else { return }
        var manifest = try folder.readManifest()
        let closing = folder.presentSegments().filter { $0 < checkpoint.segment && manifest.entry($0) == nil }
        guard !closing.isEmpty else { return }
        for segment in closing {
            let path = folder.segmentPath(segment)
            // fallocate's reservation past the end (KEEP_SIZE) is released by truncating to the size itself.
            if let size = folder.size(segment) { truncate(path, off_t(size)) }
            let (first, last) = folder.recordTimes(segment)
            manifest.segments.append(SegmentManifest.Entry(
                segment: segment, bytes: folder.size(segment) ?? 0, firstAt: first, lastAt: last, closedAt: .now()))
        }
        manifest.segments.sort { $0.segment < $1.segment }
        try folder.writeManifest(manifest)
        report.segmentsClosed += closing
        for segment in closing {
            logger.info("journal segment closed", metadata: ["segment": "\(JournalFolder.segmentName(segment))", "bytes": "\(folder.size(segment) ?? 0)"])
        }
        do {
            report.indexCompactedTo = try index.compact()
            if let orders = report.indexCompactedTo { logger.info("index compacted", metadata: ["orders": "\(orders)"]) }
        } catch {
            // The index stays as it was: longer to read, never wrong.
            logger.error("index not compacted", metadata: ["error": "\(error)"])
        }
    }

    /// Removes the closed segments whose last record is older than `journal_retention_days` (none when it is not
    /// set), never one the checkpoint still needs: only closed segments are candidates, and a segment is closed
    /// only once it lies wholly before the checkpoint. The manifest says so before the file goes, so that a crash
    /// in between leaves a segment recorded as removed (removed again by the next pass), never one reported as
    /// missing. Returns the segments removed; does nothing while another process holds the recovery lock.
    @discardableResult
    public func applyJournalRetention(now: Timestamp = .now(), logger: Logger = Logger(label: "cross.recovery")) throws(StoreError) -> [Int] {
        guard let retention = journalSettings.retentionSeconds else { return [] }
        let folder = journalFolder
        return try FileLock.withLockIfFree(folder.recoveryLockPath) { () throws(StoreError) -> [Int] in
            var manifest = try folder.readManifest()
            guard let checkpoint = folder.readCheckpoint() else { return [] }
            let present = Set(folder.presentSegments())
            var removed: [Int] = []
            for index in manifest.segments.indices {
                let entry = manifest.segments[index]
                guard entry.segment < checkpoint.segment else { continue }
                if entry.gone {
                    // Recorded as removed, but a crash came before the unlink.
                    if present.contains(entry.segment) { unlink(folder.segmentPath(entry.segment)) }
                    continue
                }
                // A segment whose last record could not be read is aged from its closing.
                guard (entry.lastAt ?? entry.closedAt).seconds + retention < now.seconds else { continue }
                manifest.segments[index].removedAt = now
                removed.append(entry.segment)
            }
            guard !removed.isEmpty else { return [] }
            try folder.writeManifest(manifest)
            for segment in removed {
                unlink(folder.segmentPath(segment))
                logger.info("journal segment removed by retention", metadata: [
                    "segment": "\(JournalFolder.segmentName(segment))", "retention_seconds": "\(retention)",
                ])
            }
            try FileSystem.syncDirectory(folder.path)
            return removed
        } ?? []
    }
}
