/// `build` answered from the memo of recent targets (`KeyMemo`).
extension KeyBuilder {
    /// How many slots the memo has: `memoSlot` is below this.
    public static var memoSlotCount: Int { KeyMemo.slotCount }

    /// The key and path held by memo slot `slot` (one that `memoSlot` named, or that
    /// `memoObserver` is told of). Valid until the slot is given to another target.
    public func memoEntry(_ slot: Int) -> (key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        memo.entry(slot, keysArePaths: keysArePaths)
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
        guard let hash = memoHash ?? KeyMemo.hash(of: target, escapes: hasLogEscapes) else {
            return build(target: target, hasLogEscapes: hasLogEscapes)
        }
        let slot = KeyMemo.slot(hash)
        if memo.holds(slot, target, hash: hash, escapes: hasLogEscapes) {
            keyedByRule = false
            if let skipped = memo.header(slot).pointee.skipped { return .skipped(skipped) }
            if hitsInPlace {
                memoSlot = slot
            } else {
                // Safe: the counts were checked against the scratch capacities when the slot was filled.
                let entry = memo.entry(slot, keysArePaths: keysArePaths)
                pathBuffer.base.update(from: entry.path.baseAddress!.assumingMemoryBound(to: UInt8.self), count: entry.path.count)
                pathBuffer.count = entry.path.count
                if !keysArePaths {
                    keyBuffer.base.update(from: entry.key.baseAddress!.assumingMemoryBound(to: UInt8.self), count: entry.key.count)
                    keyBuffer.count = entry.key.count
                }
            }
            return .key
        }
        let outcome = build(target: target, hasLogEscapes: hasLogEscapes)
        switch outcome {
        case .key:
            memo.offer(
                slot, target, hash: hash, escapes: hasLogEscapes, skipped: nil, path: pathBuffer.bytes,
                key: keysArePaths ? UnsafeRawBufferPointer(start: nil, count: 0) : keyBuffer.bytes, observer: memoObserver)
        case .skipped(let reason):
            memo.offer(
                slot, target, hash: hash, escapes: hasLogEscapes, skipped: reason, path: UnsafeRawBufferPointer(start: nil, count: 0),
                key: UnsafeRawBufferPointer(start: nil, count: 0), observer: memoObserver)
        }
        return outcome
    }

    /// Starts loading the memo slot that `buildMemoized` will look `target` up in, and returns
    /// the memo's hash of it (pass it as `memoHash`). For a caller that keys each line one line
    /// later: the memo is larger than a core's cache, and a lookup otherwise waits for this load.
    @inline(__always)
    public func prefetchMemo(target: UnsafeRawBufferPointer, hasLogEscapes: Bool) -> UInt64? {
        guard let hash = KeyMemo.hash(of: target, escapes: hasLogEscapes) else { return nil }
        memo.prefetch(hash)
        return hash
    }
}
