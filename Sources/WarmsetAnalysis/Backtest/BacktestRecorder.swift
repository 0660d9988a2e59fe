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
final class BacktestRecorder: BacktestSink {
    /// The distinct keys, numbered in order of first sight.
    let keys = KeyInterner()
    /// Each timed request's log time (epoch seconds), in reading order.
    private(set) var times: [Int64] = []
    /// Each timed request's key number, parallel to `times`.
    private(set) var ids: [UInt32] = []
    /// The last line's time, parsed once per second of log.
    private var clock = LogTimeMemo()
    /// Requests whose time could not be read (not placed, not measured).
    private(set) var untimed = 0
    /// The oldest and newest log time recorded.
    private(set) var oldest = Int64.max
    private(set) var newest = Int64.min

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
        let id = keys.id(of: key, path: path)
        times.append(time)
        ids.append(UInt32(truncatingIfNeeded: id))
        if time < oldest { oldest = time }
        if time > newest { newest = time }
    }

    /// Requests recorded.
    var count: Int { times.count }

    /// Bytes held by the records and the keys.
    var memoryBytes: Int { times.capacity * 8 + ids.capacity * 4 + keys.memoryBytes }
}
