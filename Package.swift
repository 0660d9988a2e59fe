// swift-tools-version:6.1
import PackageDescription

// The targets follow the data flow: input → format (parse) → keys (filter, rule)
// → sketch (count, rank) → emit. WarmsetAnalysis wires the stages together;
// the `warmset` executable is a thin command line over it.
// The per-line modules skip run-time exclusivity checks in release builds: each access to a
// stored `var` of a class (a scratch buffer, the key table) otherwise costs a runtime call,
// several per line. Debug builds and the tests keep the checks.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "warmset",
    products: [
        .executable(name: "warmset", targets: ["warmset"]),
        .library(name: "WarmsetAnalysis", targets: ["WarmsetAnalysis"]),
        .library(name: "WarmsetRedis", targets: ["WarmsetRedis"]),
        .library(name: "WarmsetMemcached", targets: ["WarmsetMemcached"]),
        .library(name: "WarmsetHTTP", targets: ["WarmsetHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.36.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries, each behind one system-library target and imported by one Swift module.
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CISAL", pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]),
        .systemLibrary(
            name: "CPCRE2", pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(
            name: "CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),
        // libmemcached and libhashkit (libmemcached-dev's headers), loaded with dlopen at first use,
        // not linked: most runs never reach memcached
        .target(name: "CMemcached"),
        // cache prefetch hints (a header of compiler builtins, no library)
        .systemLibrary(name: "CPrefetch"),
        // a 16-bytes-at-a-time byte search for the log parser (SSE2 intrinsics, no library)
        .systemLibrary(name: "CByteScan"),
        // the newlines of 64-byte blocks, with AVX2 where the CPU has it (chosen at run time) and SSE2
        // otherwise, for the line framer
        .target(name: "CLineScan"),

        // system: the one wrapper of the C library's file calls (errno becomes a Swift error here), and
        // zeroed memory mapped for large tables
        .target(name: "WarmsetSystem"),
        // input: files, stdin, gzip → lines
        .target(name: "WarmsetInput", dependencies: ["CByteScan", "CLineScan", "CZlib", "CISAL", "WarmsetSystem"], swiftSettings: hotPath),
        // parse: nginx log_format compiled to a byte-level parser; JSON lines
        .target(name: "WarmsetFormat", dependencies: ["CByteScan"], swiftSettings: hotPath),
        // filter and key: request filters, URL normalization, key rules
        .target(name: "WarmsetKeys", dependencies: ["CByteScan", "CPCRE2", "CPrefetch", "WarmsetFormat", "WarmsetSystem"], swiftSettings: hotPath),
        // the model: a ranked key, a warm entry, the key hash (pure Swift, no dependency), shared by
        // the sketch and the warmers so that the warmers need not link the sketch
        .target(name: "WarmsetModel", swiftSettings: hotPath),
        // count and rank: hash, count-min sketch, candidates, exact counts
        .target(
            name: "WarmsetSketch",
            dependencies: ["CByteScan", "CPrefetch", "WarmsetModel", "WarmsetSystem", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: hotPath),
        // emit: manifest writers
        .target(name: "WarmsetEmit", dependencies: ["WarmsetModel", "WarmsetSystem"], swiftSettings: hotPath),
        // the pipeline: configuration, the analyzer, the summary
        .target(
            name: "WarmsetAnalysis",
            dependencies: [
                "WarmsetInput", "WarmsetFormat", "WarmsetKeys", "WarmsetModel", "WarmsetSketch", "WarmsetEmit",
                .product(name: "Yams", package: "Yams"), .product(name: "HeapModule", package: "swift-collections"),
            ], swiftSettings: hotPath),
        // warm: the warm plan, value sources (HTTP origin), rate limiting, outcome accounting
        // and the report, shared by every cache warmer
        .target(
            name: "WarmsetWarm",
            dependencies: [
                "WarmsetEmit", "WarmsetModel", "WarmsetSystem", "CPrefetch",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            // the HTTP client's per-request state is in class properties (HTTPConnection)
            swiftSettings: hotPath),
        // warm Redis (standalone and Cluster) through hiredis; rediss:// through an in-process TLS
        // relay on swift-nio-ssl (the HTTP fetcher's https too), since hiredis 0.14 has no TLS
        .target(
            name: "WarmsetRedis",
            dependencies: [
                "CHiredis", "WarmsetModel", "WarmsetWarm",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: hotPath),
        // warm memcached pools through libmemcached (ketama or modula, as the application's client)
        .target(name: "WarmsetMemcached", dependencies: ["CMemcached", "WarmsetModel", "WarmsetWarm"]),
        // warm HTTP caches: request each key's path so that whatever caches behind the URL fills
        .target(
            name: "WarmsetHTTP",
            dependencies: [
                "WarmsetModel", "WarmsetWarm",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]),
        // follow: growing logs followed like `tail -F` (rotation, truncation), with positions
        .target(name: "WarmsetFollow", dependencies: ["WarmsetInput", "WarmsetSystem"]),
        // watch: follow → count → every interval rank, warm and checkpoint; signals, metrics
        .target(
            name: "WarmsetWatch",
            dependencies: [
                "WarmsetFollow", "WarmsetAnalysis", "WarmsetModel", "WarmsetSketch", "WarmsetWarm", "WarmsetEmit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // deterministic traffic for demos, tests and benchmarks
        .target(name: "WarmsetGenerator"),
        .executableTarget(
            name: "warmset",
            dependencies: [
                "WarmsetAnalysis", "WarmsetGenerator", "WarmsetModel", "WarmsetWarm", "WarmsetRedis",
                "WarmsetMemcached", "WarmsetHTTP", "WarmsetWatch", "WarmsetSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // libFuzzer targets (`make fuzz`); built normally it replays inputs.
        .executableTarget(
            name: "warmset-fuzz",
            dependencies: ["WarmsetInput", "WarmsetFormat", "WarmsetKeys", "WarmsetSketch"]),
        // `make microbench`: the per-line stages one at a time, on lines held in memory.
        .executableTarget(
            name: "warmset-micro",
            dependencies: ["WarmsetFormat", "WarmsetKeys", "WarmsetModel", "WarmsetSketch", "WarmsetGenerator"]),
        .testTarget(
            name: "WarmsetTests",
            dependencies: [
                "WarmsetInput", "WarmsetFormat", "WarmsetKeys", "WarmsetModel", "WarmsetSketch", "WarmsetEmit",
                "WarmsetAnalysis", "WarmsetGenerator", "WarmsetSystem", "CLineScan",
                // Tests/WarmsetTests/Redis: the warmers against real servers
                "WarmsetWarm", "WarmsetRedis", "WarmsetMemcached", "WarmsetHTTP", "WarmsetWatch",
                .product(name: "Logging", package: "swift-log"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
