import Dispatch
import Testing
@testable import Support

@Suite struct SupportTests {
    @Test func hexRoundTrips() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.encode([0xab], uppercase: true) == "AB")
        #expect(Hex.decode("000FA5ff") == [0x00, 0x0f, 0xa5, 0xff])
        #expect(Hex.decode("abc") == nil, "an odd number of digits")
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.encode(UInt64(0x0123_4567_89ab_cdef)) == "0123456789abcdef")
        #expect(Hex.uint64(Array("0123456789abcdef".utf8)) == 0x0123_4567_89ab_cdef)
        #expect(Hex.uint64(Array("0123456789ABCDEF".utf8)) == nil, "keys are lowercase")
    }

    @Test func percentEncodingRoundTrips() {
        var out: [UInt8] = []
        #expect(PercentEncoding.decode(Array("a%2Fb+c%c3%a9".utf8), plusIsSpace: true, into: &out))
        #expect(String(decoding: out, as: UTF8.self) == "a/b cé")
        out = []
        #expect(!PercentEncoding.decode(Array("%2".utf8), plusIsSpace: false, into: &out))
        #expect(!PercentEncoding.decode(Array("%zz".utf8), plusIsSpace: false, into: &out))
        #expect(PercentEncoding.encode("a b/é~", spaceAsPlus: true) == "a+b%2F%C3%A9~")
        #expect(PercentEncoding.encode("a b", spaceAsPlus: false) == "a%20b")
    }

    @Test func utcTimesAndDates() {
        #expect(UTCTime.string(seconds: 0) == "1970-01-01T00:00:00Z")
        #expect(UTCTime.string(seconds: 1_795_712_608) == "2026-11-26T17:03:28Z")
        #expect(UTCTime.string(seconds: 951_782_400, separator: UInt8(ascii: " "), zone: false) == "2000-02-29 00:00:00")
        #expect(UTCTime.string(seconds: -1) == "1969-12-31T23:59:59Z")
        var line: [UInt8] = []
        UTCTime.append(seconds: 86_399, milliseconds: 7, to: &line)
        #expect(String(decoding: line, as: UTF8.self) == "1970-01-01T23:59:59.007Z")
        #expect(UTCTime.day(year: 2026, month: 2, day: 31) == nil)
        #expect(UTCTime.day(year: 2024, month: 2, day: 29) == 19_782)
        for day: Int64 in [-800_000, -1, 0, 1, 19_782, 2_932_896] {
            let (year, month, dayOfMonth) = UTCTime.civil(day: day)
            #expect(UTCTime.day(year: year, month: month, day: dayOfMonth) == day)
        }
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equal("secret-key", "secret-key"))
        #expect(!ConstantTime.equal("secret-key", "secret-kez"))
        #expect(!ConstantTime.equal("secret", "secret-key"))
        #expect(!ConstantTime.equal("", "x"))
    }

    @Test func redactionShowsOnlyTheEnds() {
        #expect(Redaction.ends("27875690759565722269644474422394") == "2787…2394")
        #expect(!Redaction.ends("12345678").contains("1234"), "too short to show any part")
    }

    @Test func secureRandomDrawsFromTheAlphabet() {
        #expect(SecureRandom.digits(32).allSatisfy { $0.isNumber })
        #expect(SecureRandom.hex(bytes: 16).count == 32)
        #expect(Set((0..<50).map { _ in SecureRandom.hex(bytes: 16) }).count == 50)
    }

    @Test func periodicJobRunsWakesAndStops() {
        let passes = Lock(0)
        let passed = DispatchSemaphore(value: 0)
        let job = PeriodicJob(name: "test", interval: 3600) {
            passes.withLock { $0 += 1 }
            passed.signal()
            return nil
        }
        job.start()
        // The first pass runs at start; a wake runs another without waiting out the hour.
        #expect(passed.wait(timeout: .now() + 5) == .success)
        job.wake()
        #expect(passed.wait(timeout: .now() + 5) == .success)
        #expect(passes.withLock { $0 } == 2)
        #expect(job.stop(timeout: 5), "stopped at once, not after the hour")
        #expect(passes.withLock { $0 } == 2)
    }
}
