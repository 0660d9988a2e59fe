import WarmsetModel

/// Gives each distinct key a small dense number, in the order keys are first seen: for a
/// consumer that keeps per-request records (`warmset backtest`) and wants 4 bytes a request
/// instead of the key.
///
/// Built on `KeyTable` (the exact counter's table, whose keys live in one arena), so that a
/// lookup with bytes from a line allocates nothing. Keys are never removed, so a number stays
/// valid for the interner's life.
public final class KeyInterner {
    private let table = KeyTable(expectedCount: 1 << 14)
    private let seed: UInt64

    /// An empty interner.
    public init(seed: UInt64 = SketchParameters.default.seed) {
        self.seed = seed
    }

    /// The number of `key`, given it when first seen (with `path` as its representative request).
    /// - Complexity: O(key length) expected; allocates only for a new key (amortized).
    @inline(__always)
    public func id(of key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) -> Int {
        let hash = KeyHash.hash(key, seed: seed)
        return table.find(hash, key: key) ?? table.insert(hash, key: key, path: path)
    }

    /// The number here of key number `id` of `other` (made with the same seed), given it with
    /// that key's path when new: how interners of parallel lanes are merged.
    /// - Complexity: O(key length) expected; the key is not hashed again.
    public func id(of id: Int, in other: KeyInterner) -> Int {
        precondition(other.seed == seed)
        let entry = other.table.entry(id)
        let key = other.table.key(of: entry)
        return table.find(entry.hash, key: key) ?? table.insert(entry.hash, key: key, path: other.table.path(of: entry))
    }

    /// Distinct keys seen.
    public var count: Int { table.count }

    /// Calls `body` with the bytes of key number `id` (below `count`), valid only inside it.
    public func withKey<R>(_ id: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(table.key(of: table.entry(id)))
    }

    /// Key number `id` (below `count`) as text.
    public func key(_ id: Int) -> String {
        withKey(id) { String(decoding: $0, as: UTF8.self) }
    }

    /// True when key `a` sorts before key `b` by their bytes (the tie-break of every ranking).
    public func keyPrecedes(_ a: Int, _ b: Int) -> Bool {
        KeyTable.precedes(table.key(of: table.entry(a)), table.key(of: table.entry(b)))
    }

    /// Bytes held.
    public var memoryBytes: Int { table.memoryBytes }
}
