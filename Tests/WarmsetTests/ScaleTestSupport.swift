import WarmsetModel
import Foundation
import Testing
import WarmsetGenerator
import WarmsetSketch

/// Helpers for the issue-6 tests: seeded Zipf streams, exact truth, the built binary.
enum ScaleSupport {
    /// The repository root.
    static var root: URL { TestSupport.repoRoot }

    /// A seeded Zipf stream of key ranks.
    static func zipfStream(requests: Int, keys: Int, exponent: Double, seed: UInt64) -> [Int32] {
        var random = SeededRandom(seed: seed)
        let sampler = ZipfSampler(count: keys, exponent: exponent)
        var out = [Int32]()
        out.reserveCapacity(requests)
        for _ in 0..<requests { out.append(Int32(sampler.sample(&random))) }
        return out
    }

    /// The key bytes of a rank, e.g. `k000123` (a random-looking permutation would not
    /// change anything: the hash is seeded).
    static func keyBytes(_ rank: Int32) -> [UInt8] { Array("k\(rank)".utf8) }

    /// Feeds `stream` to `counter`.
    static func feed(_ stream: some Sequence<Int32>, to counter: any KeyCounter) {
        for rank in stream {
            let key = keyBytes(rank)
            key.withUnsafeBytes { counter.add(key: $0, path: $0, bytes: 100) }
        }
    }

    /// The key bytes of every rank in one buffer, so feeding a stream allocates nothing and
    /// a timing measures the counter, not the key formatting.
    struct KeyBank {
        var bytes: [UInt8] = []
        var offsets: [Int] = [0]

        init(keys: Int) {
            for rank in 0..<keys {
                bytes.append(contentsOf: keyBytes(Int32(rank)))
                offsets.append(bytes.count)
            }
        }

        /// Feeds `stream` to `counter`.
        func feed(_ stream: [Int32], to counter: any KeyCounter) {
            bytes.withUnsafeBytes { all in
                for rank in stream {
                    let key = UnsafeRawBufferPointer(rebasing: all[offsets[Int(rank)]..<offsets[Int(rank) + 1]])
                    counter.add(key: key, path: key, bytes: 100)
                }
            }
        }
    }

    /// Exact counts per rank.
    static func truth(_ stream: some Sequence<Int32>, keys: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: keys)
        for rank in stream { counts[Int(rank)] += 1 }
        return counts
    }

    /// The rank of a key string.
    static func rank(of key: String) -> Int? { Int(key.dropFirst()) }

    /// Top-N precision and recall of `ranked` against exact `counts`, counting keys tied with
    /// the N-th exact count as correct.
    static func precisionRecall(_ ranked: [RankedKey], counts: [Int], top n: Int) -> (precision: Double, recall: Double) {
        let sorted = counts.sorted(by: >)
        let threshold = sorted[min(n, sorted.count) - 1]
        let chosen = ranked.prefix(n).compactMap { rank(of: $0.key) }
        let correct = chosen.filter { counts[$0] >= threshold }.count
        let mustFind = Set(counts.indices.filter { counts[$0] > threshold })
        let found = mustFind.intersection(chosen).count
        return (Double(correct) / Double(max(chosen.count, 1)), mustFind.isEmpty ? 1 : Double(found) / Double(mustFind.count))
    }

    /// The built `warmset` binary (`TestSupport.binary`), or nil when it is missing.
    static var binary: URL? {
        FileManager.default.isExecutableFile(atPath: TestSupport.binary) ? URL(fileURLWithPath: TestSupport.binary) : nil
    }

    struct Run {
        var status: Int32
        var stdout: Data
        var stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs the binary with `arguments`, feeding `stdin`.
    static func run(_ arguments: [String], stdin: Data? = nil, in directory: URL? = nil) throws -> Run {
        let binary = try #require(binary, "build warmset first (swift build)")
        return try runProgram(binary, arguments, stdin: stdin, in: directory)
    }

    /// Runs any program; one still running after `timeout` seconds is terminated (status 15).
    static func runProgram(
        _ program: URL, _ arguments: [String], stdin: Data? = nil, in directory: URL? = nil, timeout: Double = 300
    ) throws -> Run {
        let result = try TestSupport.runProgram(program.path, arguments, stdin: stdin, in: directory, timeout: timeout)
        return Run(status: result.status, stdout: result.stdout, stderr: String(decoding: result.stderr, as: UTF8.self))
    }

    /// A fresh temporary directory, removed when the test process exits.
    static func temporaryDirectory(_ name: String) throws -> URL { try TestSupport.temporaryDirectory(name) }
}

/// The number of positions where two equally long arrays differ (a readable failure, where
/// printing two whole tables would not be).
func differingCells<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
    a.count != b.count ? max(a.count, b.count) : zip(a, b).reduce(0) { $0 + ($1.0 == $1.1 ? 0 : 1) }
}
