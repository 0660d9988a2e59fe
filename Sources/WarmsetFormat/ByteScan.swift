import CByteScan
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small byte-level helpers shared by the parsers.
public enum ByteScan {
    /// The first offset ≥ `from` where `needle` occurs in `haystack`, or nil.
    ///
    /// With `skipEscaped`, an occurrence preceded by an odd number of backslashes is skipped:
    /// `\"` inside a quoted field does not end it.
    /// - Complexity: O(n), with `memchr` for the first byte.
    @inline(__always)
    public static func find(
        _ needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer, from: Int, skipEscaped: Bool
    ) -> Int? {
        guard let base = haystack.baseAddress, let nBase = needle.baseAddress, needle.count > 0 else { return nil }
        let firstByte = nBase.load(as: UInt8.self)
        let first = Int32(firstByte)
        var at = from
        let last = haystack.count - needle.count
        while at <= last {
            guard let offset = firstOccurrence(of: firstByte, first, in: base, from: at, through: last) else { return nil }
            var equal = true
            var k = 1
            while k < needle.count {  // needles are short literals: a loop beats a memcmp call
                if haystack[offset + k] != needle[k] { equal = false; break }
                k += 1
            }
            if equal {
                if skipEscaped {
                    var backslashes = 0
                    var back = offset - 1
                    while back >= from && haystack[back] == 0x5C {
                        backslashes += 1
                        back -= 1
                    }
                    if backslashes & 1 == 1 {
                        at = offset + 1
                        continue
                    }
                }
                return offset
            }
            at = offset + 1
        }
        return nil
    }

    /// The first offset in `from...last` of `byte`, or nil. Most fields of a log line are short
    /// (an address, a status, a byte count, a request line of a few dozen bytes), and for them the
    /// call into `memchr` costs more than the scan: the first 64 bytes are looked at 16 at a time
    /// (SSE2, `warmset_find_byte`), the rest with `memchr`.
    /// - Parameter wide: the field's length varies by dozens of bytes (a request line): its first
    ///   64 bytes, when the line has them, are looked at in one step (`warmset_find_byte_in_64`).
    @inline(__always)
    static func firstOccurrence(of byte: UInt8, _ byte32: Int32, in base: UnsafeRawPointer, from: Int, through last: Int, wide: Bool = false) -> Int? {
        // Offsets stay below the line's length, so the arithmetic here cannot overflow (&+).
        if wide && last &- from >= 63 {
            let hit = warmset_find_byte_in_64(base.assumingMemoryBound(to: UInt8.self), from, byte)
            if hit >= 0 { return hit }
            if from &+ 64 > last { return nil }
            guard let found = memchr(base + (from &+ 64), byte32, last &- from &- 63) else { return nil }
            return UnsafeRawPointer(found) - base
        }
        let inlineEnd = Swift.min(last &+ 1, from &+ 64)
        let hit = warmset_find_byte(base.assumingMemoryBound(to: UInt8.self), from, inlineEnd, byte)
        if hit >= 0 { return hit }
        if inlineEnd > last { return nil }
        guard let found = memchr(base + inlineEnd, byte32, last - inlineEnd + 1) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// Parses a non-negative decimal integer; `-` (Apache's "none") is 0. Nil on junk or overflow.
    @inline(__always)
    public static func parseCount(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        if bytes.count == 1 && bytes[0] == 0x2D { return 0 }
        guard bytes.count > 0 && bytes.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            let digit = Int64(byte) &- 48
            guard digit >= 0 && digit <= 9 else { return nil }
            value = value &* 10 &+ digit  // Safe: at most 18 digits cannot overflow Int64.
        }
        return value
    }

    /// `parseCount` of the `n` bytes that end at offset `end` of `base`, where the 8 bytes before
    /// `end` may be read (`end >= 8` within one line): up to 8 digits in a few word operations
    /// (one load, a check that every byte is a digit, three multiplies) instead of a loop.
    @inline(__always)
    public static func parseCount(_ base: UnsafeRawPointer, endingAt end: Int, count n: Int) -> Int64? {
        guard n >= 1 && n <= 8 else { return parseCount(UnsafeRawBufferPointer(start: base + (end &- n), count: n)) }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: end &- 8, as: UInt64.self))
        // The value is the top n bytes (the first digit lowest of them); the bytes before it
        // become '0's, leading zeros of an 8-digit number.
        let before: UInt64 = n == 8 ? 0 : (1 << (8 &* UInt64(8 &- n))) &- 1
        let digits = (word & ~before) | (0x30 &* ones & before)
        let isDigits = ((digits & (0xF0 &* ones)) | (((digits &+ 0x06 &* ones) & (0xF0 &* ones)) >> 4)) == 0x33 &* ones
        guard isDigits else {
            if n == 1 && word >> 56 == 0x2D { return 0 }  // "-": none
            return nil
        }
        // Eight digits, the first in the lowest byte: pairs, then quads, then the whole.
        var v = digits &- 0x30 &* ones
        v = (v &* 10) &+ (v >> 8)
        v = (((v & 0x0000_00FF_0000_00FF) &* 0x000F_4240_0000_0064) &+ (((v >> 16) & 0x0000_00FF_0000_00FF) &* 0x0000_2710_0000_0001)) >> 32
        return Int64(v)
    }

    /// Parses a 3-digit status code, or returns -1.
    @inline(__always)
    public static func parseStatus(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard bytes.count == 3 else { return -1 }
        let a = Int(bytes[0]) &- 48, b = Int(bytes[1]) &- 48, c = Int(bytes[2]) &- 48
        guard (1...9).contains(a), (0...9).contains(b), (0...9).contains(c) else { return -1 }
        return a * 100 + b * 10 + c
    }

    /// Parses `123`, `0.123` or `-`; nil on junk.
    public static func parseDecimal(_ bytes: UnsafeRawBufferPointer) -> Double? {
        if bytes.count == 1 && bytes[0] == 0x2D { return 0 }
        var whole: Double = 0
        var scale: Double = 0
        var digits = 0
        for byte in bytes {
            if byte == 0x2E {
                guard scale == 0 else { return nil }
                scale = 1
                continue
            }
            guard byte >= 48 && byte <= 57 else { return nil }
            digits += 1
            whole = whole * 10 + Double(byte - 48)
            if scale > 0 { scale *= 10 }
        }
        guard digits > 0 && digits <= 30 else { return nil }
        return scale > 0 ? whole / scale : whole
    }
}
