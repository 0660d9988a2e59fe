import CByteScan

/// Telling, before the memo, some targets that no rule can key.
extension KeyBuilder {
    /// True when `build` would skip `target` for `.noRule` and that is quick to tell: no
    /// backslash (so no log escape to decode, or to fail decoding), a query that is not kept
    /// (or none), a path part already normal (so it is the subject the rules see, as it is)
    /// that starts with no rule's starting literal, and no excludes (which would be asked
    /// first). For the per-line loop, before the memo: a line that no rule can key then costs
    /// neither a memo slot nor the normalization's copy. False whenever unsure; then `build`
    /// decides.
    /// - Complexity: O(target length); no allocation.
    public func rejectsEarly(target: UnsafeRawBufferPointer, hasLogEscapes: Bool) -> Bool {
        guard canRejectEarly, let base = target.baseAddress, target.count > 0, base.load(as: UInt8.self) == 0x2F
        else { return false }
        // First the literals, which turn most keyed lines back at once. The path part is a
        // prefix of the target: a target that no rule may match has no such path part either.
        if ruleSet.mayMatch(target) { return false }
        // The path, up to the first `?` or `#`, must be normal: then it is the subject the rules see,
        // as it is (`PathNormalizer.normalize` copies it as it is only when it fits the path buffer).
        guard let pathEnd = PathNormalizer.normalPathEnd(target), pathEnd <= pathBuffer.capacity else { return false }
        if pathEnd < target.count {
            // A `?` starts a query, which the subject holds unless queries are dropped.
            if base.load(fromByteOffset: pathEnd, as: UInt8.self) == 0x3F && !query.dropsQuery { return false }
            // An escape after the path could still fail to decode (`.badRequest`). (A normal path
            // holds no backslash: nothing in it to decode.)
            if hasLogEscapes && warmset_find_byte(base.assumingMemoryBound(to: UInt8.self), pathEnd, target.count, 0x5C) >= 0 {
                return false
            }
        }
        return true
    }
}
