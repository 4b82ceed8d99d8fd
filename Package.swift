// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "cross",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cross", targets: ["cross"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // libfcgi, as Debian's libfcgi-dev installs it. Only the FastCGI module imports it.
        .systemLibrary(
            name: "CFastCGI",
            providers: [.apt(["libfcgi-dev"])]
        ),
        // The FastCGI runtime: workers, request and response values, routing. Knows nothing of payments.
        .target(
            name: "FastCGI",
            dependencies: [
                "CFastCGI",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The payment domain: orders and their states, the TMoney Online protocol, validation. No I/O.
        .target(
            name: "Payments",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // One HTTP request answered synchronously with a timeout: the gateway, notifications, webhooks.
        .target(name: "OutboundHTTP"),
        // One Linux call Swift's Glibc module does not declare (fallocate).
        .target(name: "CSystem"),
        // Orders as flat JSON files, the journal, locks and crash recovery: the only code that writes them.
        .target(
            name: "OrderStore",
            dependencies: [
                "Payments", "FastCGI", "CSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Cross's HTTP routes, pages and their templates.
        .target(
            name: "CrossApp",
            dependencies: [
                "FastCGI", "Payments", "OrderStore", "OutboundHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Templates")]
        ),
        // The TMoney Online sandbox (`cross sandbox`): sessions, payment pages, accounts and notifications.
        .target(
            name: "Sandbox",
            dependencies: [
                "FastCGI", "Payments", "OutboundHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Templates")]
        ),
        .executableTarget(
            name: "cross",
            dependencies: [
                "FastCGI", "CrossApp", "OrderStore", "Payments", "Sandbox", "CSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"]),
        .testTarget(name: "PaymentsTests", dependencies: ["Payments"]),
        .testTarget(name: "OrderStoreTests", dependencies: ["OrderStore", "Payments"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "FastCGI", "Payments"]),
        // The orders dashboard's benchmark (bench/dashboard/run): generates orders, times each page.
        .executableTarget(
            name: "cross-dashboard-bench",
            dependencies: ["CrossApp", "OrderStore", "Payments", "FastCGI", .product(name: "Logging", package: "swift-log")],
            path: "bench/dashboard/Sources"
        ),
        // Starts real nginx and cross processes on free ports for the integration tests.
        .target(name: "TestStack", dependencies: ["FastCGI"], path: "Tests/TestStack"),
        .testTarget(name: "CrossAppTests", dependencies: ["CrossApp", "OrderStore", "Payments", "FastCGI", "TestStack"]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestStack", "FastCGI", "Payments"]),
        .testTarget(name: "BrowserTests", dependencies: ["TestStack"]),
    ],
    swiftLanguageModes: [.v6]
)
