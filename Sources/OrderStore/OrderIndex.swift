import Foundation
import Payments

/// A compact index of every order, beside the order files (`index/orders.tsv`), so that the dashboard can
/// list, filter and page through 100,000 orders without reading 100,000 files. One line per change of an
/// order, appended by the store after the change (the latest revision of a key wins):
///
///     key  revision  created  updated  status  amount  paid-at  phone  purchaseref (percent-encoded)
///
/// It holds nothing that is not in the order files: `cross index rebuild` writes it anew from them, and
/// recovery re-appends the lines of the changes it replays.
public struct OrderIndex: Sendable {
    public let path: String
    private let lockPath: String

    public init(directory: String) throws(StoreError) {
        try FileSystem.makeDurableDirectory(directory)
        path = directory + "/orders.tsv"
        lockPath = directory + "/index.lock"
    }

    /// An order as the index knows it.
    public struct Entry: Sendable, Equatable {
        public let key: OrderKey
        public let revision: Int
        public let createdAt: Timestamp
        public let updatedAt: Timestamp
        public let status: OrderStatus
        public let amount: Int64
        public let paidAt: Timestamp?
        public let phone: String?
        public let ref: String

        public init(_ order: Order) {
            key = order.key
            revision = order.revision
            createdAt = order.createdAt
            updatedAt = order.updatedAt
            status = order.status
            amount = order.amount.francs
            paidAt = order.status == .paid || order.status == .review ? order.payment?.receivedAt : nil
            phone = order.phone ?? (order.payment?.mobile.isEmpty == false ? order.payment?.mobile : nil)
            ref = order.ref
        }

        init?(line: Substring) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 9, let key = OrderKey(hex: String(fields[0])), let revision = Int(fields[1]),
                  let created = Int64(fields[2]), let updated = Int64(fields[3]),
                  let status = OrderStatus(rawValue: String(fields[4])), let amount = Int64(fields[5]),
                  let ref = String(fields[8]).removingPercentEncoding else { return nil }
            self.key = key
            self.revision = revision
            createdAt = Timestamp(seconds: created)
            updatedAt = Timestamp(seconds: updated)
            self.status = status
            self.amount = amount
            paidAt = Int64(fields[6]).map { Timestamp(seconds: $0) }
            phone = fields[7].isEmpty ? nil : String(fields[7])
            self.ref = ref
        }

        var line: String {
            let ref = self.ref.addingPercentEncoding(withAllowedCharacters: Self.plain) ?? ""
            let phone = (self.phone ?? "").filter { $0 != "\t" && $0 != "\n" }
            return [
                key.hex, String(revision), String(createdAt.seconds), String(updatedAt.seconds), status.rawValue,
                String(amount), paidAt.map { String($0.seconds) } ?? "", phone, ref,
            ].joined(separator: "\t") + "\n"
        }

        private static let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.~"))
    }

    /// Appends the order's line. Writers share the index lock; a rebuild takes it alone for its final swap.
    func append(_ orders: [Order]) throws(StoreError) {
        guard !orders.isEmpty else { return }
        let lines = orders.map { Entry($0).line }.joined()
        try FileLock.withSharedLock(lockPath) { () throws(StoreError) in
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .unavailable("cannot open the index \(path): \(FileSystem.errorText())") }
            defer { close(fd) }
            try FileSystem.writeAll(fd, Array(lines.utf8), path: path)
        }
    }

    /// Entries found in the index file from byte `offset` on, and the offset after the last complete line.
    /// `identity` tells a rebuilt file (a new inode) from the one read before.
    public func read(from offset: Int64) throws(StoreError) -> (entries: [Entry], end: Int64, identity: UInt64) {
        var info = stat()
        guard stat(path, &info) == 0 else { return ([], 0, 0) }
        let identity = UInt64(info.st_ino)
        guard let bytes = try FileSystem.read(path) else { return ([], 0, identity) }
        var entries: [Entry] = []
        var start = Int(min(max(offset, 0), Int64(bytes.count)))
        var end = Int64(start)
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            if let entry = Entry(line: Substring(String(decoding: bytes[start..<newline], as: UTF8.self))) {
                entries.append(entry)
            }
            start = newline + 1
            end = Int64(start)
        }
        return (entries, end, identity)
    }

    /// Writes the index anew from `orders`, keeping any line appended while it was being built.
    public func rebuild(from orders: [Order]) throws(StoreError) -> Int {
        var sizeAtStart = stat()
        let startSize = stat(path, &sizeAtStart) == 0 ? Int64(sizeAtStart.st_size) : 0
        let temporary = path + ".rebuild.\(getpid())"
        unlink(temporary)
        let lines = orders.sorted { $0.createdAt < $1.createdAt }.map { Entry($0).line }.joined()
        try FileSystem.writeNewFile(temporary, Array(lines.utf8))
        try FileLock.withLock(lockPath) { () throws(StoreError) in
            // Changes made during the scan were appended to the old file: carry them over.
            if let old = try FileSystem.read(path), Int64(old.count) > startSize {
                let fd = open(temporary, O_WRONLY | O_APPEND | O_CLOEXEC)
                guard fd >= 0 else { throw .unavailable("cannot reopen \(temporary): \(FileSystem.errorText())") }
                defer { close(fd) }
                try FileSystem.writeAll(fd, Array(old[Int(startSize)...]), path: temporary)
            }
            try FileSystem.rename(temporary, path)
        }
        return orders.count
    }
}
