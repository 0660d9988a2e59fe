/// The counter a run counts into: one of the three kinds, closed.
///
/// What a kind can do (be saved, be split into parse lanes, take batched hits, take weights)
/// is asked here, with the answer known from the case, so no caller has to find out what a
/// `KeyCounter` is by casting it. The per-line `add` still goes to the counter itself
/// (`keyCounter`), as before.
public enum KeyCounting {
    /// Request counting in a count-min sketch (the default and the fast path).
    case sketch(SketchCounter)
    /// Weighted and/or decayed counting in a sketch of float counters.
    case weightedSketch(WeightedSketchCounter)
    /// Exact counting (weighted or not; for `--recount` only some keys).
    case exact(ExactCounter)

    /// The counter, for counting and ranking.
    public var keyCounter: any KeyCounter {
        switch self {
        case .sketch(let c): return c
        case .weightedSketch(let c): return c
        case .exact(let c): return c
        }
    }

    /// Totals and memory, for the summary.
    public var stats: CounterStats { keyCounter.stats }

    /// The counter that takes weights and times, when the run ranks by weight or decays.
    public var weighted: (any WeightedKeyCounter)? {
        switch self {
        case .sketch: return nil
        case .weightedSketch(let c): return c
        case .exact(let c): return c.weighted ? c : nil
        }
    }

    /// The counter that takes requests in batches (`add(key:path:count:bytes:)`): the
    /// unweighted sketch, nil for the others.
    public var batched: SketchCounter? {
        if case .sketch(let c) = self { return c }
        return nil
    }

    /// The counter's state for a sketch file; nil in exact mode (nothing to save).
    /// - Complexity: O(d·w + c).
    public func snapshot() -> SketchSnapshot? {
        switch self {
        case .sketch(let c): return c.snapshot()
        case .weightedSketch(let c): return c.snapshot()
        case .exact: return nil
        }
    }

    /// Adds a saved sketch to a sketch counter.
    /// - Throws: `SketchError.Kind.incompatible` unless made with the same settings, or for
    ///   an exact counter (the caller refuses that combination first).
    public func merge(_ snapshot: SketchSnapshot, name: String) throws(SketchError) {
        switch self {
        case .sketch(let c): try c.merge(snapshot, name: name)
        case .weightedSketch(let c): try c.merge(snapshot, name: name)
        case .exact: throw SketchError(path: name, kind: .incompatible("sketches cannot be counted exactly"))
        }
    }

    /// A counter holding exactly the snapshot's table and candidates, ready to count on
    /// (a checkpoint restored: counting the rest of a stream into it gives the same table as
    /// counting the whole stream in one process).
    /// - Throws: never for a snapshot made by this build; `SketchError` for an inconsistent one.
    public static func restore(_ snapshot: SketchSnapshot, name: String) throws(SketchError) -> KeyCounting {
        let counter = empty(like: snapshot, capacity: snapshot.capacity)
        try counter.merge(snapshot, name: name)
        return counter
    }

    /// An empty counter with a snapshot's settings and at least `capacity` candidates.
    public static func empty(like snapshot: SketchSnapshot, capacity: Int) -> KeyCounting {
        let candidates = max(capacity, snapshot.capacity)
        switch snapshot.cellKind {
        case .uint32:
            return .sketch(SketchCounter(
                parameters: snapshot.parameters, top: 1, candidates: candidates, conservative: snapshot.conservative))
        case .float64:
            return .weightedSketch(WeightedSketchCounter(
                parameters: snapshot.parameters, top: 1, candidates: candidates, conservative: snapshot.conservative,
                weight: snapshot.weight, halfLifeSeconds: snapshot.halfLifeSeconds > 0 ? snapshot.halfLifeSeconds : nil))
        }
    }

    /// Where the counter stands before it counts a chunk of a parallel run: the exact table's
    /// key count (`ExactCounter.merged` orders keys by it); nil for sketches, whose sum needs
    /// no order.
    public var orderMark: Int? {
        if case .exact(let c) = self { return c.keyCount }
        return nil
    }

    /// `lanes` counters to count parts of the input in parallel, this one the first, or nil
    /// when this counter cannot be split (weighted counting, whose decay and float sums
    /// depend on the order; a recount of chosen keys).
    public func lanes(_ lanes: Int) -> KeyCountingLanes? {
        switch self {
        case .sketch(let c):
            return .sketch([c] + (1..<max(lanes, 1)).map { _ in c.emptyCopy() })
        case .exact(let c) where !c.weighted && c.tracksEveryKey:
            return .exact([c] + (1..<max(lanes, 1)).map { _ in ExactCounter(seed: c.seed) })
        case .exact, .weightedSketch:
            return nil
        }
    }
}

/// The counters of parallel parse lanes, one per lane, merged into one at the end.
public enum KeyCountingLanes {
    /// Sketches: summed at the end (the same ε·N bound as one sketch of everything).
    case sketch([SketchCounter])
    /// Unweighted exact tables: merged in input order, as one thread would have counted.
    case exact([ExactCounter])

    /// Lane `i`'s counter.
    public subscript(i: Int) -> KeyCounting {
        switch self {
        case .sketch(let c): return .sketch(c[i])
        case .exact(let c): return .exact(c[i])
        }
    }

    /// How many lanes.
    public var count: Int {
        switch self {
        case .sketch(let c): return c.count
        case .exact(let c): return c.count
        }
    }

    /// The lanes' counts in one counter: the first lane's, with the others added.
    /// - Parameter marks: per lane, each chunk's place in the input and the lane's `mark`
    ///   before it (exact only).
    public func merged(marks: [[(order: Int, firstKey: Int)]]) -> KeyCounting {
        switch self {
        case .sketch(let c):
            return .sketch(SketchCounter.merged(c))
        case .exact(let c):
            let shares = c.indices.map { (counter: c[$0], marks: $0 < marks.count ? marks[$0] : []) }
            return .exact(ExactCounter.merged(shares, seed: c[0].seed))
        }
    }
}
