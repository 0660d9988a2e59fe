import WarmsetFormat
import WarmsetSketch

/// The backtest's one pass: every counted request kept as its key's number and its log time.
///
/// Fed by the line steps every analysis uses (`LineSteps`, as `KeyedRequestSink`), so the
/// format, filters, rules and keys are exactly analyze's. Requests are placed before or after a
/// deploy time by their log time, never by their position, so logs a few seconds out of order
/// across files are measured as if sorted. Exact mode: 12 bytes a request plus the distinct
/// keys (a bounded-memory mode is not built yet, docs/backtest.md).
final class BacktestRecorder: KeyedRequestSink {
    /// The distinct keys, numbered in order of first sight.
    let keys = KeyInterner()
    /// Each timed request's log time (epoch seconds), in reading order.
    private(set) var times: [Int64] = []
    /// Each timed request's key number, parallel to `times`.
    private(set) var ids: [UInt32] = []
    /// Requests whose time could not be read (not placed, not measured).
    private(set) var untimed = 0
    /// The oldest and newest log time recorded.
    private(set) var oldest = Int64.max
    private(set) var newest = Int64.min

    /// Records one counted request.
    /// - Complexity: O(key length) expected; allocates only for a new key or when the arrays grow.
    func add(_ fields: RequestFields, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        guard let time = fields.epochSeconds else {
            untimed += 1
            return
        }
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
