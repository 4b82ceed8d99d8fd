import Foundation
import OrderStorage
import Payments
import Support

/// A compact index of every order, beside the order files (`index/orders.tsv`), so that the dashboard can
/// list, filter and page through 100,000 orders without reading 100,000 files. One line per change of an
/// order, appended by the store after the change (the latest revision of a key wins):
///
///     key  revision  created  updated  status  amount  paid-at  phone  purchaseref (percent-encoded)  operator
///
/// `operator` is `Order.operator`'s name (`tmoney`, `flooz`), empty before any attempt. It comes last so that a
/// line of an index written before it existed is the same line without it: `IndexTable` reads both (see
/// `IndexTable.legacyOperator` for what such a line's operator is taken to be).
///
/// It holds nothing that is not in the order files: `cross index rebuild` writes it anew from them, and
/// recovery re-appends the lines of the changes it replays. `IndexTable` reads it.
struct OrderIndex: Sendable {
    let path: String
    private let lockPath: String

    init(directory: String) throws(StoreError) {
        try FileSystem.makeDurableDirectory(directory)
        path = directory + "/orders.tsv"
        lockPath = directory + "/index.lock"
    }

    /// An order's line.
    static func line(_ order: Order) -> String {
        let paidAt = order.status == .paid || order.status == .review ? order.payment?.receivedAt : nil
        let phone = String(String.UnicodeScalarView(
            (order.details.phone ?? (order.payment?.payer.phone.isEmpty == false ? order.payment?.payer.phone : nil) ?? "")
                .unicodeScalars.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" }))
        return [
            order.key.hex, String(order.revision), String(order.createdAt.seconds), String(order.updatedAt.seconds),
            order.status.rawValue, String(order.amount.francs), paidAt.map { String($0.seconds) } ?? "", phone,
            PercentEncoding.encode(order.ref, spaceAsPlus: false), order.operator?.rawValue ?? "",
        ].joined(separator: "\t") + "\n"
    }

    /// Appends the orders' lines. Writers share the index lock; a rebuild takes it alone for its final swap.
    func append(_ orders: [Order]) throws(StoreError) {
        guard !orders.isEmpty else { return }
        let lines = orders.map(Self.line).joined()
        try FileLock.withSharedLock(lockPath) { () throws(StoreError) in
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, FileSystem.fileMode)
            guard fd >= 0 else { throw .unavailable("cannot open the index \(path): \(FileSystem.errorText())") }
            defer { close(fd) }
            try FileSystem.writeAll(fd, Array(lines.utf8), path: path)
        }
    }

    /// Writes the index anew from `orders`, keeping any line appended while it was being built.
    func rebuild(from orders: [Order]) throws(StoreError) {
        var sizeAtStart = stat()
        let startSize = stat(path, &sizeAtStart) == 0 ? Int64(sizeAtStart.st_size) : 0
        let temporary = path + ".rebuild.\(getpid())"
        unlink(temporary)
        let lines = orders.sorted { $0.createdAt < $1.createdAt }.map(Self.line).joined()
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
    }

    /// Writes the index anew with one line per order, its latest (the line the dashboard's table keeps), so
    /// that reading it whole costs the number of orders, not of changes: done when a journal segment closes.
    /// The lines keep the order in which their orders first appeared, so that orders created in the same second
    /// list as before, and the dashboard's answers are the same. Built from a temporary file, synced, put in
    /// place by rename under the index's lock, with any line appended meanwhile carried over (as `rebuild`).
    /// Returns the number of orders, or nil when a rebuild replaced the index meanwhile (it is compact already).
    @discardableResult
    func compact() throws(StoreError) -> Int? {
        let table = IndexTable(tracksLines: true)
        do {
            try table.refresh(path: path)
        } catch {
            throw .unavailable("the order index cannot be read: \(error)")
        }
        guard let origins = table.lineOrigins, table.offset > 0 else { return 0 }
        let source = open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw .unavailable("cannot open the index \(path): \(FileSystem.errorText())") }
        defer { close(source) }
        let temporary = path + ".compact.\(getpid())"
        unlink(temporary)
        let target = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FileSystem.fileMode)
        guard target >= 0 else { throw .unavailable("cannot create \(temporary): \(FileSystem.errorText())") }
        do throws(StoreError) {
            var pending: [UInt8] = []
            pending.reserveCapacity(1 << 20)
            var line: [UInt8] = []
            for origin in origins {
                line = [UInt8](repeating: 0, count: Int(origin.length))
                let got = line.withUnsafeMutableBytes { pread(source, $0.baseAddress!, Int(origin.length), off_t(origin.offset)) }
                guard got == Int(origin.length) else { throw StoreError.unavailable("cannot read the index \(path) while compacting it") }
                pending.append(contentsOf: line)
                pending.append(UInt8(ascii: "\n"))
                if pending.count >= 1 << 20 {
                    try FileSystem.writeAll(target, pending, path: temporary)
                    pending.removeAll(keepingCapacity: true)
                }
            }
            try FileSystem.writeAll(target, pending, path: temporary)
            // Synced before the lock too, so that writers wait only for the sync of the few lines carried over.
            guard fsync(target) == 0 else { throw .unavailable("cannot sync \(temporary): \(FileSystem.errorText())") }
            let replaced = try FileLock.withLock(lockPath) { () throws(StoreError) -> Bool in
                // `cross index rebuild` put another file in place meanwhile: it is compact already.
                guard table.reads(path) else { return false }
                // Lines appended since the table read the index (and a last line still incomplete then).
                var info = stat()
                guard fstat(source, &info) == 0 else { throw .unavailable("cannot stat \(path): \(FileSystem.errorText())") }
                var position = table.offset
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while position < Int64(info.st_size) {
                    let got = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress!, $0.count, off_t(position)) }
                    if got < 0 && errno == EINTR { continue }
                    guard got > 0 else { throw .unavailable("cannot read the index \(path): \(FileSystem.errorText())") }
                    try FileSystem.writeAll(target, Array(buffer[..<got]), path: temporary)
                    position += Int64(got)
                }
                guard fsync(target) == 0 else { throw .unavailable("cannot sync \(temporary): \(FileSystem.errorText())") }
                try FileSystem.rename(temporary, path)
                return true
            }
            close(target)
            guard replaced else {
                unlink(temporary)
                return nil
            }
            try FileSystem.syncDirectory((path as NSString).deletingLastPathComponent)
            return origins.count
        } catch {
            close(target)
            unlink(temporary)
            throw error
        }
    }
}
