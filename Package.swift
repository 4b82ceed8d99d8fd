// swift-tools-version:6.1
import PackageDescription

// The module graph (docs/architecture.md draws it): the FastCGI runtime and the payment domain at the bottom,
// knowing nothing of each other; the store's interface above the domain and the flat-file store behind it; each
// operator's wire protocol in a module of its own; the use cases (Cashier) on the domain and the store's
// interface; the web modules (checkout, merchant API, dashboard) on the use cases; CrossApp composes them.
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
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        // libfcgi, as Debian's libfcgi-dev installs it. Only the FastCGI module imports it.
        .systemLibrary(name: "CFastCGI", providers: [.apt(["libfcgi-dev"])]),
        // The few Linux calls Swift's Glibc module does not declare (fallocate, syncfs, OFD locks, mallopt).
        .target(name: "CLinux"),
        // What several modules need once: a lock, threads, background jobs, hex, percent-encoding, UTC dates,
        // constant-time comparison, secure randomness, settings files.
        .target(name: "Support", dependencies: ["CLinux", .product(name: "Crypto", package: "swift-crypto")]),
        // The FastCGI runtime: workers, request and response values, routing. Knows nothing of payments.
        .target(name: "FastCGI", dependencies: ["CFastCGI", "Support", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")]),
        // The payment domain, operator-neutral and without I/O: orders, attempts, operators' events, the
        // lifecycle, validation, payment buttons, and the protocols operators are reached through.
        .target(name: "Payments", dependencies: ["Support", .product(name: "Crypto", package: "swift-crypto")]),
        // Where orders live, as the rest of Cross sees it: the store's protocol and what goes through it.
        .target(name: "OrderStorage", dependencies: ["Payments"]),
        // Orders as flat JSON files, the journal, locks, crash recovery and the index: the only code that
        // touches them.
        .target(
            name: "FlatFileStore",
            dependencies: ["OrderStorage", "Payments", "Support", "CLinux", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")]),
        // One HTTP request answered synchronously with a timeout: operators, notifications, webhooks.
        .target(
            name: "OutboundHTTP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // TMoney Online's wire protocol: the session id, the order form, the notification.
        .target(name: "TMoneyOnline", dependencies: ["Payments", "OutboundHTTP", "Support"]),
        // TMoney's MBANKING partner API: JWT login, push-USSD debit, check-transaction, credit.
        .target(name: "MBanking", dependencies: ["Payments", "OutboundHTTP", "Support", .product(name: "Logging", package: "swift-log")]),
        // Flooz's (Moov Africa) merchant debit service: the key, the debit push, verify.
        .target(
            name: "Flooz",
            dependencies: [
                "Payments", "OutboundHTTP", "Support", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
            ]),
        // The use cases: create an order, start an attempt, apply an operator's event; plain code with an
        // injected clock and store.
        .target(name: "Cashier", dependencies: ["Payments", "OrderStorage", "Support", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")]),
        // Cross's HTML templates and their words, and how they are rendered.
        .target(
            name: "WebPages",
            dependencies: ["FastCGI", "Payments", .product(name: "Mustache", package: "swift-mustache")],
            resources: [.copy("Templates")]),
        // The shopper's pages: checkout, return pages, the payment button.
        .target(
            name: "CheckoutWeb",
            dependencies: ["Cashier", "Payments", "OrderStorage", "WebPages", "FastCGI", "Support", .product(name: "Logging", package: "swift-log")]),
        // The JSON API merchants' back ends call.
        .target(name: "MerchantAPI", dependencies: ["Cashier", "Payments", "OrderStorage", "FastCGI", "Support", .product(name: "Logging", package: "swift-log")]),
        // The merchant's orders dashboard (/admin/).
        .target(
            name: "AdminDashboard",
            dependencies: [
                "Payments", "OrderStorage", "WebPages", "FastCGI", "Support", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
            ]),
        // Signed webhook events to the merchant's endpoints, from the outbox.
        .target(
            name: "Webhooks",
            dependencies: [
                "MerchantAPI", "Payments", "OrderStorage", "OutboundHTTP", "Support", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                // The courier's schedule: due deliveries in a heap, those waiting for a free place at their endpoint in a deque.
                .product(name: "HeapModule", package: "swift-collections"), .product(name: "DequeModule", package: "swift-collections"),
            ]),
        // Cross assembled: its configuration, the operators' endpoints, every route.
        .target(
            name: "CrossApp",
            dependencies: [
                "FastCGI", "Payments", "OrderStorage", "TMoneyOnline", "MBanking", "Flooz", "Cashier", "WebPages", "CheckoutWeb", "MerchantAPI",
                "AdminDashboard", "Webhooks", "Support", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        // The TMoney Online sandbox (`cross sandbox`): sessions, payment pages, accounts and notifications.
        .target(
            name: "Sandbox",
            dependencies: ["FastCGI", "Payments", "TMoneyOnline", "OutboundHTTP", "WebPages", "Support", .product(name: "Logging", package: "swift-log"),
                .product(name: "CryptoExtras", package: "swift-crypto")],
            resources: [.copy("Templates")]),
        .executableTarget(
            name: "cross",
            dependencies: [
                "FastCGI", "CrossApp", "FlatFileStore", "OrderStorage", "Payments", "TMoneyOnline", "MBanking", "Flooz", "Cashier", "Sandbox", "CLinux", "Support",
                "OutboundHTTP",
                "WebPages", "CheckoutWeb", "AdminDashboard", "Webhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"]),
        .testTarget(name: "PaymentsTests", dependencies: ["Payments", "TMoneyOnline"]),
        .testTarget(name: "MBankingTests", dependencies: ["MBanking", "Payments", "OutboundHTTP", "TestStack"]),
        .testTarget(name: "FloozTests", dependencies: ["Flooz", "Payments", "Support", "TestStack"]),
        .testTarget(name: "FlatFileStoreTests", dependencies: ["FlatFileStore", "OrderStorage", "Payments", "TMoneyOnline", "Cashier", "Support"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "FastCGI", "Payments", "TMoneyOnline", "WebPages"]),
        // The orders dashboard's benchmark (bench/dashboard/run): generates orders, times each page.
        .executableTarget(
            name: "cross-dashboard-bench",
            dependencies: [
                "CrossApp", "FlatFileStore", "OrderStorage", "Payments", "TMoneyOnline", "FastCGI", "WebPages",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/dashboard/Sources"),
        // Starts real nginx and cross processes on free ports for the integration tests.
        .target(name: "TestStack", dependencies: ["FastCGI"], path: "Tests/TestStack"),
        .testTarget(
            name: "CrossAppTests",
            dependencies: [
                "CrossApp", "Cashier", "CheckoutWeb", "MerchantAPI", "AdminDashboard", "Webhooks", "WebPages", "FlatFileStore",
                "OrderStorage", "Payments", "TMoneyOnline", "FastCGI", "Support", "TestStack",
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .testTarget(name: "OutboundHTTPTests", dependencies: ["OutboundHTTP", "TestStack"]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestStack", "FastCGI", "Payments", "TMoneyOnline"]),
        .testTarget(name: "BrowserTests", dependencies: ["TestStack"]),
    ],
    swiftLanguageModes: [.v6]
)
