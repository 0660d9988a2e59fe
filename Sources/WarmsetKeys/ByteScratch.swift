#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CByteScan
import WarmsetFormat

/// A fixed-capacity byte buffer that is reused for every line.
///
/// Appending past the capacity fails instead of growing, so memory stays bounded and no
/// line allocates.
struct ByteScratch {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: max(capacity, 1))
    }

    func free() { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always) mutating func reset() { count = 0 }

    @inline(__always) mutating func append(_ byte: UInt8) -> Bool {
        guard count < capacity else { return false }
        base[count] = byte  // Safe: count < capacity checked above.
        count &+= 1  // count ≤ capacity always: no overflow to check
        return true
    }

    @inline(__always) mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= capacity &- count else { return false }  // 0 ≤ count ≤ capacity: no overflow
        if let source = bytes.baseAddress { warmset_copy(base + count, source, bytes.count) }  // no memmove call for short ones
        count &+= bytes.count
        return true
    }

    @inline(__always) mutating func appendPercentEncoded(_ byte: UInt8) -> Bool {
        append(0x25) && append(Hex.digit(byte >> 4)) && append(Hex.digit(byte & 0x0F))
    }
}

/// Comparing short byte strings.
enum ShortBytes {
    /// True when the `count` bytes at `a` and `b` are equal: 8 bytes at a time, the last word
    /// overlapping (targets and a rule's prefix are a few dozen bytes: cheaper than a call into
    /// `memcmp`).
    @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        guard count >= 8 else { return memcmp(a, b, count) == 0 }
        var i = 0
        // Safe: i + 8 <= count, and the last load ends at count.
        while i &+ 8 < count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i &+= 8
        }
        return a.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
    }
}
