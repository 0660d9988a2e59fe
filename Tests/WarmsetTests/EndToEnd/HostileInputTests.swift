import Foundation
import Testing

/// Input written by anyone who can send a request, and outputs that go away mid-run.
@Suite("Hostile input and failing outputs, end to end")
struct HostileInputTests {
    static func line(_ second: Int, _ target: String, status: String = "200", bytes: String = "10") -> String {
        "1.2.3.4 - - [27/Nov/2026:10:00:\(String(format: "%02d", second)) +0000] \"GET \(target) HTTP/1.1\" \(status) \(bytes) \"-\" \"ua\""
    }

    @Test("huge lines, NUL, invalid UTF-8, escapes, absurd numbers, time going backwards, CR LF, no final newline")
    func hostileLog() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("hostile.log").path
        var lines: [[UInt8]] = [
            Array(Self.line(1, "/a").utf8),
            Array(Self.line(2, "/" + String(repeating: "x", count: 1_500_000)).utf8),  // 1.5 MB
            Array(Self.line(3, "/nul").utf8).map { $0 == UInt8(ascii: "u") ? 0 : $0 },  // a NUL byte in the path
            Array(Self.line(4, "/inv").utf8) + [],
            Array(Self.line(5, "/" + String(repeating: "\\x41", count: 40)).utf8),
            Array(Self.line(6, "/a", status: "99999999999999999999").utf8),
            Array(Self.line(7, "/a", bytes: "999999999999999999999999999").utf8),
            Array(Self.line(1, "/a").utf8),  // time going backwards
            Array(Self.line(8, "/" + String(repeating: "k", count: 100_000)).utf8),  // a 100 KB key
            Array(Self.line(9, "/a\\x0A").utf8),
        ]
        // Invalid UTF-8 in the path of line 4.
        lines[3] = Array(Self.line(4, "/inv").utf8).flatMap { $0 == UInt8(ascii: "v") ? [0xFF, 0xFE] : [$0] }
        var bytes: [UInt8] = []
        for (i, l) in lines.enumerated() { bytes += l + (i < lines.count - 1 ? [0x0D, 0x0A] : []) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))

        let summary = dir.appendingPathComponent("s.json").path
        let result = try TestSupport.run([
            "analyze", path, "--output-format", "tsv", "--max-malformed", "100%", "--max-line-bytes", "262144", "--summary-json", summary,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(AnalyzeCommandTests.tsv(result.stdout) == ["/a": 2, "/" + String(repeating: "A", count: 40): 1, "/in%FF%FE": 1])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any]
        #expect(json?["linesRead"] as? Int == 10)
        #expect(json?["linesMalformed"] as? Int == 3)  // the 1.5 MB line, the absurd status, the absurd byte count
        let filtered = json?["filtered"] as? [String: Int]
        #expect(filtered?["forbidden_byte"] == 2)
        #expect(filtered?["key_too_long"] == 1)
        #expect(result.stderr.contains("hostile.log:2: longer than 262144 bytes"))
        #expect((json?["peakRSSBytes"] as? Int ?? 0) < 200 << 20, "memory stays bounded")
    }

    @Test("stdout closed early (| head) ends quietly")
    func stdoutClosedEarly() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "set -o pipefail; '\(TestSupport.binary)' generate --lines 50000 --keys 20000 | '\(TestSupport.binary)' analyze --top 20000 -q | head -1"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(stdout.hasPrefix("/products/100000\n"))
        #expect(stderr.isEmpty, "\(stderr)")
    }

    /// `-o /dev/null` once replaced /dev/null with a regular file (rename over a device node, as
    /// root). A FIFO stands in for the device here: it must stay a FIFO and get the manifest; a
    /// symbolic link must stay a link, its target replaced.
    @Test("-o to a FIFO writes into it, -o to a symlink replaces its target: neither is renamed over")
    func outputThatIsNotARegularFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        let log = dir.appendingPathComponent("a.log").path
        try (Self.line(1, "/a") + "\n" + Self.line(2, "/a") + "\n" + Self.line(3, "/b") + "\n").write(toFile: log, atomically: false, encoding: .utf8)

        let fifo = dir.appendingPathComponent("out.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let received = LockedBytes()
        let reader = Thread {
            if let handle = FileHandle(forReadingAtPath: fifo) { received.set(handle.readDataToEndOfFile()) }
        }
        reader.start()
        let toFifo = try TestSupport.run(["analyze", log, "-o", fifo, "-q"])
        #expect(toFifo.status == 0, "\(toFifo.stderr)")
        let deadline = Date().addingTimeInterval(10)
        while received.get() == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(received.get().map { String(decoding: $0, as: UTF8.self) } == "/a\n/b\n")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO, "the FIFO is still a FIFO")

        let real = dir.appendingPathComponent("real.keys").path
        let link = dir.appendingPathComponent("link.keys").path
        try "old\n".write(toFile: real, atomically: false, encoding: .utf8)
        #expect(symlink(real, link) == 0)
        let toLink = try TestSupport.run(["analyze", log, "-o", link, "-q"])
        #expect(toLink.status == 0, "\(toLink.stderr)")
        #expect(lstat(link, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK, "the link is still a link")
        #expect(try String(contentsOfFile: real, encoding: .utf8) == "/a\n/b\n")
    }

    final class LockedBytes: @unchecked Sendable {
        private let lock = NSLock()
        private var data: Data?
        func set(_ value: Data) { lock.withLock { data = value } }
        func get() -> Data? { lock.withLock { data } }
    }

    @Test("disk full while writing the manifest: exit 1, one sentence, the old manifest stays")
    func diskFull() throws {
        let dir = try TestSupport.temporaryDirectory()
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir.path]
        mount.standardError = Pipe()
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else {
            print("skipped: cannot mount a small tmpfs here (needs root)")
            return
        }
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [dir.path]
            try? umount.run()
            umount.waitUntilExit()
        }
        let manifest = dir.appendingPathComponent("warm.keys").path
        try "old\n".write(toFile: manifest, atomically: false, encoding: .utf8)
        let generated = try TestSupport.run(["generate", "--lines", "40000", "--keys", "30000", "--zipf", "0.5"])
        let result = try TestSupport.run(["analyze", "--top", "30000", "-o", manifest, "-q"], stdin: Data(generated.stdout.utf8))
        #expect(result.status == 1)
        #expect(result.stderr.contains("warm.keys: writing failed: No space left on device"))
        #expect(try String(contentsOfFile: manifest, encoding: .utf8) == "old\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["warm.keys"], "the temporary file is removed")
    }
}
