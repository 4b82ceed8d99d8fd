import Testing
@testable import FastCGI

@Suite struct BodyReaderTests {
    /// A body source that hands out `data` in pieces of at most `piece` bytes, like libfcgi's records.
    final class Source {
        let data: [UInt8]
        let piece: Int
        var offset = 0
        var calls = 0
        init(_ data: [UInt8], piece: Int = 1000) { self.data = data; self.piece = piece }
        func read(_ buffer: UnsafeMutablePointer<CChar>, _ capacity: Int32) -> Int32 {
            calls += 1
            let count = min(Int(capacity), piece, data.count - offset)
            for index in 0..<count { buffer[index] = CChar(bitPattern: data[offset + index]) }
            offset += count
            return Int32(count)
        }
    }

    @Test func bodyUnderTheLimitIsReadWhole() throws {
        let data = (0..<5000).map { UInt8($0 % 251) }
        let source = Source(data)
        #expect(try BodyReader.read(limit: 64 * 1024, declaredLength: data.count, from: source.read) == data)
    }

    @Test func bodyExactlyAtTheLimitPasses() throws {
        let source = Source([UInt8](repeating: 7, count: 1024))
        #expect(try BodyReader.read(limit: 1024, declaredLength: 1024, from: source.read).count == 1024)
    }

    @Test func declaredOversizedBodyIsRefusedUnread() {
        let source = Source([UInt8](repeating: 1, count: 2000))
        let error = #expect(throws: HTTPError.self) { try BodyReader.read(limit: 1024, declaredLength: 2000, from: source.read) }
        #expect(error?.status == .contentTooLarge)
        #expect(source.calls == 0)
    }

    @Test func undeclaredOversizedBodyStopsJustPastTheLimit() {
        let source = Source([UInt8](repeating: 1, count: 100_000), piece: 100)
        let error = #expect(throws: HTTPError.self) { try BodyReader.read(limit: 1024, declaredLength: 0, from: source.read) }
        #expect(error?.status == .contentTooLarge)
        #expect(source.offset <= 1024 + 100)
    }

    @Test func emptyBody() throws {
        #expect(try BodyReader.read(limit: 1024, declaredLength: 0, from: Source([]).read).isEmpty)
    }
}
