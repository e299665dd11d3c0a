// swift-tools-version:6.1
import Foundation
import PackageDescription

let package = Package(
    name: "HearingAI",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HearingAI", targets: ["HearingAI"]),
        .library(name: "HearingAIOpenAI", targets: ["HearingAIOpenAI"]),
        .executable(name: "hearingai", targets: ["hearingai"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // System libraries from Debian's -dev packages.
        .systemLibrary(
            name: "CSndFile",
            pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]
        ),
        .systemLibrary(
            name: "CSoxr",
            pkgConfig: "soxr",
            providers: [.apt(["libsoxr-dev"])]
        ),
        .systemLibrary(
            name: "CPocketSphinx",
            pkgConfig: "pocketsphinx",
            providers: [.apt(["libpocketsphinx-dev", "libsphinxbase-dev", "pocketsphinx-en-us"])]
        ),
        .systemLibrary(
            name: "CFlite",
            providers: [.apt(["flite1-dev"])]
        ),
        // What Swift cannot reach directly (malloc_trim, ...).
        .target(name: "CHearingShims"),

        .target(
            name: "HearingAI",
            dependencies: [
                "CSndFile", "CSoxr", "CPocketSphinx", "CFlite", "CHearingShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The OpenAI-compatible HTTP engine, for users who run a Whisper-class server.
        .target(
            name: "HearingAIOpenAI",
            dependencies: [
                "HearingAI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The service: no engine of its own (the executable injects one), so no HTTP stack.
        .target(
            name: "HearingIngest",
            dependencies: [
                "HearingAI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The queue in PostgreSQL, for several nodes on one database: a library of its own, so
        // that HearingIngest (and a node on SQLite) links no PostgreSQL client.
        .target(
            name: "HearingPostgres",
            dependencies: [
                "HearingAI",
                "HearingIngest",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Webhook delivery over HTTP: the sender HearingIngest's delivery service is given, so
        // that the service library itself links no HTTP stack.
        .target(
            name: "HearingWebhooks",
            dependencies: [
                "HearingAI",
                "HearingIngest",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The Prometheus backend of the metrics the libraries record through swift-metrics:
        // bootstrapped once by the executable (watch), rendered for /metrics.
        .target(
            name: "HearingMetrics",
            dependencies: [
                "HearingAI",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The service's HTTP face: the jobs API, the OpenAI-compatible endpoint, health.
        .target(
            name: "HearingAPI",
            dependencies: [
                "HearingAI",
                "HearingIngest",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        .executableTarget(
            name: "hearingai",
            dependencies: [
                "HearingAI",
                "HearingAIOpenAI",
                "HearingIngest",
                "HearingAPI",
                "HearingWebhooks",
                "HearingMetrics",
                "HearingPostgres",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(
            name: "HearingAITests",
            dependencies: ["HearingAI", "TestSupport", .product(name: "Configuration", package: "swift-configuration")]
        ),
        // What several test targets share: the package and fixture paths, temporary directories,
        // running a child process, word error rate (with the cases its rule is tested on, which
        // scripts/wer.py reads too), and scripts/openai-server.py started on loopback for the
        // tests that need a transcription server.
        // And throwaway PostgreSQL databases on the test cluster (`make test` starts it).
        .target(
            name: "TestSupport",
            dependencies: ["HearingPostgres", .product(name: "PostgresNIO", package: "postgres-nio")],
            path: "Tests/TestSupport", exclude: ["wer-normalisation-cases.json"]
        ),
        .testTarget(
            name: "HearingAIOpenAITests",
            dependencies: ["HearingAIOpenAI", "TestSupport", .product(name: "Configuration", package: "swift-configuration")]
        ),
        .testTarget(
            name: "HearingIngestTests",
            dependencies: [
                "HearingIngest", "HearingPostgres", "TestSupport", .product(name: "Configuration", package: "swift-configuration"),
                // The PostgreSQL tests' own connection, for creating and dropping their databases.
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // The real binary; the libraries only for the keys the docs and flags are checked against.
        // The metrics as Prometheus text after the real service has run on real audio, in process.
        .testTarget(
            name: "HearingMetricsTests",
            dependencies: [
                "HearingMetrics", "HearingIngest", "HearingAIOpenAI", "TestSupport",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["hearingai", "TestSupport", "HearingAI", "HearingIngest", "HearingAIOpenAI", "HearingAPI"]
        ),
    ]
)

// HEARINGAI_STATIC_LINK=1 links the executable with the Swift runtime and Foundation static
// (the Debian package depends only on Debian's libraries), changing only its link: the
// modules compile as in any other build, so the package reuses the objects the tests were
// built from. (`--static-swift-stdlib` would compile every module again, against the static
// runtime's module files, where the test libraries are not.) The group lets the static
// archives resolve each other in any order.
if ProcessInfo.processInfo.environment["HEARINGAI_STATIC_LINK"] == "1",
    let executable = package.targets.first(where: { $0.name == "hearingai" })
{
    let foundation = [
        "Foundation", "FoundationInternationalization", "FoundationEssentials", "CoreFoundation", "_FoundationICU",
        "_FoundationCShims", "_FoundationCollections", "swiftSynchronization",
    ]
    executable.linkerSettings =
        (executable.linkerSettings ?? [])
        + [.unsafeFlags(["-static-stdlib", "-Xlinker", "--start-group"] + foundation.map { "-l\($0)" } + ["-Xlinker", "--end-group"])]
}

// Shared settings, applied to every Swift target in one place.
for target in package.targets where target.type != .system && target.name != "CHearingShims" {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .swiftLanguageMode(.v6),
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("InternalImportsByDefault"),
        ]
}
