/// How long a warmed key lives: a base TTL spread by a deterministic per-key jitter, or none.
///
/// The jitter is chosen from a stable hash of the key (64-bit FNV-1a, not Swift's per-process
/// seeded `Hasher`), so a rerun gives every key the same TTL and expiries still spread out:
/// `ttl(key) = base + round((2u − 1) · jitter · base)` with `u = mix(fnv1a64(key)) / 2⁶⁴` in
/// [0, 1), never below 1 second. (`mix` is MurmurHash3's 64-bit finalizer: FNV-1a alone leaves
/// the high bits of keys that differ only at the end nearly equal, which bunched the TTLs.)
public struct TTLPolicy: Sendable, Equatable {
    /// The base TTL in seconds, or nil for keys that never expire (`--no-ttl`).
    public var seconds: Int?
    /// The spread as a fraction of the base, 0…1 (`--ttl-jitter 10%` is 0.1).
    public var jitter: Double

    /// A TTL of `seconds` spread by `jitter`.
    public init(seconds: Int?, jitter: Double = 0) {
        self.seconds = seconds
        self.jitter = jitter
    }

    /// No expiry.
    public static let none = TTLPolicy(seconds: nil)

    /// The TTL in seconds for `key`, or nil for no expiry.
    /// - Complexity: O(key length).
    public func ttl(forKey key: String) -> Int? {
        guard let base = seconds else { return nil }
        guard jitter > 0 else { return max(1, base) }
        let unit = Double(StableHash.mix(StableHash.fnv1a64(key)) >> 11) / Double(UInt64(1) << 53)  // [0, 1)
        let offset = ((2 * unit - 1) * jitter * Double(base)).rounded()
        return max(1, base + Int(offset))
    }

    /// Parses a jitter such as `10%` or `0.1`.
    /// - Throws: `WarmError` when it is not a share between 0 and 100%.
    public static func parseJitter(_ text: String) throws(WarmError) -> Double {
        let trimmed = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let value = Double(trimmed), value.isFinite else {
            throw WarmError("--ttl-jitter '\(text)'", "expected a share such as 10% or 0.1")
        }
        let share = text.hasSuffix("%") ? value / 100 : value
        guard share >= 0 && share <= 1 else {
            throw WarmError("--ttl-jitter '\(text)'", "must be between 0% and 100%")
        }
        return share
    }
}

/// A hash that is the same in every process and on every machine, for choices that reruns must
/// agree on.
public enum StableHash {
    /// 64-bit FNV-1a of the key's UTF-8 bytes.
    /// - Complexity: O(n).
    public static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// MurmurHash3's fmix64: spreads every input bit over every output bit.
    public static func mix(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
