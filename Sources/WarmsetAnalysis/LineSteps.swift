import WarmsetFormat
import WarmsetKeys
import WarmsetSketch

/// Where the line steps hand each keyed request when counting needs more of the line than its
/// key (its time, bytes or request time): `RequestWeigher` for analyze and watch, and
/// `BacktestRecorder` for backtest. The plain request count never goes through it.
protocol KeyedRequestSink: AnyObject {
    /// One request that passed the filters, with its key and representative path; `fields`
    /// and the bytes are valid only during the call.
    func add(_ fields: RequestFields, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer)

    /// A parallel lane's next chunk begins (`order`: its place in the whole input, increasing;
    /// see `LaneSegments`): a sink that can be split over lanes marks where the chunk's requests
    /// begin, to merge the lanes in input order. Not called on a serial run.
    func beginChunk(order: Int)
}

extension KeyedRequestSink {
    func beginChunk(order: Int) {}
}

/// The per-line steps every analysis shares: parse → filter → key → count.
///
/// Used by the batch analyzer, each parallel parse lane, watch mode's live analysis and the
/// backtest's one pass, so the steps exist once. A value type held in a local `var` by the
/// loop that owns it.
struct LineSteps {
    let parser: AccessLogParser
    let filter: RequestFilter
    let keys: KeyBuilder
    let counter: any KeyCounter
    /// Takes each keyed request instead of `counter` when set (weights, decay, timeline, backtest).
    let sink: (any KeyedRequestSink)?
    /// Counts the requests the key memo answers, when the counter takes batches.
    private let tally: HitTally?
    private var fields = RequestFields()
    /// Requests not counted, indexed by `RequestFilter.Reason.index`.
    var filtered: [Int] {
        get { Array(UnsafeBufferPointer(start: notCounted.counts, count: ReasonCounts.count)) }
        nonmutating set {
            for i in 0..<ReasonCounts.count { notCounted.counts[i] = i < newValue.count ? newValue[i] : 0 }
        }
    }
    /// Behind `filtered`: counting a line there is one increment (an array's element would
    /// cost a uniqueness check and a bounds check, for nearly half the lines).
    private let notCounted = ReasonCounts()
    /// Key and count each line when the next one arrives (see `init`).
    private let oneLineLate: Bool
    /// `keys.canRejectEarly`, read once: without rules the per-line loop makes no call for it.
    private let rejectEarly: Bool
    /// The line waiting to be keyed and counted (when `hasPending`): its target (in the caller's
    /// line bytes), the escapes flag, the bytes sent and the memo's hash of the target. Plain
    /// fields and a flag, not an optional tuple: this is written and read for every line.
    private var hasPending = false
    private var pendingTarget = UnsafeRawBufferPointer(start: nil, count: 0)
    private var pendingEscapes = false
    private var pendingBytes: Int64 = 0
    private var pendingMemoHash: UInt64?

    /// - Parameter sink: takes every keyed request with its fields instead of `counter`.
    /// - Parameter batchHits: count the requests answered by the key memo per memo slot and
    ///   pass them to the counter in batches (`HitTally`), when it is an unweighted sketch.
    ///   The counter then misses up to a batch per slot until `finish()`: only for loops that
    ///   call it before the counter is read, and one such `LineSteps` at a time per `compiled`.
    /// - Parameter oneLineLate: parse and filter each line at once, but key and count it when
    ///   the next line arrives (unweighted counting only), having started to load its key memo
    ///   slot: the load, a cache miss, then overlaps the next line's parsing. The caller calls
    ///   `flush()` before the bytes of the lines it passed may change (before it reuses a
    ///   buffer), and `finish()` at the end.
    init(
        _ compiled: CompiledAnalysis, counter: KeyCounting, sink: (any KeyedRequestSink)? = nil, batchHits: Bool = false,
        oneLineLate: Bool = false
    ) {
        self.oneLineLate = oneLineLate && sink == nil
        parser = compiled.parser
        filter = compiled.filter
        keys = compiled.keys
        rejectEarly = compiled.keys.canRejectEarly
        self.counter = counter.keyCounter
        self.sink = sink
        if batchHits, sink == nil, let sketch = counter.batched {
            tally = HitTally(keys: compiled.keys, counter: sketch)
        } else {
            tally = nil
        }
    }

    /// Keys and counts the line waiting, if any: after it no line's bytes are needed.
    @inline(__always)
    mutating func flush() {
        guard hasPending else { return }
        hasPending = false
        key(pendingTarget, escapes: pendingEscapes, bytes: pendingBytes, memoHash: pendingMemoHash)
    }

    /// Counts the line waiting and passes the batched hits on to the counter: after it, the
    /// counter has counted every line.
    mutating func finish() {
        flush()
        tally?.passAll()
    }

    /// Requests filtered out or without a key, over all reasons.
    var filteredTotal: Int { (0..<ReasonCounts.count).reduce(0) { $0 + notCounted.counts[$1] } }

    /// Parses, filters, keys and counts one line (without its newline).
    /// - Returns: why the line does not match the format, or nil (counted or filtered).
    /// - Complexity: O(line length) plus the counter's add; no allocation.
    /// `@inline(never)`: one direct call per line from the (inlined) line loop; inlined into
    /// that loop's large function, the request filter was left a call and the fields copied.
    @inline(never)
    mutating func process(_ line: UnsafeRawBufferPointer) -> Malformation? {
        if let problem = parser.parse(line, into: &fields) { return problem }
        if let reason = filter.check(fields) {
            notCounted.counts[reason.index] &+= 1
            return nil
        }
        guard let target = fields.target, !fields.badRequestLine else {
            notCounted.counts[RequestFilter.Reason.badRequest.index] &+= 1
            return nil
        }
        if rejectEarly && keys.rejectsEarly(target: target, hasLogEscapes: fields.hasLogEscapes) {
            notCounted.counts[RequestFilter.Reason.noRule.index] &+= 1
            return nil
        }
        if oneLineLate {
            let memoHash = keys.prefetchMemo(target: target, hasLogEscapes: fields.hasLogEscapes)
            flush()
            hasPending = true
            pendingTarget = target
            pendingEscapes = fields.hasLogEscapes
            pendingBytes = fields.bytes
            pendingMemoHash = memoHash
            return nil
        }
        keyNow(target)
        return nil
    }

    /// Builds the key of a line that passed the filter and counts it, unweighted (the only
    /// counting that may wait a line: nothing here reads the line's fields).
    @inline(__always)
    private mutating func key(_ target: UnsafeRawBufferPointer, escapes: Bool, bytes: Int64, memoHash: UInt64?) {
        switch keys.buildMemoized(target: target, hasLogEscapes: escapes, memoHash: memoHash) {
        case .keyed(let built):
            if let tally, built.memoSlot >= 0 {
                tally.count(slot: built.memoSlot, bytes: bytes)
            } else {
                counter.add(key: built.key, path: built.path, bytes: bytes)
            }
        case .skipped(let reason):
            notCounted.counts[reason.index] &+= 1
        }
    }

    /// Keys and counts the line just parsed at once, through the sink when there is one (it
    /// reads `fields`). Out of line: kept apart, the one-line-late path keeps no copy of the fields.
    @inline(never)
    private mutating func keyNow(_ target: UnsafeRawBufferPointer) {
        guard let sink else {
            key(target, escapes: fields.hasLogEscapes, bytes: fields.bytes, memoHash: nil)
            return
        }
        // No tally with a sink (`init`): every keyed request reaches it.
        switch keys.buildMemoized(target: target, hasLogEscapes: fields.hasLogEscapes) {
        case .keyed(let built):
            sink.add(fields, key: built.key, path: built.path)
        case .skipped(let reason):
            notCounted.counts[reason.index] &+= 1
        }
    }
}

/// Requests answered by the key memo, counted per memo slot and passed to the sketch in
/// batches: a popular key costs one increment per request here instead of a hash, d
/// counter updates and a candidate lookup, and one `SketchCounter.add(key:path:count:bytes:)`
/// per `batch` requests, when its slot is given to another target, or at `passAll()`.
///
/// The counts are those of one-by-one counting: conservative update by a batch of c raises
/// the key's counters to their minimum plus c, as c single updates in a row do; only the
/// order relative to other keys' updates moves (estimates still never undercount).
final class HitTally: MemoEvictionObserver {
    /// Requests per slot held back at most.
    static let batch: UInt32 = 64

    private let keys: KeyBuilder
    private let counter: SketchCounter
    private let counts: UnsafeMutablePointer<UInt32>
    private let bytes: UnsafeMutablePointer<Int64>

    init(keys: KeyBuilder, counter: SketchCounter) {
        self.keys = keys
        self.counter = counter
        let slots = KeyBuilder.memoSlotCount
        counts = .allocate(capacity: slots)
        counts.initialize(repeating: 0, count: slots)
        bytes = .allocate(capacity: slots)
        bytes.initialize(repeating: 0, count: slots)
        keys.memoObserver = self
    }

    deinit {
        counts.deallocate()
        bytes.deallocate()
    }

    /// One request for the key in memo slot `slot`, moving `bytes`.
    @inline(__always)
    func count(slot: Int, bytes moved: Int64) {
        counts[slot] &+= 1
        bytes[slot] &+= Swift.max(moved, 0)
        if counts[slot] == Self.batch { pass(slot) }
    }

    func willEvict(memoSlot: Int) { pass(memoSlot) }

    /// What slot `slot` holds back: its key and path, requests and bytes.
    private func held(_ slot: Int) -> (key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, count: UInt32, bytes: Int64) {
        let entry = keys.memoEntry(slot)
        return (entry.key, entry.path, counts[slot], bytes[slot])
    }

    /// Passes slot `slot`'s requests to the counter.
    private func pass(_ slot: Int) {
        let (key, path, count, moved) = held(slot)
        guard count > 0 else { return }
        counter.add(key: key, path: path, count: count, bytes: moved)
        counts[slot] = 0
        bytes[slot] = 0
    }

    /// Passes every slot's requests to the counter, in slot order, as `pass` would one by one.
    func passAll() {
        var slots: [Int] = []
        for slot in 0..<KeyBuilder.memoSlotCount where counts[slot] > 0 { slots.append(slot) }
        counter.addAll(slots.count) { held(slots[$0]) }
        for slot in slots {
            counts[slot] = 0
            bytes[slot] = 0
        }
    }
}

/// One counter per `RequestFilter.Reason`, allocated once.
private final class ReasonCounts {
    static let count = RequestFilter.Reason.allCases.count
    let counts: UnsafeMutablePointer<Int>

    init() {
        counts = .allocate(capacity: Self.count)
        counts.initialize(repeating: 0, count: Self.count)
    }

    deinit { counts.deallocate() }
}
