// swift-tools-version: 6.0
import PackageDescription

/// Layers, each importing only those below it:
/// `vigil` (CLI) -> VigilPipeline / VigilReporter -> VigilIngest / VigilStore -> VigilDetector -> CFFmpeg (shim) / CVigilKernels.
/// VigilSQLite (the single-server default) and VigilPostgres (fleet mode) implement VigilStore's protocols; only the
/// composition (VigilDaemon's `Daemon`, the CLI) and tests import them.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vigil", targets: ["vigil"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // Only carries the pkg-config paths of FFmpeg's libraries to the shim.
        .systemLibrary(
            name: "CLibAV",
            path: "CFFmpeg/CLibAV",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev", "pkg-config"])]
        ),
        // The only code that touches libav: an opaque C API with `vg_` prefixed functions.
        .target(
            name: "CFFmpeg",
            dependencies: ["CLibAV"],
            path: "CFFmpeg/Shim",
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror=implicit-function-declaration"])],
            linkerSettings: [
                .linkedLibrary("avformat"), .linkedLibrary("avcodec"),
                .linkedLibrary("swscale"), .linkedLibrary("avutil"),
            ]
        ),
        // Per-pixel SIMD kernels (AVX2, SSE2, scalar reference), chosen at run time.
        .target(
            name: "CVigilKernels",
            cSettings: [.unsafeFlags(["-O3", "-Wall", "-Wextra"])]
        ),
        .target(
            name: "VigilDetector",
            dependencies: ["CVigilKernels"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "VigilIngest",
            dependencies: ["CFFmpeg", "VigilDetector", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // What is stored and the protocols that store it (CameraSource, AlertProducer,
        // AlertDeliveryStore): camera records, alerts, the state directory. No database code.
        .target(
            name: "VigilStore",
            dependencies: [
                "VigilDetector",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // The SQLite (GRDB) backend of VigilStore's protocols: the registry and the durable alert queue.
        .target(
            name: "VigilSQLite",
            dependencies: [
                "VigilStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The PostgreSQL (postgres-nio) backend for fleet mode: the shared registry, camera leases and
        // alerts of several nodes. Only the composition (VigilDaemon's `Daemon`, the CLI) and tests import it.
        .target(
            name: "VigilPostgres",
            dependencies: [
                "VigilStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Delivers queued alerts: the alert log, a webhook, a command.
        .target(
            name: "VigilReporter",
            dependencies: ["VigilStore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // What the law asks of a camera operator: the signed, versioned public register.
        .target(
            name: "VigilCompliance",
            dependencies: ["VigilStore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "VigilPipeline",
            dependencies: [
                "VigilDetector", "VigilIngest", "VigilStore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The daemon's wiring: camera workers, reporter, registry watcher and sd_notify as Services.
        .target(
            name: "VigilDaemon",
            dependencies: [
                "VigilPipeline", "VigilIngest", "VigilDetector", "VigilStore", "VigilReporter", "VigilSQLite", "VigilPostgres",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // The HTTP surface (Hummingbird 2): health, Prometheus metrics, the JSON API with its live alert
        // stream, the operator status page and the public register page, as one Service of the daemon.
        .target(
            name: "VigilHTTP",
            dependencies: [
                "VigilPipeline", "VigilStore", "VigilSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // Generates BuildInfo.swift (version from VERSION, git commit) for `vigil --version`.
        .plugin(name: "BuildInfo", capability: .buildTool()),
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilDaemon", "VigilHTTP", "VigilCompliance", "VigilPipeline", "VigilIngest", "VigilDetector", "VigilStore",
                "VigilReporter", "VigilSQLite", "VigilPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings,
            plugins: ["BuildInfo"]
        ),
        // libFuzzer harnesses (`make fuzz`, README "Fuzzing"). A plain build makes programs that replay
        // their corpus; built with `-sanitize=fuzzer -DFUZZING` they are libFuzzer targets.
        .target(name: "CFuzzDriver", path: "fuzz/Driver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "fuzz/Support", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzSupport", "VigilPipeline", "VigilDetector"], path: "fuzz/config",
                          swiftSettings: strictSettings),
        .executableTarget(name: "FuzzImport", dependencies: ["FuzzSupport", "VigilStore"], path: "fuzz/import",
                          swiftSettings: strictSettings),
        .executableTarget(name: "FuzzURL", dependencies: ["FuzzSupport", "VigilStore"], path: "fuzz/url",
                          swiftSettings: strictSettings),
        .executableTarget(name: "FuzzRedactor", dependencies: ["FuzzSupport", "VigilIngest"], path: "fuzz/redactor",
                          swiftSettings: strictSettings),
        // What tests need to drive Vigil: one poller, one process wrapper, a manual clock, a camera
        // without FFmpeg, a stand-in for systemd's notify socket. Used only by tests.
        .target(
            name: "VigilTesting",
            dependencies: ["VigilDetector", "VigilIngest", "VigilPipeline"],
            swiftSettings: strictSettings
        ),
        // The project's fixtures and test servers (RTSP, fault proxy, webhook) and `vigil run` as a process.
        .target(
            name: "VigilTestSupport",
            dependencies: ["VigilIngest", "VigilPipeline", "VigilStore", "VigilTesting", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/VigilTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VigilDetectorTests",
            dependencies: ["VigilDetector", "CVigilKernels", "VigilPipeline", "VigilIngest", "VigilTestSupport", "VigilTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VigilIngestTests",
            dependencies: ["VigilIngest", "VigilDetector", "VigilTestSupport", "VigilTesting"],
            swiftSettings: strictSettings
        ),
        // A producer for the queue's crash tests, SIGKILLed by them at random moments.
        .executableTarget(
            name: "QueueTorture",
            dependencies: ["VigilStore", "VigilSQLite", "VigilDetector"],
            path: "Tests/QueueTorture",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VigilQueueTests",
            dependencies: [
                "VigilStore", "VigilSQLite", "VigilReporter", "VigilDetector", "VigilTestSupport", "VigilTesting", "QueueTorture", "vigil",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VigilStoreTests",
            dependencies: ["vigil", "VigilStore", "VigilSQLite", "VigilTestSupport", "VigilTesting", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VigilDaemonTests",
            dependencies: [
                "VigilDaemon", "VigilPipeline", "VigilIngest", "VigilStore", "VigilSQLite", "VigilDetector", "VigilReporter",
                "VigilTestSupport", "VigilTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VigilHTTPTests",
            dependencies: ["vigil", "VigilHTTP", "VigilPipeline", "VigilStore", "VigilSQLite", "VigilTestSupport", "VigilTesting",
                           .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // Fleet mode against real PostgreSQL servers the tests start (VigilTesting's PostgresServer).
        .testTarget(
            name: "VigilClusterTests",
            dependencies: [
                "vigil", "VigilPostgres", "VigilSQLite", "VigilStore", "VigilPipeline", "VigilDaemon",
                "VigilTestSupport", "VigilTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VigilCLITests",
            dependencies: ["vigil", "VigilPipeline", "VigilDetector", "VigilIngest", "VigilTestSupport", "VigilTesting"],
            swiftSettings: strictSettings
        ),
    ]
)
