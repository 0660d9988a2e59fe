import CByteScan

/// Turns a request target into its normalized path and its cache key, in reused buffers.
///
/// The steps, each a type of its own: `PathNormalizer` (the log's escapes, percent-encoding,
/// dot segments; an absolute-form or malformed target has no key), the excludes and the
/// `QueryFilter` (the kept parameters, sorted), then the `KeyRuleSet` (first match wins; without
/// rules the key is the path). `buildMemoized` answers recent targets from the `KeyMemo`, and
/// `rejectsEarly` (KeyBuilder+EarlyRejection.swift) turns some targets away before both.
///
/// Not thread-safe: one builder per lane.
public final class KeyBuilder {
    /// The key rules, first match wins; empty means the key is the normalized path.
    public var rules: [KeyRule] { ruleSet.rules }
    /// Patterns whose match (anywhere in the normalized path) excludes the request.
    public var excludes: [Pattern] { ruleSet.excludes }
    /// Which query parameters are kept.
    public var queryPolicy: QueryPolicy { query.policy }
    /// The longest key emitted.
    public let maxKeyBytes: Int
    /// Every rule has a starting literal (`Pattern.hasStartingLiteral`) and there are no
    /// excludes: `rejectsEarly` can then tell some paths that no rule matches. A stored flag, so
    /// the per-line loop asks `rejectsEarly` only when it can answer.
    public let canRejectEarly: Bool
    /// `build` may answer through the first rule alone (`firstRuleKey`). A `var` for the tests,
    /// which compare the answers with the steps' own.
    var firstRuleIsFast: Bool

    let normalizer: PathNormalizer
    var query: QueryFilter
    let ruleSet: KeyRuleSet
    let memo = KeyMemo()
    /// Whether `buildMemoized` asks the memo (it stands aside where it rarely answers).
    var memoDuty = MemoDuty()
    /// No rules: the key is the path, and `keyBuffer` stays empty.
    @usableFromInline let keysArePaths: Bool
    /// The normalized request (path and kept query) of the last `build`.
    var pathBuffer: ByteScratch
    /// The key of the last `build`, when there are rules.
    var keyBuffer: ByteScratch

    /// Told just before the memo gives a slot that holds a key to another target.
    public weak var memoObserver: (any MemoEvictionObserver)?

    /// Creates a builder.
    /// - Parameters:
    ///   - maxTargetBytes: the longest target it will see (the longest line).
    public init(
        rules: [KeyRule] = [], excludes: [Pattern] = [], queryPolicy: QueryPolicy = .none,
        maxKeyBytes: Int = 1024, maxTargetBytes: Int = 64 * 1024
    ) {
        self.maxKeyBytes = maxKeyBytes
        normalizer = PathNormalizer(maxTargetBytes: maxTargetBytes)
        query = QueryFilter(queryPolicy, maxTargetBytes: maxTargetBytes)
        ruleSet = KeyRuleSet(rules: rules, excludes: excludes)
        keysArePaths = rules.isEmpty
        canRejectEarly = ruleSet.mayRejectByLiterals
        firstRuleIsFast = excludes.isEmpty && ruleSet.firstRuleMatchesOnlyNormalPaths
        pathBuffer = ByteScratch(capacity: normalizer.pathCapacity)
        keyBuffer = ByteScratch(capacity: maxKeyBytes)
    }

    deinit {
        query.free()
        ruleSet.free()
        memo.free()
        pathBuffer.free()
        keyBuffer.free()
    }

    /// Normalizes `target`, applies the excludes, the query policy and the rules.
    /// - Parameter hasLogEscapes: decode the log's backslash escapes first (text formats).
    /// - Returns: the key and path, valid until the next call (see `KeyResult`), or why there is none.
    /// - Complexity: O(target length) plus the patterns; no allocation.
    public func build(target: UnsafeRawBufferPointer, hasLogEscapes: Bool) -> KeyResult {
        // Work on local copies: the buffers' counts then live in registers, not in the object.
        var path = pathBuffer
        var key = keyBuffer
        var skipped: RequestFilter.Reason?
        if !firstRuleKey(target, hasLogEscapes, &path, &key, &skipped) {
            skipped = build(target, hasLogEscapes, &path, &key)
        }
        // Only the counts change (`base` and `capacity` are constants).
        pathBuffer.count = path.count
        keyBuffer.count = key.count
        if let skipped { return .skipped(skipped) }
        return .keyed(BuiltKey(key: keysArePaths ? path.bytes : key.bytes, path: path.bytes))
    }

    /// `build`'s answer without its steps, for a target whose path (up to its first `?` or `#`)
    /// the first rule matches as logged, when that rule matches only paths normalization leaves
    /// as they are (`KeyRuleSet.firstRuleMatchesOnlyNormalPaths`, the common `^/items/(\d+)$`), there
    /// are no excludes, the query is dropped or absent and the target holds no backslash (a log
    /// escape could decode into a `?` or `#`). Then every step gives what it is given: no escape
    /// to decode, a path that starts with `/` and is already normal, the same cut, no query kept,
    /// and the first rule matches the normalized path too, so it wins there as well.
    /// - Returns: whether it answered (`reason`: nil when `key` holds the key); false with
    ///   `path` and `key` empty when the steps must decide.
    /// - Complexity: O(target length): one scan (`warmset_target_cut`) and the rule's match,
    ///   instead of the escapes' search, the split, the normalization's check and copy.
    @inline(__always)
    private func firstRuleKey(
        _ target: UnsafeRawBufferPointer, _ hasLogEscapes: Bool, _ path: inout ByteScratch, _ key: inout ByteScratch,
        _ reason: inout RequestFilter.Reason?
    ) -> Bool {
        key.reset()
        path.reset()
        guard firstRuleIsFast, let base = target.baseAddress else { return false }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let n = target.count
        var backslash: Int32 = 0
        let cut = warmset_target_cut(bytes, n, &backslash)
        if cut < n && bytes[cut] == 0x3F && !query.dropsQuery { return false }
        guard cut <= path.capacity, !hasLogEscapes || backslash == 0 else { return false }
        _ = path.append(UnsafeRawBufferPointer(start: base, count: cut))
        if ruleSet.applyFirst(to: path.bytes, into: &key, reason: &reason) { return true }
        path.reset()
        return false
    }

    /// The steps of `build`, into `path` and `key`; returns why there is no key, or nil.
    @inline(__always)
    private func build(
        _ target: UnsafeRawBufferPointer, _ hasLogEscapes: Bool, _ path: inout ByteScratch, _ key: inout ByteScratch
    ) -> RequestFilter.Reason? {
        key.reset()
        path.reset()
        var source = target
        if hasLogEscapes {
            guard let unescaped = normalizer.decodeLogEscapes(target) else { return .badRequest }
            source = unescaped
        }
        guard source.count > 0, source[0] == 0x2F else {
            return PathNormalizer.isAbsoluteForm(source) ? .absoluteForm : .badRequest
        }
        let (queryStart, end) = PathNormalizer.split(source)
        if let reason = normalizer.normalize(UnsafeRawBufferPointer(rebasing: source[0..<queryStart]), into: &path) { return reason }
        if ruleSet.isExcluded(path.bytes) { return .excluded }
        if queryStart < end, !query.dropsQuery {
            if let reason = query.append(UnsafeRawBufferPointer(rebasing: source[(queryStart + 1)..<end]), to: &path) {
                return reason
            }
        }
        if keysArePaths { return path.count <= maxKeyBytes ? nil : .keyTooLong }
        return ruleSet.apply(to: path.bytes, into: &key)
    }
}
