import Logging
import Support

/// The kinds of call a fault can wait for; `any` matches every one.
public protocol FaultCall: RawRepresentable, CaseIterable, Equatable, Sendable where RawValue == String {
    static var any: Self { get }
}

/// Faults a test queued for an operator's next calls, played in the order queued. Not in the state file: they
/// are the test's, not the operator's. MBANKING and Flooz each have one.
public final class FaultQueue<Fault: RawRepresentable & CaseIterable & Equatable & Sendable, Call: FaultCall>: Sendable
where Fault.RawValue == String {
    /// A fault waiting for its calls.
    public struct Entry: Sendable, Equatable {
        public let fault: Fault
        public let on: Call
        /// Matching calls it still applies to.
        public var remaining: Int
    }

    private let queue = Lock<[Entry]>([])
    private let name: String

    init(name: String) { self.name = name }

    func add(_ fault: Fault, on: Call, count: Int, logger: Logger) -> [Entry] {
        logger.info("\(name) fault queued", metadata: ["fault": "\(fault.rawValue)", "on": "\(on.rawValue)", "count": "\(count)"])
        return queue.withLock { queue in
            queue.append(Entry(fault: fault, on: on, remaining: count))
            return queue
        }
    }

    var entries: [Entry] { queue.withLock { $0 } }

    func clear(logger: Logger) {
        queue.withLock { $0.removeAll() }
        logger.info("\(name) faults cleared")
    }

    /// The fault this call plays, if one waits for it: used up by the call.
    func take(for call: Call) -> Fault? {
        queue.withLock { queue in
            guard let index = queue.firstIndex(where: { $0.on == .any || $0.on == call }) else { return nil }
            queue[index].remaining -= 1
            let fault = queue[index].fault
            if queue[index].remaining <= 0 { queue.remove(at: index) }
            return fault
        }
    }
}
