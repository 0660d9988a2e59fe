import CByteScan
import CPrefetch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WarmsetFormat

/// Which query parameters become part of the key.
public enum QueryPolicy: Sendable, Equatable {
    /// Drop the query string (the default: tokens and secrets travel there).
    case none
    /// Keep every parameter, sorted.
    case all
    /// Keep only these parameters (by normalized name), sorted.
    case only(Set<String>)

    /// Parses `none`, `all` or `a,b`.
    public init(parsing text: String) throws(KeyError) {
        switch text {
        case "none", "": self = .none
        case "all": self = .all
        default:
            let names = text.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw KeyError("--keep-query '\(text)': use none, all, or a list of parameter names") }
            self = .only(Set(names))
        }
    }
}

/// Told by a `KeyBuilder` before its memo gives a slot that holds a key to another target.
public protocol MemoEvictionObserver: AnyObject {
    /// Slot `memoSlot` is about to hold another target; `memoEntry(memoSlot)` still reads the
    /// old key and path. Must not call the builder's `build` (`key` and `path` hold the new key).
    func willEvict(memoSlot: Int)
}

/// Turns a request target into its normalized path and its cache key, in reused buffers.
///
/// Normalization: the log's `\xHH` escapes are decoded; percent-encoding is normalized (unreserved
/// characters decoded, hex upper-cased, bytes outside ASCII encoded); `.` and `..`
/// segments are resolved and repeated slashes merged (as nginx does); the query is cut
/// to the kept parameters, sorted. A target holding a raw control byte or space yields
/// no key, and neither does an absolute-form target (`http://host/p`, a proxy request).
public final class KeyBuilder {
    /// The outcome of building a key.
    public enum Outcome: Equatable {
        /// `key` and `path` hold the result.
        case key
        /// Not counted, for this reason.
        case skipped(RequestFilter.Reason)
    }

    /// The key rules, first match wins; empty means the key is the normalized path.
    public let rules: [KeyRule]
    /// Patterns whose match (anywhere in the normalized path) excludes the request.
    public let excludes: [Pattern]
    /// Which query parameters are kept.
    public let queryPolicy: QueryPolicy
    /// The longest key emitted.
    public let maxKeyBytes: Int
    private let keptNames: [[UInt8]]

    private var decoded: ByteScratch
    private var pathBuffer: ByteScratch
    private var queryBuffer: ByteScratch
    private var keyBuffer: ByteScratch
    private let segmentStarts: UnsafeMutablePointer<Int>
    /// The index in `rules` of the rule that made the last key, or -1 (an index, not a
    /// reference: storing a class reference per line costs a retain and a release).
    private var matchedRule = -1
    private var params: [(start: Int, nameEnd: Int, end: Int)] = []

    /// A rule flattened for the per-line loop, which then touches no array and retains no
    /// object (`rules` keeps the patterns alive).
    private struct FlatRule {
        var pattern: Unmanaged<Pattern>
        var firstPiece: Int
        var pieceCount: Int
    }
    /// A template piece: a capture group, or (group -1) literal bytes held by `literalStorage`.
    private struct FlatPiece {
        var group: Int
        var literal: UnsafeRawBufferPointer
    }
    private let flatRules: UnsafeMutableBufferPointer<FlatRule>
    private let flatPieces: UnsafeMutableBufferPointer<FlatPiece>
    private let flatExcludes: UnsafeMutableBufferPointer<Unmanaged<Pattern>>
    private let literalStorage: UnsafeMutableRawBufferPointer
    private let memo = KeyMemo()
    /// Every rule has a starting literal (`Pattern.hasStartingLiteral`) and there are no
    /// excludes: `rejectsEarly` can then tell some paths that no rule matches. A stored flag, so
    /// the per-line loop asks `rejectsEarly` only when it can answer.
    public let canRejectEarly: Bool
    /// `queryPolicy == .none`, as a flag (the enum holds a set).
    private let dropsQuery: Bool

    /// Creates a builder.
    /// - Parameters:
    ///   - maxTargetBytes: the longest target it will see (the longest line).
    public init(
        rules: [KeyRule] = [], excludes: [Pattern] = [], queryPolicy: QueryPolicy = .none,
        maxKeyBytes: Int = 1024, maxTargetBytes: Int = 64 * 1024
    ) {
        self.rules = rules
        self.excludes = excludes
        self.queryPolicy = queryPolicy
        self.maxKeyBytes = maxKeyBytes
        if case .only(let names) = queryPolicy {
            keptNames = names.map { Array($0.utf8) }
        } else {
            keptNames = []
        }
        decoded = ByteScratch(capacity: maxTargetBytes)
        // Percent-encoding at most triples a byte.
        pathBuffer = ByteScratch(capacity: 3 * maxTargetBytes + 4)
        queryBuffer = ByteScratch(capacity: 3 * maxTargetBytes + 4)
        keyBuffer = ByteScratch(capacity: maxKeyBytes)
        segmentStarts = .allocate(capacity: (3 * maxTargetBytes + 4) / 2 + 2)
        params.reserveCapacity(64)

        var literalBytes = 0
        var pieceCount = 0
        for rule in rules {
            pieceCount += rule.pieces.count
            for case .literal(let bytes) in rule.pieces { literalBytes += bytes.count }
        }
        literalStorage = .allocate(byteCount: max(literalBytes, 1), alignment: 8)
        flatPieces = .allocate(capacity: max(pieceCount, 1))
        flatRules = .allocate(capacity: max(rules.count, 1))
        var piece = 0
        var literalAt = 0
        for (r, rule) in rules.enumerated() {
            flatRules[r] = FlatRule(pattern: Unmanaged.passUnretained(rule.pattern), firstPiece: piece, pieceCount: rule.pieces.count)
            for p in rule.pieces {
                switch p {
                case .literal(let bytes):
                    let start = literalStorage.baseAddress! + literalAt
                    bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                    flatPieces[piece] = FlatPiece(group: -1, literal: UnsafeRawBufferPointer(start: start, count: bytes.count))
                    literalAt += bytes.count
                case .group(let index):
                    flatPieces[piece] = FlatPiece(group: index, literal: UnsafeRawBufferPointer(start: nil, count: 0))
                }
                piece += 1
            }
        }
        flatExcludes = .allocate(capacity: max(excludes.count, 1))
        for (i, pattern) in excludes.enumerated() { flatExcludes[i] = Unmanaged.passUnretained(pattern) }
        canRejectEarly = !rules.isEmpty && excludes.isEmpty && rules.allSatisfy { $0.pattern.hasStartingLiteral }
        dropsQuery = queryPolicy == .none
    }

    deinit {
        decoded.free()
        pathBuffer.free()
        queryBuffer.free()
        keyBuffer.free()
        segmentStarts.deallocate()
        literalStorage.deallocate()
        flatPieces.deallocate()
        flatRules.deallocate()
        flatExcludes.deallocate()
        memo.free()
    }

    /// The memo slot that answered the last `buildMemoized(…, hitsInPlace: true)` call with a
    /// key, or -1 (a miss, an outcome that is not a key, or hits copied out).
    public private(set) var memoSlot = -1
    /// Told just before the memo gives a slot that holds a key to another target.
    public weak var memoObserver: (any MemoEvictionObserver)?

    /// How many slots the memo has: `memoSlot` is below this.
    public static var memoSlotCount: Int { KeyMemo.slotCount }

    /// The key and path held by memo slot `slot` (one that `memoSlot` named, or that
    /// `memoObserver` is told of). Valid until the slot is given to another target.
    public func memoEntry(_ slot: Int) -> (key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        let header = memo.header(slot).pointee
        let held = memo.slotBase(slot)
        let n = Int(header.targetCount), pathCount = Int(header.pathCount)
        let path = UnsafeRawBufferPointer(start: held + n, count: pathCount)
        let key = rules.isEmpty ? path : UnsafeRawBufferPointer(start: held + n + pathCount, count: Int(header.keyCount))
        return (key, path)
    }

    /// The normalized request (path and kept query) of the last `build` call.
    public var path: UnsafeRawBufferPointer { pathBuffer.bytes }
    /// The key of the last successful `build` call.
    public var key: UnsafeRawBufferPointer { rules.isEmpty ? pathBuffer.bytes : keyBuffer.bytes }

    /// Normalizes `target`, applies the excludes and the rules, and fills `path` and `key`.
    /// - Parameter hasLogEscapes: decode the log's backslash escapes first (text formats).
    /// - Complexity: O(target length) plus the patterns; no allocation.
    public func build(target: UnsafeRawBufferPointer, hasLogEscapes: Bool) -> Outcome {
        // Work on local copies: every access to a stored `var` of a class is checked for
        // exclusivity at run time, which would cost more than the work itself here.
        var path = pathBuffer
        var key = keyBuffer
        let outcome = build(target, hasLogEscapes, &path, &key)
        pathBuffer = path
        keyBuffer = key
        return outcome
    }

    /// `build`, answered from the memo of recent targets when it holds `target` (see
    /// `KeyMemo`): the same outcome, `path` and `key`. For the per-line loop; `lastCaptures()`
    /// is empty after it (call `build` for captures).
    /// - Complexity: O(target length) on a hit; `build`'s cost plus a copy on a miss.
    /// - Parameter hitsInPlace: a hit leaves `key` and `path` as they were and `memoSlot` names
    ///   the slot that holds its key (read with `memoEntry`): for a caller that counts hits per slot.
    /// - Parameter memoHash: `prefetchMemo`'s answer for this target, if the caller asked it.
    public func buildMemoized(
        target: UnsafeRawBufferPointer, hasLogEscapes: Bool, hitsInPlace: Bool = false, memoHash: UInt64? = nil
    ) -> Outcome {
        memoSlot = -1
        let n = target.count
        guard let base = target.baseAddress, n <= KeyMemo.slotBytes, let hash = memoHash ?? Self.memoHash(target, escapes: hasLogEscapes) else {
            return build(target: target, hasLogEscapes: hasLogEscapes)
        }
        let slot = KeyMemo.slot(hash)
        let header = memo.header(slot)
        let held = memo.slotBase(slot)
        if header.pointee.tag == hash && Int(header.pointee.targetCount) == n && header.pointee.escapes == hasLogEscapes
            && ShortBytes.equal(held, base, n)
        {
            matchedRule = -1
            let outcome = header.pointee.outcome
            if outcome == .key && hitsInPlace {
                memoSlot = slot
            } else if outcome == .key {
                // Safe: the counts were checked against the scratch capacities when the slot was filled.
                let entry = memoEntry(slot)
                pathBuffer.base.update(from: entry.path.baseAddress!.assumingMemoryBound(to: UInt8.self), count: entry.path.count)
                pathBuffer.count = entry.path.count
                if !rules.isEmpty {
                    keyBuffer.base.update(from: entry.key.baseAddress!.assumingMemoryBound(to: UInt8.self), count: entry.key.count)
                    keyBuffer.count = entry.key.count
                }
            }
            return outcome
        }
        let outcome = build(target: target, hasLogEscapes: hasLogEscapes)
        guard header.pointee.pending == hash else {
            header.pointee.pending = hash  // first miss: remember it; a second one takes the slot
            return outcome
        }
        let pathCount = outcome == .key ? pathBuffer.count : 0
        let keyCount = outcome == .key && !rules.isEmpty ? keyBuffer.count : 0
        guard n + pathCount + keyCount <= KeyMemo.slotBytes else { return outcome }
        if header.pointee.targetCount != .max && header.pointee.outcome == .key, let observer = memoObserver {
            observer.willEvict(memoSlot: slot)  // the old entry is still readable there
        }
        held.copyMemory(from: base, byteCount: n)
        if pathCount > 0 { (held + n).copyMemory(from: pathBuffer.base, byteCount: pathCount) }
        if keyCount > 0 { (held + n + pathCount).copyMemory(from: keyBuffer.base, byteCount: keyCount) }
        header.pointee = KeyMemo.Header(
            tag: hash, pending: 0, targetCount: UInt16(n), pathCount: UInt16(pathCount), keyCount: UInt16(keyCount),
            escapes: hasLogEscapes, outcome: outcome)
        return outcome
    }

    /// Starts loading the memo slot that `buildMemoized` will look `target` up in, and returns
    /// the memo's hash of it (pass it as `memoHash`). For a caller that keys each line one line
    /// later: the memo is larger than a core's cache, and a lookup otherwise waits for this load.
    @inline(__always)
    public func prefetchMemo(target: UnsafeRawBufferPointer, hasLogEscapes: Bool) -> UInt64? {
        guard let hash = Self.memoHash(target, escapes: hasLogEscapes) else { return nil }
        let header = UnsafeRawPointer(memo.header(KeyMemo.slot(hash)))
        warmset_prefetch(header)
        warmset_prefetch(header + 64)  // the target's bytes go on past the header's line
        return hash
    }

    /// True when `build` would skip `target` for `.noRule` and that is quick to tell: no
    /// backslash (so no log escape to decode, or to fail decoding), a query that is not kept
    /// (or none), a path part already normal (so it is the subject the rules see, as it is)
    /// that starts with no rule's starting literal, and no excludes (which would be asked
    /// first). For the per-line loop, before the memo: a line that no rule can key then costs
    /// neither a memo slot nor the normalization's copy. False whenever unsure; then `build`
    /// decides.
    public func rejectsEarly(target: UnsafeRawBufferPointer, hasLogEscapes: Bool) -> Bool {
        guard canRejectEarly, let base = target.baseAddress, target.count > 0, base.load(as: UInt8.self) == 0x2F
        else { return false }
        // First the literals, which turn most keyed lines back at once. The path part is a
        // prefix of the target: a target that no rule may match has no such path part either.
        for r in 0..<rules.count where flatRules[r].pattern._withUnsafeGuaranteedRef({ $0.mayMatch(target) }) {
            return false
        }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        var pathEnd = target.count
        let cut = warmset_find_either(bytes, 0, target.count, 0x3F, 0x23)
        if cut >= 0 {
            // A `?` starts a query, which the subject holds unless queries are dropped.
            if base.load(fromByteOffset: cut, as: UInt8.self) == 0x3F && !dropsQuery { return false }
            // An escape after the path could still fail to decode (`.badRequest`).
            if hasLogEscapes && warmset_find_byte(bytes, cut, target.count, 0x5C) >= 0 { return false }
            pathEnd = cut
        }
        // A normal path holds no backslash: nothing in it to decode. (`normalizePath` copies it
        // as it is only when it fits the path buffer.)
        return pathEnd <= pathBuffer.capacity && Self.isNormalPath(UnsafeRawBufferPointer(start: base, count: pathEnd))
    }

    /// The memo's hash of `target`, or nil for a target the memo does not hold (too long for a slot).
    @inline(__always)
    private static func memoHash(_ target: UnsafeRawBufferPointer, escapes: Bool) -> UInt64? {
        guard let base = target.baseAddress, target.count <= KeyMemo.slotBytes else { return nil }
        return KeyMemo.hash(base, target.count, escapes: escapes)
    }

    @inline(__always)
    private func build(
        _ target: UnsafeRawBufferPointer, _ hasLogEscapes: Bool, _ path: inout ByteScratch, _ key: inout ByteScratch
    ) -> Outcome {
        key.reset()
        path.reset()
        matchedRule = -1
        var source = target
        if hasLogEscapes {
            guard let unescaped = decodeLogEscapes(target) else { return .skipped(.badRequest) }
            source = unescaped
        }
        guard source.count > 0, source[0] == 0x2F else {
            return Self.isAbsoluteForm(source) ? .skipped(.absoluteForm) : .skipped(.badRequest)
        }
        // The path ends at the first `?` or `#`; the query, if any, at the first `#` after it (a
        // fragment is never sent).
        var queryStart = source.count
        var end = source.count
        if let base = source.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            let cut = warmset_find_either(base, 0, source.count, 0x3F, 0x23)
            if cut >= 0 {
                queryStart = cut
                if base[cut] == 0x23 {
                    end = cut
                } else if let h = memchr(base + cut, 0x23, source.count - cut) {
                    end = UnsafeRawPointer(h) - UnsafeRawPointer(base)
                }
            }
        }
        if let reason = normalizePath(UnsafeRawBufferPointer(rebasing: source[0..<queryStart]), into: &path) { return .skipped(reason) }
        for e in 0..<excludes.count where flatExcludes[e]._withUnsafeGuaranteedRef({ $0.matches(path.bytes) }) {
            return .skipped(.excluded)
        }
        if queryStart < end, queryPolicy != .none {
            if let reason = appendQuery(UnsafeRawBufferPointer(rebasing: source[(queryStart + 1)..<end]), to: &path) {
                return .skipped(reason)
            }
        }
        if rules.isEmpty {
            guard path.count <= maxKeyBytes else { return .skipped(.keyTooLong) }
            return .key
        }
        let subject = path.bytes
        for index in 0..<rules.count {
            let rule = flatRules[index]
            guard rule.pattern._withUnsafeGuaranteedRef({ $0.matches(subject) }) else { continue }
            matchedRule = index
            for p in rule.firstPiece..<(rule.firstPiece + rule.pieceCount) {
                let piece = flatPieces[p]
                if piece.group < 0 {
                    if !key.append(piece.literal) { return .skipped(.keyTooLong) }
                    continue
                }
                guard let range = rule.pattern._withUnsafeGuaranteedRef({ $0.group(piece.group) }) else { continue }
                // A capture is appended whole: the path and query it is cut from hold no byte
                // ≤ 0x20 and no 0x7F (normalization turns away a target with one and encodes
                // every other byte that may not stay; a test holds random targets to that).
                if !key.append(UnsafeRawBufferPointer(rebasing: subject[range])) { return .skipped(.keyTooLong) }
            }
            if key.count == 0 { return .skipped(.noRule) }
            return .key
        }
        return .skipped(.noRule)
    }

    /// The capture groups (1…n) of the rule that made the last key; empty without rules.
    /// Unmatched optional groups are empty strings. Allocates: for ranked keys, not per line.
    public func lastCaptures() -> [String] {
        guard matchedRule >= 0 && matchedRule < rules.count else { return [] }
        let rule = rules[matchedRule]
        let subject = pathBuffer.bytes
        return (0..<rule.pattern.captureCount).map { index in
            guard let range = rule.pattern.group(index + 1) else { return "" }
            return String(decoding: UnsafeRawBufferPointer(rebasing: subject[range]), as: UTF8.self)
        }
    }

    // MARK: - Steps

    /// Decodes `\xHH`, `\"` and `\\`; returns the input itself when it holds no backslash.
    private func decodeLogEscapes(_ input: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var hasBackslash = false
        if let base = input.baseAddress, memchr(base, 0x5C, input.count) != nil { hasBackslash = true }
        if !hasBackslash { return input }
        var decoded = self.decoded
        defer { self.decoded = decoded }
        decoded.reset()
        var i = 0
        while i < input.count {
            let b = input[i]
            if b == 0x5C && i + 1 < input.count {
                let e = input[i + 1]
                if e == 0x78 && i + 3 < input.count, let hi = Hex.value(input[i + 2]), let lo = Hex.value(input[i + 3]) {
                    guard decoded.append(hi << 4 | lo) else { return nil }
                    i += 4
                    continue
                }
                if e == 0x22 || e == 0x5C {
                    guard decoded.append(e) else { return nil }
                    i += 2
                    continue
                }
            }
            guard decoded.append(b) else { return nil }
            i += 1
        }
        return decoded.bytes
    }

    /// True for an absolute-form target (`http://host/path`): what proxy clients and open-proxy
    /// scanners send. Such requests are not counted: their host may not be this site's.
    static func isAbsoluteForm(_ s: UnsafeRawBufferPointer) -> Bool {
        guard s.count >= 7, s[0] | 0x20 == 0x68, s[1] | 0x20 == 0x74, s[2] | 0x20 == 0x74, s[3] | 0x20 == 0x70 else { return false }
        var at = 4
        if s[at] | 0x20 == 0x73 { at += 1 }
        return at + 2 < s.count && s[at] == 0x3A && s[at + 1] == 0x2F && s[at + 2] == 0x2F
    }

    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
            || b == 0x5F || b == 0x7E
    }

    /// Bytes that stay as they are in a normalized path or query (RFC 3986 `pchar` and `/?`).
    /// `{` and `}` are always encoded: raw in a key they would form a Redis Cluster hash tag,
    /// letting a URL pick the key's slot. Only a rule's template may place a hash tag.
    @inline(__always)
    static func isPlain(_ b: UInt8) -> Bool {
        if isUnreserved(b) { return true }
        switch b {
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D, 0x3A, 0x40, 0x2F, 0x3F, 0x5B, 0x5D:
            return true
        default:
            return false
        }
    }

    /// True when normalization leaves the path `raw` as it is: every byte `isPlain`, and no
    /// `/` followed by `/` or `.`. Checked 16 bytes at a time (`warmset_path_is_plain` holds the
    /// byte classes of `isPlain`; a test compares it with a byte loop).
    @inline(__always)
    static func isNormalPath(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard let base = raw.baseAddress else { return true }
        return warmset_path_is_plain(base.assumingMemoryBound(to: UInt8.self), raw.count) != 0
    }

    /// Appends one normalized byte sequence (percent-encoding fixed) to `out`.
    @inline(__always)
    private static func appendNormalized(_ s: UnsafeRawBufferPointer, to out: inout ByteScratch) -> RequestFilter.Reason? {
        var i = 0
        while i < s.count {
            let b = s[i]
            if b == 0x25 {
                if i + 2 < s.count, let hi = Hex.value(s[i + 1]), let lo = Hex.value(s[i + 2]) {
                    let value = hi << 4 | lo
                    if isUnreserved(value) {
                        if !out.append(value) { return .keyTooLong }
                    } else if !out.appendPercentEncoded(value) {
                        return .keyTooLong
                    }
                    i += 3
                    continue
                }
                if !out.appendPercentEncoded(0x25) { return .keyTooLong }
            } else if b <= 0x20 || b == 0x7F {
                return .forbiddenByte
            } else if isPlain(b) {
                if !out.append(b) { return .keyTooLong }
            } else if !out.appendPercentEncoded(b) {
                return .keyTooLong
            }
            i += 1
        }
        return nil
    }

    /// Normalizes a path into `out`: percent-encoding, then dot segments and repeated slashes.
    private func normalizePath(_ raw: UnsafeRawBufferPointer, into out: inout ByteScratch) -> RequestFilter.Reason? {
        // Fast path: most logged paths are already normal, and are copied as they are.
        if raw.count <= out.capacity && Self.isNormalPath(raw) {
            _ = out.append(raw)
            return nil
        }
        if let reason = Self.appendNormalized(raw, to: &out) { return reason }
        // Segments, in place: `write` never passes `read`.
        let p = out.base
        let n = out.count
        var depth = 0
        var write = 0
        var read = 0
        var endsWithSlash = false
        while read < n {
            // here p[read] == '/'
            var segEnd = read + 1
            while segEnd < n && p[segEnd] != 0x2F { segEnd += 1 }
            let length = segEnd - read - 1
            if length == 0 {
                endsWithSlash = segEnd == n
            } else if length == 1 && p[read + 1] == 0x2E {
                endsWithSlash = true
            } else if length == 2 && p[read + 1] == 0x2E && p[read + 2] == 0x2E {
                if depth > 0 {
                    depth -= 1
                    write = segmentStarts[depth]
                }
                endsWithSlash = true
            } else {
                // Safe: a path of n bytes has at most n/2 + 1 segments, the stack's capacity.
                segmentStarts[depth] = write
                depth += 1
                // Safe: write <= read, and the copy moves bytes backwards within the buffer.
                for k in 0..<(length + 1) { p[write + k] = p[read + k] }
                write += length + 1
                endsWithSlash = false
            }
            read = segEnd
        }
        if write == 0 || endsWithSlash {
            p[write] = 0x2F  // Safe: capacity is 3× the target plus 4.
            write += 1
        }
        out.count = write
        return nil
    }

    /// Appends `?` and the kept, normalized, sorted parameters to `pathBuffer`.
    private func appendQuery(_ raw: UnsafeRawBufferPointer, to pathBuffer: inout ByteScratch) -> RequestFilter.Reason? {
        queryBuffer.reset()
        params.removeAll(keepingCapacity: true)
        var start = 0
        while start <= raw.count {
            var end = start
            while end < raw.count && raw[end] != 0x26 { end += 1 }
            if end > start {
                let paramStart = queryBuffer.count
                let param = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                var eq = param.count
                for i in 0..<param.count where param[i] == 0x3D { eq = i; break }
                if let reason = Self.appendNormalized(UnsafeRawBufferPointer(rebasing: param[0..<eq]), to: &queryBuffer) {
                    return reason
                }
                let nameEnd = queryBuffer.count
                if eq < param.count {
                    if !queryBuffer.append(0x3D) { return .keyTooLong }
                    if let reason = Self.appendNormalized(UnsafeRawBufferPointer(rebasing: param[(eq + 1)...]), to: &queryBuffer) {
                        return reason
                    }
                }
                if keep(name: UnsafeRawBufferPointer(start: queryBuffer.base + paramStart, count: nameEnd - paramStart)) {
                    params.append((paramStart, nameEnd, queryBuffer.count))
                }
            }
            start = end + 1
        }
        guard !params.isEmpty else { return nil }
        let q = queryBuffer.base
        params.sort { a, b in
            let an = UnsafeRawBufferPointer(start: q + a.start, count: a.nameEnd - a.start)
            let bn = UnsafeRawBufferPointer(start: q + b.start, count: b.nameEnd - b.start)
            if !an.elementsEqual(bn) { return an.lexicographicallyPrecedes(bn) }
            let av = UnsafeRawBufferPointer(start: q + a.nameEnd, count: a.end - a.nameEnd)
            let bv = UnsafeRawBufferPointer(start: q + b.nameEnd, count: b.end - b.nameEnd)
            return av.lexicographicallyPrecedes(bv)
        }
        for (index, param) in params.enumerated() {
            if !pathBuffer.append(index == 0 ? 0x3F : 0x26) { return .keyTooLong }
            if !pathBuffer.append(UnsafeRawBufferPointer(start: q + param.start, count: param.end - param.start)) {
                return .keyTooLong
            }
        }
        return nil
    }

    @inline(__always)
    private func keep(name: UnsafeRawBufferPointer) -> Bool {
        switch queryPolicy {
        case .none: return false
        case .all: return true
        case .only:
            for wanted in keptNames where wanted.count == name.count {
                if wanted.withUnsafeBytes({ $0.elementsEqual(name) }) { return true }
            }
            return false
        }
    }
}

