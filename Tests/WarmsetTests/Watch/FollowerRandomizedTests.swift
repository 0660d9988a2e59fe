import Foundation
import Testing
import WarmsetAnalysis
import WarmsetFollow
import WarmsetWatch

/// Randomized runs of the follower against the obvious oracle (every line written, once), and
/// a checkpoint mid-stream against one uninterrupted run.
@Suite("Log follower, randomized")
struct FollowerRandomizedTests {
    /// Writes random pieces (often splitting lines), rotates at random (rename, copy-and-truncate,
    /// remove and recreate), polls at random; then every line must have arrived exactly once.
    @Test(arguments: Array(71...82) as [UInt64])
    func everyLineOnceWhateverHappens(seed: UInt64) throws {
        print("seed \(seed)")
        var random = SeededRandomForTests(seed: seed)
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("access.log").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        var handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var follower = try LogFollower(paths: [path], maxLineBytes: 4096, retireAfterIdlePolls: 2)
        var got: [String] = []
        var rest = ""  // the part of the current line not written yet, with its newline
        var next = 0
        var rotated = 0
        var log: [String] = []
        func poll() throws {
            try follower.poll { got.append(String(decoding: $0, as: UTF8.self)) }
            log += follower.takeEvents()
        }
        func finishLine() throws {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(rest.utf8))
            rest = ""
        }
        // A file that exists only between two polls is never seen (as with tail -F), so the
        // rotations here are at least one poll apart, as real ones are hours apart.
        var polledSinceRotation = true
        for _ in 0..<600 {
            var event = random.below(20)
            if event < 2 && !polledSinceRotation { event = 3 }
            if event < 2 { polledSinceRotation = false }
            if (3...8).contains(event) { polledSinceRotation = true }
            switch event {
            case 0:
                log.append("step: rename after line \(next)")
                // logrotate's rename; the writer finishes its line in the old file, then reopens.
                rotated += 1
                try FileManager.default.moveItem(atPath: path, toPath: path + ".\(rotated)")
                try finishLine()
                try handle.close()
                #expect(FileManager.default.createFile(atPath: path, contents: nil))
                handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            case 1:
                log.append("step: copytruncate after line \(next)")
                // copytruncate: lines not yet read when the copy is taken are the copy's alone,
                // so (as logrotate users know) the follower must have read up to here.
                try finishLine()
                try poll()
                try handle.truncate(atOffset: 0)
            case 2:
                log.append("step: restart after line \(next) at \(follower.positions.map { "\($0.offset)\($0.retired ? "r" : "")" })")
                // A checkpoint and a restart from it.
                let saved = follower.positions
                follower = try LogFollower(paths: [path], resumingFrom: saved, maxLineBytes: 4096, retireAfterIdlePolls: 2)
            case 3...8:
                try poll()
            default:
                // A piece of a line: often not up to its newline.
                if rest.isEmpty {
                    rest = "line \(next) " + String(repeating: "x", count: random.below(120)) + "\n"
                    next += 1
                }
                let cut = 1 + random.below(rest.count)
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(rest.prefix(cut).utf8))
                rest = String(rest.dropFirst(cut))
            }
        }
        try finishLine()
        for _ in 0..<4 { try poll() }
        let numbers = got.compactMap { line -> Int? in
            let parts = line.split(separator: " ")
            return parts.count >= 2 && parts[0] == "line" ? Int(parts[1]) : nil
        }
        #expect(numbers.count == got.count, "seed \(seed): lines not written: \(got.filter { !$0.hasPrefix("line ") }.prefix(3))")
        #expect(numbers.sorted() == Array(0..<next), "seed \(seed): \(numbers.count) lines for \(next) written; \(log.joined(separator: "\n"))")
    }

    /// Counting with a checkpoint (state saved, process gone, state loaded) gives the same sketch
    /// as counting in one go.
    @Test func checkpointMidStreamEqualsOneRun() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("access.log").path
        var random = SeededRandomForTests(seed: 81)
        func lines(_ n: Int) -> String {
            (0..<n).map { _ in
                "10.0.0.1 - - [28/Nov/2026:01:00:00 +0000] \"GET /p/\(random.below(40)) HTTP/1.1\" 200 10 \"-\" \"t\"\n"
            }.joined()
        }
        let firstPart = lines(700)
        let secondPart = lines(500)
        var configuration = AnalysisConfiguration()
        configuration.sketch = .init(depth: 4, widthLog2: 10, seed: 3)
        configuration.top = 10

        try Data((firstPart + secondPart).utf8).write(to: URL(fileURLWithPath: path))
        let whole = try LiveAnalysis(configuration)
        try LogFollower(paths: [path]).poll { whole.count($0) }

        try Data(firstPart.utf8).write(to: URL(fileURLWithPath: path))
        let statePath = dir.appendingPathComponent("state").path
        do {
            let analysis = try LiveAnalysis(configuration)
            let follower = try LogFollower(paths: [path])
            try follower.poll { analysis.count($0) }
            let sketch = try #require(analysis.snapshot())
            try WatchState(positions: follower.positions, linesRead: analysis.linesRead, cycles: 1, sketch: sketch).save(to: statePath)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(secondPart.utf8))
        try handle.close()
        let state = try #require(try WatchState.load(statePath))
        #expect(state.linesRead == 700)
        let resumed = try LiveAnalysis(configuration, checkpoint: (statePath, state.sketch))
        let read = try LogFollower(paths: [path], resumingFrom: state.positions).poll { resumed.count($0) }
        #expect(read == 500)
        let a = try #require(resumed.snapshot()), b = try #require(whole.snapshot())
        #expect(a.cells == b.cells && a.requests == b.requests && a.requests == 1200)
        #expect(resumed.ranked().map(\.key) == whole.ranked().map(\.key))
    }

    @Test func aDamagedStateFileIsAClearError() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("state").path
        try Data("not a state\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: WatchError.self) { try WatchState.load(path) }
        #expect(try WatchState.load(dir.appendingPathComponent("absent").path) == nil)
    }
}
