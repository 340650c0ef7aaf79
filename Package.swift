// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "stream-miners",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "miners", targets: ["miners"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The bittensor wire format: synapse, headers, body hash, response headers. Pure values.
        .target(name: "Wire", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // libsodium (Debian's libsodium-dev): Ristretto255, Blake2b, SHA-2.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        // zlib (Debian's zlib1g-dev): the supervisor's gzip-compressed log backups.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // prctl(2), which Swift cannot call directly (it is variadic).
        .systemLibrary(name: "CProcessControl"),
        // glibc's malloc_trim (the worker's idle memory trim, bench/footprint.py).
        .systemLibrary(name: "CMalloc"),
        // sr25519 (Keccak, STROBE, Merlin over libsodium), SS58, substrate-bip39, wallet hotkeys.
        .target(name: "Keys", dependencies: ["CSodium"], resources: [.copy("Resources/bip39-english.txt")]),
        // The batcher and deadline policy shared by every backend.
        .target(name: "Streaming"),
        // Server-sent events, as OpenAI-compatible servers and TGI stream them.
        .target(name: "EventStream"),
        // Token producers behind one protocol.
        .target(
            name: "Backends",
            dependencies: [
                "Wire", "Config", "EventStream", "Streaming",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ]
        ),
        // SQLite log: migrations, record types, the batched writer.
        .target(
            name: "LogStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // YAML config schema, defaults and operator-facing errors.
        .target(name: "Config", dependencies: ["Keys", "Yams"]),
        // The subtensor chain: JSON-RPC over websocket, SCALE, metadata v15, the metagraph,
        // signed serve_axon extrinsics.
        .target(
            name: "Chain",
            dependencies: [
                "Keys", "Config",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Who is served: signatures, nonces, blacklist and metagraph, capacity by stake.
        .target(name: "Admission", dependencies: ["Wire", "Keys", "Config"]),
        // The worker's HTTP app: route, decode, stream, log.
        .target(
            name: "Server",
            dependencies: [
                "Wire", "Streaming", "Backends", "LogStore", "Config", "Admission", "CMalloc",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Runs the workers of a config as child processes; the control socket; Prometheus metrics.
        .target(
            name: "Supervisor",
            dependencies: [
                "Config", "LogStore", "Chain", "Keys", "CProcessControl", "CZlib",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The validator's side: signed requests, the dendrite's reading of a stream, load and
        // the configuration matrix.
        .target(
            name: "Simulator",
            dependencies: [
                "Wire", "Keys", "Config", "LogStore", "Supervisor",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The fleet log: every host's rows replicated to PostgreSQL, and the analysis over it.
        .target(
            name: "Fleet",
            dependencies: [
                "Config", "LogStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: ["EmbedMigrations"]  // migrations/postgres/*.sql
        ),
        // The HTML report: inline SVG charts of the log.
        .target(name: "Report", dependencies: ["LogStore"]),
        .executableTarget(
            name: "miners",
            dependencies: [
                "Server", "Config", "LogStore", "Supervisor", "Report", "Simulator", "Chain", "Keys", "Fleet",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `swift run -c release sr25519-bench`: verifications per second (not part of the tests).
        .executableTarget(name: "sr25519-bench", dependencies: ["Keys"], path: "Benchmarks/Sr25519Bench"),
        // libFuzzer targets for every parser of untrusted input (scripts/fuzz.sh builds it with
        // -sanitize=fuzzer); a plain build replays inputs: `miners-fuzz TARGET FILE|DIR...`.
        .executableTarget(
            name: "miners-fuzz",
            dependencies: [
                "Wire", "Keys", "Config", "EventStream", "Chain", "Admission", "Server", "LogStore", "Backends", "Supervisor",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Fuzz",
            exclude: ["corpus"]
        ),
        // Build-time: turns migrations/*.sql into Swift string constants for LogStore.
        .executableTarget(name: "migrations-embedder", path: "Plugins/MigrationsEmbedderTool"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["migrations-embedder"]),

        .target(name: "TestSupport", dependencies: ["Keys", .product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport"),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"]),
        .testTarget(name: "KeysTests", dependencies: ["Keys", "TestSupport"]),
        .testTarget(name: "ChainTests", dependencies: ["Chain", "Keys", "Config", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "LogStore"]),
        .testTarget(name: "AdmissionTests", dependencies: ["Admission", "Keys", "Wire", "Config", "TestSupport"]),
        .testTarget(name: "StreamingTests", dependencies: ["Streaming"]),
        .testTarget(
            name: "BackendsTests",
            dependencies: [
                "Backends", "Config", "Streaming", "EventStream", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "LogStoreTests",
            dependencies: ["LogStore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "TestSupport"]),
        .testTarget(
            name: "FleetTests",
            dependencies: [
                "Fleet", "LogStore", "Config", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "Backends", "Wire", "Keys", "Config", "TestSupport"]),
        .testTarget(
            name: "SupervisorTests",
            dependencies: [
                "Supervisor", "Config", "LogStore", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "LogStore", "Config", "Admission", "Streaming", "Backends", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)
