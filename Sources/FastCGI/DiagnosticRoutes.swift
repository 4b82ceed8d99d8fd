import Foundation

/// Routes that exist only when `cross serve --diagnostics` is given: integration tests and benchmarks use them to
/// produce a large body or a slow request through the real stack. Never enabled by default.
public enum DiagnosticRoutes {
    /// Largest body `/_diagnostics/bytes/:count` produces (16 MiB).
    public static let maxBytes = 16 << 20

    public static func add(to router: inout Router) {
        // `count` bytes of a repeating, position-dependent pattern, so a client can check every byte arrived in order.
        router.get("/_diagnostics/bytes/:count") { request in
            guard let count = Int(request.routeParameters["count"] ?? ""), (0...maxBytes).contains(count) else {
                throw HTTPError(.badRequest, "count must be 0 to \(maxBytes)")
            }
            return Response(status: .ok, headers: [("Content-Type", "application/octet-stream")], body: pattern(count: count))
        }
        // Answers after `ms` milliseconds: a request that is surely in flight when a test sends SIGTERM.
        router.get("/_diagnostics/sleep/:ms") { request in
            guard let ms = Int(request.routeParameters["ms"] ?? ""), (0...60_000).contains(ms) else {
                throw HTTPError(.badRequest, "ms must be 0 to 60000")
            }
            usleep(UInt32(ms) * 1_000)
            return .text("slept \(ms) ms\n")
        }
    }

    /// Byte `i` is `(i * 31 + i / 251) & 0xFF`: no short period, so a lost or repeated piece shows.
    public static func pattern(count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 251) }
    }
}
