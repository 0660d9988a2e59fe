import Foundation
import WarmsetEmit
import WarmsetFollow
import WarmsetSketch

/// What `--state FILE` keeps between runs: the sketch and where each log was read to, taken
/// at the same moment between two polls, so the one matches the other exactly.
///
/// File layout: the line `warmset-watch-state 1`, one line of JSON (positions and totals),
/// then a sketch file (docs/sketch-format.md) to the end. Written atomically (a temporary
/// file beside it, flushed, renamed over it).
public struct WatchState: Sendable, Equatable {
    /// The first line of a state file.
    static let magicLine = "warmset-watch-state 1"

    /// The JSON part.
    struct Header: Codable, Equatable {
        var positions: [FollowPosition]
        var linesRead: Int
        var cycles: Int
    }

    /// Where each log was read to.
    public var positions: [FollowPosition]
    /// Lines read over every run so far.
    public var linesRead: Int
    /// Cycles run over every run so far.
    public var cycles: Int
    /// The counter's state.
    public var sketch: SketchSnapshot

    /// Creates a state.
    public init(positions: [FollowPosition], linesRead: Int, cycles: Int, sketch: SketchSnapshot) {
        self.positions = positions
        self.linesRead = linesRead
        self.cycles = cycles
        self.sketch = sketch
    }

    /// The file's bytes.
    /// - Throws: `WatchError` when the header cannot be encoded (never for a state made here).
    public func encoded(path: String) throws(WatchError) -> [UInt8] {
        let header: Data
        do {
            header = try JSONEncoder().encode(Header(positions: positions, linesRead: linesRead, cycles: cycles))
        } catch {
            throw WatchError(path: path, "cannot encode the state (\(error))")
        }
        return Array((Self.magicLine + "\n").utf8) + Array(header) + [0x0A] + SketchFile.encode(sketch)
    }

    /// Parses a state file's bytes.
    /// - Throws: `WatchError` when it is not a state file or is damaged.
    public static func decode(_ bytes: [UInt8], path: String) throws(WatchError) -> WatchState {
        let magic = Array((magicLine + "\n").utf8)
        guard bytes.starts(with: magic) else {
            throw WatchError(path: path, "is not a warmset watch state file; give --state a new file name, or the file an earlier watch wrote")
        }
        guard let end = bytes[magic.count...].firstIndex(of: 0x0A) else {
            throw WatchError(path: path, "the state file is truncated in its header; delete it to start over")
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[magic.count..<end]))
        } catch {
            throw WatchError(path: path, "the state file's header is damaged (\(error)); delete it to start over")
        }
        let sketch: SketchSnapshot
        do {
            sketch = try SketchFile.decode(Array(bytes[(end + 1)...]), path: path)
        } catch {
            throw WatchError(path: path, "the state file's sketch is damaged (\(error)); delete it to start over")
        }
        return WatchState(positions: header.positions, linesRead: header.linesRead, cycles: header.cycles, sketch: sketch)
    }

    /// Reads `path`; nil when there is no such file yet.
    /// - Throws: `WatchError` when it exists but cannot be read or parsed.
    public static func load(_ path: String) throws(WatchError) -> WatchState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WatchError(path: path, "cannot read the state file; check its permissions")
        }
        return try decode(Array(data), path: path)
    }

    /// Writes the state to `path` atomically.
    /// - Throws: `WatchError` naming the step that failed.
    public func save(to path: String) throws(WatchError) {
        let bytes = try encoded(path: path)
        do {
            try OutputFile.write(bytes, to: path)
        } catch {
            throw WatchError(path: path, "cannot write the state: \(error.description)")
        }
    }
}
