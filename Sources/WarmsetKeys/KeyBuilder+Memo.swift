/// `build` answered from the memo of recent targets (`KeyMemo`).
extension KeyBuilder {
    /// How many slots the memo has: `BuiltKey.memoSlot` is below this.
    public static var memoSlotCount: Int { KeyMemo.slotCount }

    /// Maps the memo's pages now, from the thread about to build keys (`KeyMemo.populate`):
    /// called once by a parse lane before its first line.
    public func prepareMemo() { memo.populate() }

    /// The key and path held by memo slot `slot` (one that `BuiltKey.memoSlot` named, or that
    /// `memoObserver` is told of). Valid until the slot is given to another target.
    public func memoEntry(_ slot: Int) -> (key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        memo.entry(slot, keysArePaths: keysArePaths)
    }

    /// `build`, answered from the memo of recent targets when it holds `target` (see
    /// `KeyMemo`; not asked while it stands aside, `MemoDuty`): the same result. A hit's key
    /// and path are the memo slot's, and its `memoSlot` names the slot.
    /// - Parameter memoHash: `prefetchMemo`'s answer for this target, if the caller asked it.
    /// - Complexity: O(target length) on a hit; `build`'s cost plus a copy on a miss.
    public func buildMemoized(target: UnsafeRawBufferPointer, hasLogEscapes: Bool, memoHash: UInt64? = nil) -> KeyResult {
        guard memoDuty.asks(), let hash = memoHash ?? KeyMemo.hash(of: target, escapes: hasLogEscapes) else {
            return build(target: target, hasLogEscapes: hasLogEscapes)
        }
        let slot = KeyMemo.slot(hash)
        let hit = memo.holds(slot, target, hash: hash, escapes: hasLogEscapes)
        memoDuty.record(hit: hit)
        if hit {
            if let skipped = memo.header(slot).pointee.skipped { return .skipped(skipped) }
            let entry = memo.entry(slot, keysArePaths: keysArePaths)
            return .keyed(BuiltKey(key: entry.key, path: entry.path, memoSlot: slot))
        }
        let result = build(target: target, hasLogEscapes: hasLogEscapes)
        switch result {
        case .keyed(let built):
            memo.offer(
                slot, target, hash: hash, escapes: hasLogEscapes, skipped: nil, path: built.path,
                key: keysArePaths ? UnsafeRawBufferPointer(start: nil, count: 0) : built.key, willEvict: { memoObserver?.willEvict(memoSlot: $0) })
        case .skipped(let reason):
            memo.offer(
                slot, target, hash: hash, escapes: hasLogEscapes, skipped: reason, path: UnsafeRawBufferPointer(start: nil, count: 0),
                key: UnsafeRawBufferPointer(start: nil, count: 0), willEvict: { memoObserver?.willEvict(memoSlot: $0) })
        }
        return result
    }

    /// Starts loading the memo slot that `buildMemoized` will look `target` up in, and returns
    /// the memo's hash of it (pass it as `memoHash`); nil while the memo stands aside
    /// (`MemoDuty`) or for a target it cannot hold. For a caller that keys each line one line
    /// later: the memo is larger than a core's cache, and a lookup otherwise waits for this load.
    @inline(__always)
    public func prefetchMemo(target: UnsafeRawBufferPointer, hasLogEscapes: Bool) -> UInt64? {
        guard memoDuty.resting == 0, let hash = KeyMemo.hash(of: target, escapes: hasLogEscapes) else { return nil }
        memo.prefetch(hash)
        return hash
    }
}
