/// Calls `body(i)` for each `i` in `0..<count`, in order, `prefetch(i)` having been called
/// `ahead` steps earlier (for the first `ahead` indexes, before the loop): a pass over many keys
/// whose random cache misses then overlap instead of stalling one at a time. Each index is
/// prefetched exactly once, before its `body`.
@inline(__always)
func withLookahead(count: Int, ahead: Int, prefetch: (Int) -> Void, _ body: (Int) -> Void) {
    for i in 0..<Swift.min(ahead, count) { prefetch(i) }
    for i in 0..<count {
        if i &+ ahead < count { prefetch(i &+ ahead) }
        body(i)
    }
}
