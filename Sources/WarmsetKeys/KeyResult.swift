/// What `KeyBuilder` made of a request target: its key, or why it has none.
///
/// A value holding views, not copies: the bytes live in the builder's buffers or its memo and
/// are valid until the builder's next `build` or `buildMemoized` call.
public enum KeyResult {
    /// The target has a key.
    case keyed(BuiltKey)
    /// Not counted, for this reason.
    case skipped(RequestFilter.Reason)

    /// Why the target has no key, or nil when it has one.
    @inline(__always)
    public var skipReason: RequestFilter.Reason? {
        switch self {
        case .keyed: return nil
        case .skipped(let reason): return reason
        }
    }
}

/// A request target's cache key and normalized request (path and kept query), as views into
/// the builder's buffers or memo (see `KeyResult`).
public struct BuiltKey {
    /// The cache key: the rule's template filled in, or the path when there are no rules.
    public let key: UnsafeRawBufferPointer
    /// The normalized path and kept query.
    public let path: UnsafeRawBufferPointer
    /// The memo slot whose entry answered `buildMemoized` (`KeyBuilder.memoEntry` reads the same
    /// key and path), or -1 when the key was built. For a caller that counts hits per slot.
    public let memoSlot: Int

    @inline(__always)
    init(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, memoSlot: Int = -1) {
        self.key = key
        self.path = path
        self.memoSlot = memoSlot
    }
}
