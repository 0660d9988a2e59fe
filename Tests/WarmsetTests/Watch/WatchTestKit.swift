import Foundation
import Testing
import WarmsetRedis
import WarmsetWatch

/// A running `warmset watch`: the built binary in the background, its stderr in a file that the
/// test reads while it runs, and signals sent to it.
final class WatchProcess {
    let process: Process
    let stderrPath: String

    init(_ arguments: [String], in directory: URL) throws {
        try #require(FileManager.default.isExecutableFile(atPath: WarmTestKit.binary), "run `swift build` first")
        stderrPath = directory.appendingPathComponent("watch-\(UUID().uuidString).err").path
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: WarmTestKit.binary)
        process.arguments = ["watch"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Everything written to stderr so far.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends `signal`.
    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end; nil when it did not within `timeout` (it is then killed).
    func waitForExit(timeout: Double = 15) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

enum WatchTestKit {
    /// Waits until `condition` holds, checking every 50 ms; false after `timeout` seconds.
    static func eventually(timeout: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    /// Combined-format lines requesting `/p/N`, `count` times each.
    static func lines(_ counts: [Int: Int]) -> String {
        var out = ""
        for (n, count) in counts.sorted(by: { $0.key < $1.key }) {
            for _ in 0..<count {
                out += "127.0.0.1 - - [28/Nov/2026:01:00:00 +0000] \"GET /p/\(n) HTTP/1.1\" 200 10 \"-\" \"test\"\n"
            }
        }
        return out
    }

    /// Appends to a file.
    static func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// The watch options every test uses: keys `p:N`, values from the origin, a small sketch.
    static func arguments(log: String, redis: WarmRedisServer, origin: WarmOrigin, top: Int, ttl: Int = 60) -> [String] {
        [
            log, "--rule", "^/p/(\\d+)$ => p:$1", "--top", String(top), "--sketch-memory", "64KiB",
            "--warm-redis", redis.urlString(), "--origin", origin.base + "/fast/{key}", "--ttl", String(ttl),
        ]
    }

    /// GET a URL's body through python3 (Foundation on Linux has no http: in Data(contentsOf:)).
    static func httpGet(_ url: String) throws -> String? {
        let fetch = try WarmTestKit.run(
            "/usr/bin/env", ["python3", "-c", "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())", url])
        return fetch.status == 0 ? fetch.stdout : nil
    }

    /// A metric's value from exposition text.
    static func metric(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    /// The keys present in Redis among `keys`, with their TTLs in seconds.
    static func ttls(_ redis: WarmRedisServer, _ keys: [String]) throws -> [String: Int64] {
        let replies = try redis.commands(keys.map { ["TTL", $0] })
        var out: [String: Int64] = [:]
        for (key, reply) in zip(keys, replies) { if let ttl = reply.intValue, ttl >= -1 { out[key] = ttl } }
        return out
    }
}
