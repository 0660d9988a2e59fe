import Foundation
import Testing
import WarmsetFollow

/// The follower's rotation cases, at the library level: every line written is delivered exactly
/// once, whatever happens to the file between polls.
@Suite("Log follower")
struct LogFollowerTests {
    /// A log file a test writes to, as a web server would.
    final class Writer {
        let path: String
        private var handle: FileHandle
        private var next = 0

        init(_ path: String) throws {
            self.path = path
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }

        /// Appends `count` numbered lines (`line N`).
        func append(_ count: Int) throws {
            var text = ""
            for _ in 0..<count {
                text += "line \(next)\n"
                next += 1
            }
            try write(text)
        }

        func write(_ text: String) throws {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        }

        /// Reopens the path (after a rename or removal: the new file at the path).
        func reopen() throws {
            try handle.close()
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }

        var written: Int { next }
    }

    func collect(_ follower: LogFollower, into lines: inout [String]) throws {
        var got: [String] = []
        try follower.poll { got.append(String(decoding: $0, as: UTF8.self)) }
        lines += got
    }

    func expectAllOnce(_ lines: [String], _ count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(lines.count == count, "delivered \(lines.count) of \(count)", sourceLocation: sourceLocation)
        #expect(lines.sorted() == (0..<count).map { "line \($0)" }.sorted(), sourceLocation: sourceLocation)
    }

    @Test func appendsArriveOnceAndPartialLinesWait() throws {
        let dir = try TestSupport.temporaryDirectory()
        let writer = try Writer(dir.appendingPathComponent("access.log").path)
        let follower = try LogFollower(paths: [writer.path])
        var lines: [String] = []
        try writer.append(3)
        try writer.write("partial")
        try collect(follower, into: &lines)
        #expect(lines == ["line 0", "line 1", "line 2"])
        #expect(follower.positions.first?.offset == Int64("line 0\nline 1\nline 2\n".utf8.count))
        try writer.write(" end\r\n")
        try collect(follower, into: &lines)
        #expect(lines.last == "partial end")
        try collect(follower, into: &lines)
        #expect(lines.count == 4)
    }

    @Test func renameRotationReadsTheOldFileToItsEnd() throws {
        let dir = try TestSupport.temporaryDirectory()
        let writer = try Writer(dir.appendingPathComponent("access.log").path)
        let follower = try LogFollower(paths: [writer.path], retireAfterIdlePolls: 2)
        var lines: [String] = []
        try writer.append(10)
        try collect(follower, into: &lines)
        // logrotate renames; the server writes a little more into the old file before reopening.
        try FileManager.default.moveItem(atPath: writer.path, toPath: writer.path + ".1")
        try writer.append(5)
        try writer.write("last line of the old file without newline")
        try writer.reopen()
        try writer.append(7)
        for _ in 0..<4 { try collect(follower, into: &lines) }
        #expect(follower.rotations == 1)
        #expect(lines.contains("last line of the old file without newline"))
        lines.removeAll { $0 == "last line of the old file without newline" }
        expectAllOnce(lines, writer.written)
        #expect(follower.positions.count == 1)  // the old file was closed once idle
    }

    @Test func copyTruncateRestartsAtZero() throws {
        let dir = try TestSupport.temporaryDirectory()
        let writer = try Writer(dir.appendingPathComponent("access.log").path)
        let follower = try LogFollower(paths: [writer.path])
        var lines: [String] = []
        try writer.append(20)
        try collect(follower, into: &lines)
        // copytruncate: copy away, truncate in place; the writer goes on at the new end.
        try FileManager.default.copyItem(atPath: writer.path, toPath: writer.path + ".1")
        try FileHandle(forWritingTo: URL(fileURLWithPath: writer.path)).truncate(atOffset: 0)
        try writer.append(4)
        try collect(follower, into: &lines)
        #expect(follower.truncations == 1)
        expectAllOnce(lines, writer.written)
    }

    @Test func truncatedAndRefilledPastTheOffsetBetweenPolls() throws {
        let dir = try TestSupport.temporaryDirectory()
        let writer = try Writer(dir.appendingPathComponent("access.log").path)
        let follower = try LogFollower(paths: [writer.path])
        var lines: [String] = []
        try writer.append(3)
        try collect(follower, into: &lines)
        try FileHandle(forWritingTo: URL(fileURLWithPath: writer.path)).truncate(atOffset: 0)
        try writer.write("#\n")  // so that the old offset falls inside a line
        try writer.append(12)  // longer than before: the size alone does not tell
        try collect(follower, into: &lines)
        #expect(follower.truncations == 1)
        #expect(lines.filter { $0 == "#" }.count == 1)
        expectAllOnce(lines.filter { $0 != "#" }, writer.written)
    }

    @Test func removedAndCreatedAgain() throws {
        let dir = try TestSupport.temporaryDirectory()
        let writer = try Writer(dir.appendingPathComponent("access.log").path)
        let follower = try LogFollower(paths: [writer.path], retireAfterIdlePolls: 1)
        var lines: [String] = []
        try writer.append(6)
        try collect(follower, into: &lines)
        try FileManager.default.removeItem(atPath: writer.path)
        try writer.append(2)  // into the removed file, still open
        try collect(follower, into: &lines)
        #expect(lines.count == 8)
        try writer.reopen()  // a new file at the path
        try writer.append(3)
        for _ in 0..<3 { try collect(follower, into: &lines) }
        expectAllOnce(lines, writer.written)
    }

    @Test func aMissingFileIsWaitedFor() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("later.log").path
        let follower = try LogFollower(paths: [path])
        var lines: [String] = []
        try collect(follower, into: &lines)
        #expect(lines.isEmpty && follower.positions.isEmpty)
        let writer = try Writer(path)
        try writer.append(2)
        try collect(follower, into: &lines)
        expectAllOnce(lines, 2)
    }

    @Test func gzipIsRefused() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("access.log.2.gz").path
        _ = FileManager.default.createFile(atPath: path, contents: Data([0x1f, 0x8b, 8, 0]))
        #expect(throws: FollowError.self) { try LogFollower(paths: [path]).poll { _ in } }
    }

    @Test func resumingFromPositionsNeitherLosesNorRepeats() throws {
        let dir = try TestSupport.temporaryDirectory()
        let writer = try Writer(dir.appendingPathComponent("access.log").path)
        var lines: [String] = []
        var saved: [FollowPosition] = []
        do {
            let follower = try LogFollower(paths: [writer.path])
            try writer.append(10)
            try writer.write("half a li")
            try collect(follower, into: &lines)
            saved = follower.positions
        }
        // Stopped; meanwhile the line is finished, more is written, and the log is rotated.
        try writer.write("ne\n")
        try writer.append(3)
        try FileManager.default.moveItem(atPath: writer.path, toPath: writer.path + ".1")
        try writer.reopen()
        try writer.append(4)
        let follower = try LogFollower(paths: [writer.path], resumingFrom: saved, retireAfterIdlePolls: 1)
        #expect(follower.takeEvents().contains { $0.contains("rotated while stopped") })
        for _ in 0..<3 { try collect(follower, into: &lines) }
        #expect(lines.contains("half a line"))
        lines.removeAll { $0 == "half a line" }
        expectAllOnce(lines, writer.written)
    }

    @Test(arguments: [1, 7, 64])
    func overlongLinesAreSkippedAtAnyLimit(limit: Int) throws {
        let dir = try TestSupport.temporaryDirectory()
        let writer = try Writer(dir.appendingPathComponent("access.log").path)
        let follower = try LogFollower(paths: [writer.path], maxLineBytes: limit)
        var lines: [String] = []
        try writer.write("x\n" + String(repeating: "y", count: limit + 1) + "\nz\n")
        try collect(follower, into: &lines)
        #expect(lines == ["x", "z"])
        #expect(follower.overlongLines == 1)
    }
}
