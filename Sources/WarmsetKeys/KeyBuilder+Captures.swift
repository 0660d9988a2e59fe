/// Recovering a ranked key's rule captures from its representative path.
///
/// Captures are not kept per key while counting: the path a key was counted with gives them
/// back, as `build` on it (first match wins) finds the same rule.
extension KeyBuilder {
    /// The capture groups (1…n) of the rule that keys `path` (a normalized path and kept query,
    /// as `BuiltKey.path` gives it), or nil when it has no key or there are no rules. Unmatched
    /// optional groups are empty strings.
    /// - Complexity: the rules' matches on `path`; allocates (for ranked keys, not per line).
    public func captures(ofPath path: String) -> [String]? {
        guard !keysArePaths else { return nil }
        // `path` is what `build` made (normalized, query kept as the policy keeps it), and
        // building it again gives it back unchanged: the rules alone decide, one match.
        return Array(path.utf8).withUnsafeBytes { ruleSet.captures($0) }
    }
}
