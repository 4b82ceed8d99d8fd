// swift-tools-version:5.4
// Cross's libFuzzer targets: a package of its own, so that `swift build` and `swift test` of the main package
// never see them (a fuzz target has no `main`: libFuzzer's is linked in by `-sanitize=fuzzer`).
//
// Build and run with `make fuzz` (fuzz/run); see fuzz/README.md.
//
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM links every executable with `main` aliased to
// `<Module>_main`, which a fuzz target (no top-level code, `-parse-as-library`) does not define.
//
// The modules under test are compiled here from the main package's own sources (fuzz/Modules/* are symbolic
// links to ../Sources/*): the main package exports no library products a path dependency could use. Their
// dependencies below must follow the main Package.swift's. fuzz/run builds with `-enable-testing`, so that a
// target may `@testable import` a module to reach its internal parsers (the journal's, the index's).
import PackageDescription

/// Each fuzz target and the modules under test it imports (FuzzSupport besides).
let fuzzTargets: [(name: String, modules: [String])] = [
    ("FuzzURLEncoding", ["FastCGI"]),
    ("FuzzRequest", ["FastCGI"]),
    ("FuzzNotification", ["FastCGI", "Payments", "TMoneyOnline"]),
    ("FuzzSessionAnswer", ["TMoneyOnline"]),
    ("FuzzOrderJSON", ["Payments", "FlatFileStore"]),
    ("FuzzOrderFields", ["Payments"]),
    ("FuzzFields", ["Payments", "TMoneyOnline"]),
    ("FuzzPaymentButton", ["FastCGI", "Payments"]),
    ("FuzzJournalLine", ["Payments", "OrderStorage", "FlatFileStore"]),
    ("FuzzIndexTable", ["Payments", "OrderStorage", "FlatFileStore", "Support"]),
    ("FuzzMBanking", ["Payments", "MBanking"]),
    ("FuzzPhoneNumber", ["Payments"]),
]

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")

let package = Package(
    name: "cross-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        // The code under test, from ../Sources.
        .systemLibrary(name: "CFastCGI", path: "Modules/CFastCGI", providers: [.apt(["libfcgi-dev"])]),
        .target(name: "CLinux", path: "Modules/CLinux"),
        .target(name: "Support", dependencies: ["CLinux", crypto], path: "Modules/Support"),
        .target(name: "FastCGI", dependencies: ["CFastCGI", "Support", logging, metrics], path: "Modules/FastCGI"),
        .target(name: "Payments", dependencies: ["Support", crypto], path: "Modules/Payments"),
        .target(name: "OrderStorage", dependencies: ["Payments"], path: "Modules/OrderStorage"),
        .target(
            name: "FlatFileStore",
            dependencies: ["OrderStorage", "Payments", "Support", "CLinux", logging, metrics],
            path: "Modules/FlatFileStore"
        ),
        .target(
            name: "OutboundHTTP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Modules/OutboundHTTP"
        ),
        .target(name: "TMoneyOnline", dependencies: ["Payments", "OutboundHTTP", "Support"], path: "Modules/TMoneyOnline"),
        .target(name: "MBanking", dependencies: ["Payments", "OutboundHTTP", "Support", logging], path: "Modules/MBanking"),
        // What every fuzz target shares: invariant checks that crash (so that libFuzzer keeps the input).
        .target(name: "FuzzSupport", dependencies: ["FastCGI", "Payments"]),
    ] + fuzzTargets.map { target in
        .executableTarget(name: target.name, dependencies: ["FuzzSupport"] + target.modules.map { .target(name: $0) })
    }
)
