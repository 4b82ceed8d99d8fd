import CLinux
import Foundation

/// Work `cross serve` does beside the requests, on a thread of its own: the journal's checkpoint, the start-up
/// sweep, the webhook courier, the reconciler. Started once, stopped at shutdown (after its current pass).
public protocol BackgroundJob: AnyObject, Sendable {
    /// For the log: `checkpoint`, `webhooks`.
    var name: String { get }
    func start()
    /// Asks the job to end, and returns once its thread has (within `timeout` seconds; false if it had not).
    @discardableResult func stop(timeout: Double) -> Bool
}

/// A job that runs `pass` every `interval` seconds, at once when `wake()` is called, and sooner when a pass says
/// when it wants to run next. Between passes it sleeps on a condition, so that `stop()` ends it at once.
public final class PeriodicJob: BackgroundJob, @unchecked Sendable {
    public let name: String
    private let interval: Double
    private let runFirstPassAtStart: Bool
    private let lowerPriority: Bool
    /// A pass returns how many seconds until it should run again (nil: `interval`).
    private let pass: @Sendable () -> Double?
    private let condition = NSCondition()
    private var woken = false
    private var stopping = false
    private var running = false
    private var finished = true

    public init(
        name: String, interval: Double, runFirstPassAtStart: Bool = true, lowerPriority: Bool = false,
        pass: @escaping @Sendable () -> Double?
    ) {
        self.name = name
        self.interval = interval
        self.runFirstPassAtStart = runFirstPassAtStart
        self.lowerPriority = lowerPriority
        self.pass = pass
    }

    public func start() {
        condition.withLock {
            guard !running else { return }
            running = true
            finished = false
            stopping = false
        }
        startThread { [self] in
            if lowerPriority { _ = cross_lower_thread_priority(10) }
            var wait = runFirstPassAtStart ? 0 : interval
            while true {
                let goOn = condition.withLock { () -> Bool in
                    let deadline = Date().addingTimeInterval(wait)
                    while !woken && !stopping && condition.wait(until: deadline) {}
                    woken = false
                    return !stopping
                }
                guard goOn else { break }
                wait = pass().map { min(interval, max(0, $0)) } ?? interval
            }
            condition.withLock {
                running = false
                finished = true
                condition.broadcast()
            }
        }
    }

    /// Runs a pass now rather than at the next interval.
    public func wake() {
        condition.withLock {
            woken = true
            condition.broadcast()
        }
    }

    @discardableResult
    public func stop(timeout: Double = 10) -> Bool {
        condition.withLock {
            stopping = true
            condition.broadcast()
            let deadline = Date().addingTimeInterval(timeout)
            while !finished && condition.wait(until: deadline) {}
            return finished
        }
    }
}
