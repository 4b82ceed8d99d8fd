/// Reads a request body with a size limit. libfcgi sets none: without one, any client could make a worker
/// buffer as much as nginx lets through.
enum BodyReader {
    /// `read(buffer, capacity)` returns how many bytes it put in the buffer, 0 at the end of the body.
    /// A body longer than `limit` (as declared, or as it turns out) is a 413; a declared one is refused
    /// before a byte of it is read.
    static func read(
        limit: Int, declaredLength: Int, from read: (UnsafeMutablePointer<CChar>, Int32) -> Int32
    ) throws(HTTPError) -> [UInt8] {
        let tooLarge = { HTTPError(.contentTooLarge, "The request body is larger than \(limit) bytes.") }
        guard declaredLength <= limit else { throw tooLarge() }
        var body: [UInt8] = []
        if declaredLength > 0 { body.reserveCapacity(declaredLength) }
        let overLimit = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 16 * 1024) { chunk -> Bool in
            while true {
                let count = read(chunk.baseAddress!, Int32(chunk.count))
                if count <= 0 { return false }
                chunk.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: Int(count)) {
                    body.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(count)))
                }
                if body.count > limit { return true }
            }
        }
        if overLimit { throw tooLarge() }
        return body
    }
}
