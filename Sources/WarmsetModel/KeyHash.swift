/// A 128-bit hash of a key: two 64-bit halves from two differently-keyed lanes.
///
/// Count-min rows take disjoint 32-bit lanes of it, so two keys share a counter in every
/// row only with probability about 1/wᵈ, not 1/w² as with `h1 + i·h2` row hashing.
@frozen
public struct Hash128: Hashable, Sendable {
    /// The low half: also the key table's probe hash.
    public var low: UInt64
    /// The high half.
    public var high: UInt64

    /// Creates a hash from its halves.
    @inlinable
    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }
}

/// A wyhash-style hash in pure Swift, seeded, stable across processes and platforms.
///
/// Swift's `Hasher` is seeded per process, so nothing saved or merged may use it.
///
/// It is on the per-line path of analysis (every key is hashed), in another module than its
/// callers: everything here is `@inlinable` so that the counters compile it into their loops,
/// as they did when it lived beside them; the constants are computed properties so that no
/// lazy-global check comes with them.
public enum KeyHash {
    @inlinable static var s0: UInt64 { 0xa076_1d64_78bd_642f }
    @inlinable static var s1: UInt64 { 0xe703_7ed1_a0b4_28db }
    @inlinable static var s2: UInt64 { 0x8ebc_6af0_9c88_c6e3 }
    @inlinable static var s3: UInt64 { 0x5899_65cc_7537_4cc3 }

    @inlinable @inline(__always)
    static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    @inlinable @inline(__always)
    static func r8(_ p: UnsafeRawPointer, _ at: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    @inlinable @inline(__always)
    static func r4(_ p: UnsafeRawPointer, _ at: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
    }

    /// Hashes `bytes` with `seed`.
    /// - Complexity: O(n), two multiplications per 16 bytes; no allocation.
    @inlinable @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> Hash128 {
        let n = bytes.count
        var a = seed ^ s0
        var b = seed ^ s3 ^ 0x9e37_79b9_7f4a_7c15
        var x: UInt64 = 0
        var y: UInt64 = 0
        if let p = bytes.baseAddress, n > 0 {
            if n <= 16 {
                if n >= 4 {
                    let shift = (n >> 3) << 2
                    x = (r4(p, 0) << 32) | r4(p, shift)
                    y = (r4(p, n - 4) << 32) | r4(p, n - 4 - shift)
                } else {
                    x = UInt64(p.load(fromByteOffset: 0, as: UInt8.self)) << 16
                        | UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self)) << 8
                        | UInt64(p.load(fromByteOffset: n - 1, as: UInt8.self))
                }
            } else {
                var at = 0
                var remaining = n
                while remaining > 16 {
                    let u = r8(p, at), v = r8(p, at + 8)
                    a = mum(u ^ s1, v ^ a)
                    b = mum(u ^ s2, v ^ b)
                    at += 16
                    remaining -= 16
                }
                x = r8(p, n - 16)
                y = r8(p, n - 8)
            }
        }
        let length = UInt64(truncatingIfNeeded: n)
        let la = mum(x ^ s1, y ^ a)
        let lb = mum(x ^ s2, y ^ b)
        let low = mum(la ^ s0 ^ length, lb ^ s1)
        let high = mum(lb ^ s3 ^ length, la ^ s2)
        return Hash128(low: low, high: high)
    }

    /// A 64-bit mix of a hash with a row number, for rows beyond the four lanes.
    @inlinable @inline(__always)
    package static func extraLane(_ h: Hash128, row: Int) -> UInt64 {
        mum(h.low ^ s2 ^ UInt64(row), h.high ^ s1)
    }
}
