/// Recovering a ranked key's rule captures from its representative path.
///
/// Captures are not kept per key while counting: the path a key was counted with gives them
/// back, as `build` on it (first match wins) finds the same rule.
extension KeyBuilder {
    /// The capture groups (1…n) of the rule that keys `path` (a normalized path and kept query,
    /// as `BuiltKey.path` gives it), or nil when it has no key or there are no rules. Unmatched
    /// optional groups are empty strings.
    /// - Complexity: `build`'s, plus the rule's match again; allocates (for ranked keys, not per line).
    public func captures(ofPath path: String) -> [String]? {
        guard !keysArePaths else { return nil }
        var bytes = Array(path.utf8)
        return bytes.withUnsafeMutableBytes { raw -> [String]? in
            switch build(target: UnsafeRawBufferPointer(raw), hasLogEscapes: false) {
            case .keyed(let built): return ruleSet.captures(built.path)
            case .skipped: return nil
            }
        }
    }

    /// Fills in the captures of each of `items` whose path (`path`) a rule keys (see
    /// `captures(ofPath:)`); leaves the others, and all of them without rules, as they are.
    /// - Complexity: `captures(ofPath:)` per item.
    @inlinable
    public func recoverCaptures<Item>(of items: inout [Item], path: KeyPath<Item, String>, captures: WritableKeyPath<Item, [String]>) {
        guard !keysArePaths else { return }
        for i in items.indices {
            if let found = self.captures(ofPath: items[i][keyPath: path]) { items[i][keyPath: captures] = found }
        }
    }
}
