import Foundation
import WarmsetInput

/// Paths and processes shared by the tests.
enum TestSupport {
    /// The repository root (two folders above Tests/WarmsetTests).
    static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    static func fixture(_ name: String) -> String { repoRoot.appendingPathComponent("fixtures/\(name)").path }

    static func fixtureBytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: fixture(name))))
    }

    /// `../shared/real-logs/hackers_combined.log.gz`, or nil where `../shared` is absent.
    static var realLog: String? {
        let path = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/real-logs/hackers_combined.log.gz").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The `warmset` binary every end-to-end test starts, decided here only: `WARMSET_BIN` when
    /// set (`make tsan` points it at the ThreadSanitizer build), else the one built beside the
    /// test runner (the same build as the tests), else `.build/debug` or `.build/release`.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["WARMSET_BIN"], !path.isEmpty { return path }
        // On Linux the runner is an executable in the build's bin folder; on macOS a bundle in it.
        let runner = [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle.main.bundleURL.deletingLastPathComponent()]
        let debug = repoRoot.appendingPathComponent(".build/debug/warmset").path
        let candidates = runner.compactMap { $0?.appendingPathComponent("warmset").path }
            + [debug, repoRoot.appendingPathComponent(".build/release/warmset").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? debug
    }()

    /// Whether the tests run under ThreadSanitizer (its runtime is linked into this process, and
    /// `make tsan` gives the `warmset` they start the same): a time or memory bound set for a debug
    /// build must then allow several times as much.
    static let isThreadSanitized = dlsym(nil, "__tsan_init") != nil

    /// How many times a wall-clock bound set for a debug build must stretch: ThreadSanitizer
    /// runs the code several times slower.
    static let slowdown: Double = isThreadSanitized ? 3 : 1

    struct RunResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `warmset` with `arguments`, feeding `stdin`, and collects its output.
    static func run(_ arguments: [String], stdin: Data? = nil, in directory: URL? = nil) throws -> RunResult {
        let result = try runProgram(binary, arguments, stdin: stdin, in: directory ?? repoRoot)
        return RunResult(
            status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self),
            stderr: String(decoding: result.stderr, as: UTF8.self))
    }

    /// Runs `command` with /bin/sh; its exit status.
    @discardableResult
    static func shell(_ command: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Gzips `path` with the gzip tool into `path.gz`, then keeps only the first `fraction` of
    /// the compressed bytes: a stream cut short, as a copy interrupted midway leaves it.
    /// - Returns: the cut file's path.
    static func truncatedGzip(of path: String, keeping fraction: Double) throws -> String {
        let full = try shell("gzip -c '\(path)' > '\(path).full.gz'")
        let size = try FileManager.default.attributesOfItem(atPath: path + ".full.gz")[.size] as? Int ?? 0
        let cut = try shell("head -c \(Int(Double(size) * fraction)) '\(path).full.gz' > '\(path).gz'")
        guard full == 0 && cut == 0 && size > 0 else { throw CocoaError(.fileWriteUnknown) }
        return path + ".gz"
    }

    /// A file `name` in a fresh temporary directory holding `count` lines, `line(i)` each with
    /// a newline: its path and its bytes.
    static func generatedFile(_ name: String, lines count: Int, _ line: (Int) -> String) throws -> (path: String, bytes: [UInt8]) {
        let path = try temporaryDirectory().appendingPathComponent(name).path
        var bytes: [UInt8] = []
        for i in 0..<count { bytes += Array((line(i) + "\n").utf8) }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw CocoaError(.fileWriteUnknown) }
        return (path, bytes)
    }

    /// A fresh directory under the system's temporary directory, named `warmset-NAME-…`, removed
    /// with everything in it when the test process exits (every test's scratch space comes from
    /// here, so a test run leaves nothing behind in /tmp).
    static func temporaryDirectory(_ name: String = "test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("warmset-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        scratch.update { list in
            if list.isEmpty { atexit { TestSupport.scratch.value.forEach { try? FileManager.default.removeItem(at: $0) } } }
            list.append(url)
        }
        return url
    }

    /// The directories `temporaryDirectory` made, removed at exit.
    private static let scratch = Mutexed<[URL]>([])
}

/// A `ByteSource` over bytes in memory that hands out at most `chunk` bytes per read.
final class MemorySource: ByteSource {
    let bytes: [UInt8]
    let chunk: Int
    var offset = 0

    init(_ bytes: [UInt8], chunk: Int = 1 << 20) {
        self.bytes = bytes
        self.chunk = chunk
    }

    var path: String { "memory" }
    var compressedBytesConsumed: Int64 { Int64(offset) }
    var compressedSize: Int64? { Int64(bytes.count) }
    var isGzip: Bool { false }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = min(buffer.count, chunk, bytes.count - offset)
        if n <= 0 { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + n)]))
        }
        offset += n
        return n
    }
}

/// Reads every line of `source` into strings (test convenience).
func collectLines(_ reader: LineReader, _ source: any ByteSource) throws -> (lines: [[UInt8]], overlong: [Int]) {
    var lines: [[UInt8]] = []
    var overlong: [Int] = []
    try reader.forEachLine(of: source, onOverlong: { number, _ in overlong.append(number) }) { line, _ in
        lines.append(Array(line))
    }
    return (lines, overlong)
}

/// The reference line splitter: split on LF, drop one trailing CR, no empty last line.
func referenceLines(_ bytes: [UInt8]) -> [[UInt8]] {
    var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
    if bytes.last == 0x0A || bytes.isEmpty { lines.removeLast() }
    return lines.map { $0.last == 0x0D ? Array($0.dropLast()) : $0 }
}
