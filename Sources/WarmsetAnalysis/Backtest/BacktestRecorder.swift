import WarmsetFormat
import WarmsetSketch

/// What the backtest's one pass needs of its recorder, exact or sketch.
protocol BacktestSink: KeyedRequestSink {
    /// Requests counted with a readable time, and those without.
    var count: Int { get }
    var untimed: Int { get }
    /// The oldest and newest log time counted.
    var oldest: Int64 { get }
    var newest: Int64 { get }
}

/// The backtest's one pass: every counted request kept as its key's number and its log time.
///
/// Fed by the line steps every analysis uses (`LineSteps`, as `KeyedRequestSink`), so the
/// format, filters, rules and keys are exactly analyze's. Requests are placed before or after a
/// deploy time by their log time, never by their position, so logs a few seconds out of order
/// across files are measured as if sorted. Exact mode: 12 bytes a request plus the distinct
/// keys. Sketch mode keeps one of these per deploy time for its window only
/// (`BacktestSketchRecorder`).
///
/// On parallel parse lanes each lane records into its own (its own key numbers), marking where
/// each chunk's requests begin; `merged(_:)` then makes the recorder one lane reading every
/// chunk in order would have made: the same requests in the same order (`forEachRequest`)
/// under the same keys. The lanes' arrays are kept, renumbered in place, not copied.
final class BacktestRecorder: BacktestSink {
    /// The distinct keys, numbered in order of first sight (merged: lane 0's first).
    let keys: KeyInterner
    /// Each timed request's log time (epoch seconds), in reading order (while recording).
    private var times: [Int64] = []
    /// Each timed request's key number, parallel to `times`.
    private var ids: [UInt32] = []
    /// A merged recorder's requests: the lanes' arrays, and their pieces in input order.
    private var parts: [(times: [Int64], ids: [UInt32])] = []
    private var pieces: [(lane: Int, range: Range<Int>)] = []
    /// The last line's time, parsed once per second of log.
    private var clock = LogTimeMemo()
    /// Where each chunk's requests begin, on a parallel lane (empty on a serial run).
    private var marks: [LaneSegments.Mark] = []
    /// Requests recorded.
    private(set) var count = 0
    /// Requests whose time could not be read (not placed, not measured).
    private(set) var untimed = 0
    /// The oldest and newest log time recorded.
    private(set) var oldest = Int64.max
    private(set) var newest = Int64.min

    /// An empty recorder, numbering keys in `keys`.
    init(keys: KeyInterner = KeyInterner()) {
        self.keys = keys
    }

    /// Records one counted request.
    /// - Complexity: O(key length) expected; allocates only for a new key or when the arrays grow.
    func add(_ fields: RequestFields, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        guard let time = clock.epochSeconds(fields) else {
            untimed += 1
            return
        }
        record(time: time, key: key, path: path)
    }

    /// Records one request logged at `time` (epoch seconds).
    /// - Complexity: O(key length) expected; allocates only for a new key or when the arrays grow.
    @inline(__always)
    func record(time: Int64, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        precondition(parts.isEmpty, "a merged recorder records nothing more")
        let id = keys.id(of: key, path: path)
        times.append(time)
        ids.append(UInt32(truncatingIfNeeded: id))
        count += 1
        if time < oldest { oldest = time }
        if time > newest { newest = time }
    }

    func beginChunk(order: Int) { marks.append((order: order, first: times.count)) }

    /// Calls `body` with each recorded request's log time and key number, in reading order.
    /// - Complexity: O(r) for r requests.
    @inline(__always)
    func forEachRequest(_ body: (_ time: Int64, _ id: Int) -> Void) {
        guard !parts.isEmpty else { return Self.visit(times, ids, 0..<times.count, body) }
        for piece in pieces { Self.visit(parts[piece.lane].times, parts[piece.lane].ids, piece.range, body) }
    }

    @inline(__always)
    private static func visit(_ times: [Int64], _ ids: [UInt32], _ range: Range<Int>, _ body: (Int64, Int) -> Void) {
        times.withUnsafeBufferPointer { times in
            ids.withUnsafeBufferPointer { ids in
                for i in range { body(times[i], Int(ids[i])) }
            }
        }
    }

    /// The recorder of one lane reading all of `lanes`' chunks in input order: their requests
    /// in that order under the same keys. Keys are numbered as in lane 0, then each other lane's
    /// new keys in order of first sight (so a key's number differs from a one-lane run's, never
    /// a figure: every ranking breaks ties by key bytes); no key is hashed again. The lanes'
    /// arrays move into it, the other lanes' key numbers rewritten in place; the lanes are left
    /// empty.
    /// - Complexity: O(r + k·key length + m log m) for r requests, k keys of lanes 1… and m chunks.
    static func merged(_ lanes: [BacktestRecorder]) -> BacktestRecorder {
        if lanes.count == 1 { return lanes[0] }
        let merged = BacktestRecorder(keys: lanes[0].keys)
        let pieces = LaneSegments.inInputOrder(lanes.map(\.marks), ends: lanes.map(\.times.count))
        // Moved out of the lanes, so each array is uniquely held and rewritten without a copy.
        var laneIDs: [[UInt32]] = lanes.map { lane in
            defer { lane.ids = [] }
            return lane.ids
        }
        // Per lane, each of its key numbers' number in the merged recorder (`unseen`: not yet).
        let unseen = UInt32.max
        var renumber = lanes.map { [UInt32](repeating: unseen, count: $0.keys.count) }
        for piece in pieces where piece.lane > 0 {
            let laneKeys = lanes[piece.lane].keys
            laneIDs[piece.lane].withUnsafeMutableBufferPointer { ids in
                renumber[piece.lane].withUnsafeMutableBufferPointer { map in
                    for i in piece.range {
                        let local = Int(ids[i])
                        var id = map[local]
                        if id == unseen {
                            id = UInt32(truncatingIfNeeded: merged.keys.id(of: local, in: laneKeys))
                            map[local] = id
                        }
                        ids[i] = id
                    }
                }
            }
        }
        merged.parts = lanes.indices.map { (lanes[$0].times, laneIDs[$0]) }
        merged.pieces = pieces
        for lane in lanes {
            merged.count += lane.count
            merged.untimed += lane.untimed
            merged.oldest = min(merged.oldest, lane.oldest)
            merged.newest = max(merged.newest, lane.newest)
            lane.times = []
            lane.count = 0
        }
        return merged
    }

    /// Bytes held by the records and the keys.
    var memoryBytes: Int {
        let arrays = [(times, ids)] + parts
        return arrays.reduce(keys.memoryBytes) { $0 + $1.0.capacity * 8 + $1.1.capacity * 4 }
    }
}
