import CLinux
import Dispatch
import Logging
import OrderStorage
import Support

extension FlatFileStore {
    /// The store's background work for `cross serve`: first the sweep (damaged order files reported, leftovers of
    /// writes that a crash interrupted removed), then a checkpoint of the journal every `checkpointSeconds`, so
    /// that recovery after a crash reads only what changed since. Behind the requests: a checkpoint after a busy
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
            } catch {
                logger.error("checkpoint failed", metadata: ["error": "\(error)"])
            }
            // What the pass read is given back to the system rather than kept in an arena.
            _ = cross_release_free_memory()
            return nil
        }
    }
}
