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
// dependencies below must follow the main Package.swift's.
import PackageDescription

let fuzzTargets = [
    "FuzzURLEncoding", "FuzzRequest", "FuzzNotification", "FuzzSessionAnswer", "FuzzOrderJSON", "FuzzOrderFields",
    "FuzzFields", "FuzzPaymentButton",
]

let package = Package(
    name: "cross-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // The code under test, from ../Sources.
        .systemLibrary(name: "CFastCGI", path: "Modules/CFastCGI", providers: [.apt(["libfcgi-dev"])]),
        .target(
            name: "FastCGI",
            dependencies: ["CFastCGI", .product(name: "Logging", package: "swift-log")],
            path: "Modules/FastCGI"
        ),
        .target(
            name: "Payments",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Modules/Payments"
        ),
        // What every fuzz target shares: invariant checks that crash (so that libFuzzer keeps the input).
        .target(name: "FuzzSupport", dependencies: ["FastCGI", "Payments"]),
    ] + fuzzTargets.map { name in
        .executableTarget(name: name, dependencies: ["FuzzSupport", "FastCGI", "Payments"])
    }
)
