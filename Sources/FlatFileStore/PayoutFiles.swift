import Foundation
import OrderStorage
import Payments
import Support

/// Payouts as flat JSON files, `payouts/<32 hex of SHA-256 of the reference>.json`, each replaced whole (a new
/// file synced, renamed over the old, the folder synced), under one lock file for all of them: payouts are few,
/// and one lock makes the daily cap hold across processes. A change's webhook event is made durable before the
/// payout's file: after a crash between the two, the event says what the file does not yet, and the next pass
/// (reconciliation) makes the file agree; the event is never made twice (its id is the payout's revision).
extension FlatFileStore: PayoutStore {
    var payoutsDirectory: String { directory + "/payouts" }

    func payoutPath(_ reference: String) -> String { payoutsDirectory + "/" + OrderKey(ref: reference).hex + ".json" }

    private func withPayoutLock<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        try FileSystem.makeDurableDirectory(payoutsDirectory)
        return try FileLock.withLock(payoutsDirectory + "/.lock", body)
    }

    public func payout(_ reference: String) throws(StoreError) -> Payout? {
        try readPayout(payoutPath(reference))
    }

    private func readPayout(_ path: String) throws(StoreError) -> Payout? {
        guard let bytes = try FileSystem.read(path) else { return nil }
        do {
            return try JSONDecoder().decode(Payout.self, from: Data(bytes))
        } catch {
            throw .damaged(path: path, reason: "not a valid payout: \(error)")
        }
    }

    private func writePayout(_ payout: Payout) throws(StoreError) {
        let path = payoutPath(payout.reference)
        try FileSystem.replaceDurably(path, with: JSONBytes.encoded(payout) + [UInt8(ascii: "\n")], via: path + ".tmp.\(getpid())")
    }

    public func create(_ payout: Payout, admit: ([Payout]) -> String?) throws(StoreError) -> PayoutCreation {
        if let free = belowReserve() { throw .reserveReached(freeBytes: free, reserveBytes: reserveBytes) }
        return try withPayoutLock { () throws(StoreError) -> PayoutCreation in
            if let existing = try self.payout(payout.reference) { return .existing(existing) }
            let day = UTCTime.floorDivide(payout.createdAt.seconds, 86_400)
            let sameDay = try allPayouts().filter { UTCTime.floorDivide($0.createdAt.seconds, 86_400) == day }
            if let refusal = admit(sameDay) { return .refused(refusal) }
            try writePayout(payout)
            return .created(payout)
        }
    }

    public func update<Result>(
        _ reference: String, _ body: (inout Payout) -> (changed: Bool, webhook: String?, result: Result)
    ) throws(StoreError) -> (payout: Payout, result: Result)? {
        try withPayoutLock { () throws(StoreError) -> (payout: Payout, result: Result)? in
            guard var payout = try self.payout(reference) else { return nil }
            let (changed, webhook, result) = body(&payout)
            guard changed else { return (payout, result) }
            if let webhook {
                let id = OutboxEvent.id(payout: OrderKey(ref: reference), revision: payout.revision)
                try files.create(OutboxEvent(id: id, type: webhook, createdAt: payout.updatedAt, payout: payout), sync: true)
            }
            try writePayout(payout)
            if webhook != nil { tellEventListener() }
            return (payout, result)
        }
    }

    public func allPayouts() throws(StoreError) -> [Payout] {
        var payouts: [Payout] = []
        for name in FileSystem.listDirectory(payoutsDirectory) where name.hasSuffix(".json") && name.count == 37 {
            if let payout = try readPayout(payoutsDirectory + "/" + name) { payouts.append(payout) }
        }
        return payouts.sorted { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.reference < $1.reference }
    }
}
