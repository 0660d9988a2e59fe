import WarmsetFormat

/// The key rules (first match wins) and the excludes, flattened for the per-line loop, which then
/// touches no array and no object: it matches through each pattern's `Pattern.Matcher`, a value
/// (`rules` and `excludes` keep the patterns, and so what the matchers point to, alive).
///
/// Owned by one `KeyBuilder`, which frees it.
struct KeyRuleSet {
    /// The key rules, first match wins.
    let rules: [KeyRule]
    /// Patterns whose match (anywhere in the normalized path) excludes the request.
    let excludes: [Pattern]
    /// Every rule has a starting literal (`Pattern.hasStartingLiteral`) and there are no
    /// excludes: a target that starts with no rule's literal then has no key (`mayMatch`).
    let mayRejectByLiterals: Bool
    /// The first rule is a literal that starts with `/`, digits and a literal (`Pattern.digitsShape`,
    /// as `^/products/(\d+)$` is), and every path it matches is one that normalization leaves as it
    /// is (`PathNormalizer.isNormalPath`): checked for the literals around one digit, and a run of
    /// digits changes nothing that check looks at (no byte it turns away, no slash or dot). A
    /// target whose path that rule matches as logged then needs no normalization (`KeyBuilder`'s
    /// `firstRuleKey`).
    let firstRuleMatchesOnlyNormalPaths: Bool

    /// A rule: its pattern's matcher and its template's pieces in `pieces`.
    private struct FlatRule {
        var pattern: Pattern.Matcher
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
    private let flatExcludes: UnsafeMutableBufferPointer<Pattern.Matcher>
    private let literalStorage: UnsafeMutableRawBufferPointer

    init(rules: [KeyRule], excludes: [Pattern]) {
        self.rules = rules
        self.excludes = excludes
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
            flatRules[r] = FlatRule(pattern: rule.pattern.matcher, firstPiece: piece, pieceCount: rule.pieces.count)
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
        for (i, pattern) in excludes.enumerated() { flatExcludes[i] = pattern.matcher }
        mayRejectByLiterals = !rules.isEmpty && excludes.isEmpty && rules.allSatisfy { $0.pattern.hasStartingLiteral }
        if let first = rules.first?.pattern.matcher, first.digitsGroup, first.prefix.first == 0x2F {
            let shortest = Array(first.prefix) + [0x30] + Array(first.suffix)
            firstRuleMatchesOnlyNormalPaths = shortest.withUnsafeBytes { PathNormalizer.isNormalPath($0) }
        } else {
            firstRuleMatchesOnlyNormalPaths = false
        }
    }

    func free() {
        literalStorage.deallocate()
        flatPieces.deallocate()
        flatRules.deallocate()
        flatExcludes.deallocate()
    }

    /// True when an exclude matches the normalized path `path`.
    /// - Complexity: the excludes' matches.
    /// - Note: `@_transparent` for the reason given at `apply`.
    @_transparent
    func isExcluded(_ path: UnsafeRawBufferPointer) -> Bool {
        for e in 0..<excludes.count where flatExcludes[e].matches(path) {
            return true
        }
        return false
    }

    /// False when `target` starts with no rule's starting literal: no rule can match a path cut
    /// from it (see `mayRejectByLiterals`).
    @inline(__always)
    func mayMatch(_ target: UnsafeRawBufferPointer) -> Bool {
        for r in 0..<rules.count where flatRules[r].pattern.mayMatch(target) {
            return true
        }
        return false
    }

    /// Appends the key of the first rule that matches the whole of `subject` (the normalized path
    /// and kept query) to `key`: its template, literals and captures.
    /// - Returns: `.noRule` when no rule matches or the key is empty, `.keyTooLong` when it
    ///   does not fit `key`; nil when `key` holds the key.
    /// - Complexity: the rules' matches up to the first that matches, plus the key's length; no
    ///   allocation.
    /// - Note: `@_transparent`, not `@inline(__always)`: the optimizer leaves `apply` out of line in
    ///   `KeyBuilder.build` despite `@inline(__always)`, copying the rule set to the stack for the
    ///   call; mandatory inlining does not.
    @_transparent
    func apply(to subject: UnsafeRawBufferPointer, into key: inout ByteScratch) -> RequestFilter.Reason? {
        for index in 0..<rules.count {
            // Through the element's address rather than a copy of the whole rule (matcher and
            // piece range) for each rule tried.
            let rule = flatRules.baseAddress! + index
            guard rule.pointee.pattern.matches(subject) else { continue }
            return appendKey(of: rule, subject, into: &key)
        }
        return .noRule
    }

    /// Whether the first rule matches the whole of `subject`; when it does, its key is appended
    /// to `key` and `reason` says what `apply` would return (the first rule wins).
    @_transparent
    func applyFirst(to subject: UnsafeRawBufferPointer, into key: inout ByteScratch, reason: inout RequestFilter.Reason?) -> Bool {
        let rule = flatRules.baseAddress!
        guard rules.count > 0, rule.pointee.pattern.matches(subject) else { return false }
        reason = appendKey(of: rule, subject, into: &key)
        return true
    }

    /// Appends the key of `rule`, which just matched `subject`: its template's literals and captures.
    @_transparent
    private func appendKey(of rule: UnsafeMutablePointer<FlatRule>, _ subject: UnsafeRawBufferPointer, into key: inout ByteScratch)
        -> RequestFilter.Reason?
    {
        // Indexes into `flatPieces`, made by `init`: no overflow, no empty range to check.
        var p = rule.pointee.firstPiece
        let end = p &+ rule.pointee.pieceCount
        while p < end {
            let piece = flatPieces[p]
            p &+= 1
            if piece.group < 0 {
                if !key.append(piece.literal) { return .keyTooLong }
                continue
            }
            guard let range = rule.pointee.pattern.group(piece.group) else { continue }
            // A capture is appended whole: the path and query it is cut from hold no byte
            // ≤ 0x20 and no 0x7F (normalization turns away a target with one and encodes
            // every other byte that may not stay; a test holds random targets to that).
            if !key.append(UnsafeRawBufferPointer(rebasing: subject[range])) { return .keyTooLong }
        }
        return key.count == 0 ? .noRule : nil
    }

    /// The capture groups (1…n) of the first rule that matches the whole of `subject`, or nil
    /// when none does. Unmatched optional groups are empty strings.
    /// - Complexity: the rules' matches; allocates (for ranked keys, not per line).
    func captures(_ subject: UnsafeRawBufferPointer) -> [String]? {
        for rule in rules where rule.pattern.matches(subject) {
            return (0..<rule.pattern.captureCount).map { index in
                guard let range = rule.pattern.group(index + 1) else { return "" }
                return String(decoding: UnsafeRawBufferPointer(rebasing: subject[range]), as: UTF8.self)
            }
        }
        return nil
    }
}
