import CByteScan
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WarmsetFormat

/// Turns a request target's path into its normalized form, in reused buffers: the log's `\xHH`
/// escapes decoded, percent-encoding normalized (unreserved characters decoded, hex upper-cased,
/// bytes outside ASCII encoded), `.` and `..` segments resolved and repeated slashes merged (as
/// nginx does). A path holding a raw control byte or space has no normal form.
///
/// Owned by one `KeyBuilder`. A class: `KeyBuilder.build` then hands its two steps one reference
/// each, where a struct of this size would be copied to the stack for each call.
final class PathNormalizer {
    /// The target with the log's escapes decoded (when it holds any).
    private let decoded: ByteScratch
    /// Where each kept segment starts in the output, while dot segments are resolved.
    private let segmentStarts: UnsafeMutablePointer<Int>
    /// The longest normalized path: percent-encoding at most triples a byte.
    let pathCapacity: Int

    /// - Parameter maxTargetBytes: the longest target it will see (the longest line).
    init(maxTargetBytes: Int) {
        decoded = ByteScratch(capacity: maxTargetBytes)
        pathCapacity = 3 * maxTargetBytes + 4
        segmentStarts = .allocate(capacity: pathCapacity / 2 + 2)
    }

    deinit {
        decoded.free()
        segmentStarts.deallocate()
    }

    /// Decodes `\xHH`, `\"` and `\\`; returns the input itself when it holds no backslash, and nil
    /// when the decoded target is longer than `maxTargetBytes`. The answer is valid until the
    /// next call.
    /// - Complexity: O(input length); no allocation.
    func decodeLogEscapes(_ input: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var hasBackslash = false
        if let base = input.baseAddress, memchr(base, 0x5C, input.count) != nil { hasBackslash = true }
        if !hasBackslash { return input }
        // A local copy: its count lives in a register, and the answer carries it.
        var decoded = self.decoded
        decoded.reset()
        var i = 0
        while i < input.count {
            let b = input[i]
            if b == 0x5C && i + 1 < input.count {
                let e = input[i + 1]
                if e == 0x78 && i + 3 < input.count, let hi = Hex.value(input[i + 2]), let lo = Hex.value(input[i + 3]) {
                    guard decoded.append(hi << 4 | lo) else { return nil }
                    i += 4
                    continue
                }
                if e == 0x22 || e == 0x5C {
                    guard decoded.append(e) else { return nil }
                    i += 2
                    continue
                }
            }
            guard decoded.append(b) else { return nil }
            i += 1
        }
        return decoded.bytes
    }

    /// Where a (decoded) target's path ends and its query ends: the path at the first `?` or
    /// `#`, the query (after the `?`), if any, at the first `#` after it (a fragment is never
    /// sent). Without a query `queryStart == end`.
    /// - Complexity: O(target length).
    @inline(__always)
    static func split(_ target: UnsafeRawBufferPointer) -> (queryStart: Int, end: Int) {
        var queryStart = target.count
        var end = target.count
        if let base = target.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            let cut = warmset_find_either(base, 0, target.count, 0x3F, 0x23)
            if cut >= 0 {
                queryStart = cut
                if base[cut] == 0x23 {
                    end = cut
                } else if let h = memchr(base + cut, 0x23, target.count - cut) {
                    end = UnsafeRawPointer(h) - UnsafeRawPointer(base)
                }
            }
        }
        return (queryStart, end)
    }

    /// True for an absolute-form target (`http://host/path`): what proxy clients and open-proxy
    /// scanners send. Such requests are not counted: their host may not be this site's.
    static func isAbsoluteForm(_ s: UnsafeRawBufferPointer) -> Bool {
        guard s.count >= 7, s[0] | 0x20 == 0x68, s[1] | 0x20 == 0x74, s[2] | 0x20 == 0x74, s[3] | 0x20 == 0x70 else { return false }
        var at = 4
        if s[at] | 0x20 == 0x73 { at += 1 }
        return at + 2 < s.count && s[at] == 0x3A && s[at + 1] == 0x2F && s[at + 2] == 0x2F
    }

    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
            || b == 0x5F || b == 0x7E
    }

    /// Bytes that stay as they are in a normalized path or query (RFC 3986 `pchar` and `/?`).
    /// `{` and `}` are always encoded: raw in a key they would form a Redis Cluster hash tag,
    /// letting a URL pick the key's slot. Only a rule's template may place a hash tag.
    @inline(__always)
    static func isPlain(_ b: UInt8) -> Bool {
        if isUnreserved(b) { return true }
        switch b {
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D, 0x3A, 0x40, 0x2F, 0x3F, 0x5B, 0x5D:
            return true
        default:
            return false
        }
    }

    /// True when normalization leaves the path `raw` as it is: every byte `isPlain`, and no
    /// `/` followed by `/` or `.`. Checked 16 bytes at a time (`warmset_path_is_plain` holds the
    /// byte classes of `isPlain`; a test compares it with a byte loop).
    @inline(__always)
    static func isNormalPath(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard let base = raw.baseAddress else { return true }
        return warmset_path_is_plain(base.assumingMemoryBound(to: UInt8.self), raw.count) != 0
    }

    /// Where `target`'s path ends (its first `?` or `#`, or its end) when that path is normal
    /// (`isNormalPath`), or nil when it is not: the split and the check in one pass.
    @inline(__always)
    static func normalPathEnd(_ target: UnsafeRawBufferPointer) -> Int? {
        guard let base = target.baseAddress else { return 0 }
        let end = warmset_plain_path_end(base.assumingMemoryBound(to: UInt8.self), target.count)
        return end >= 0 ? end : nil
    }

    /// Appends one normalized byte sequence (percent-encoding fixed) to `out`: the path's and
    /// each query parameter's name and value.
    /// - Returns: why there is no normal form (`.forbiddenByte`, `.keyTooLong`), or nil.
    @inline(__always)
    static func appendNormalized(_ s: UnsafeRawBufferPointer, to out: inout ByteScratch) -> RequestFilter.Reason? {
        var i = 0
        while i < s.count {
            let b = s[i]
            if b == 0x25 {
                if i + 2 < s.count, let hi = Hex.value(s[i + 1]), let lo = Hex.value(s[i + 2]) {
                    let value = hi << 4 | lo
                    if isUnreserved(value) {
                        if !out.append(value) { return .keyTooLong }
                    } else if !out.appendPercentEncoded(value) {
                        return .keyTooLong
                    }
                    i += 3
                    continue
                }
                if !out.appendPercentEncoded(0x25) { return .keyTooLong }
            } else if b <= 0x20 || b == 0x7F {
                return .forbiddenByte
            } else if isPlain(b) {
                if !out.append(b) { return .keyTooLong }
            } else if !out.appendPercentEncoded(b) {
                return .keyTooLong
            }
            i += 1
        }
        return nil
    }

    /// Normalizes a path (starting with `/`) into `out`: percent-encoding, then dot segments and
    /// repeated slashes. `out` holds at least `pathCapacity` bytes.
    /// - Returns: why there is no normal form, or nil.
    /// - Complexity: O(path length); no allocation.
    func normalize(_ raw: UnsafeRawBufferPointer, into out: inout ByteScratch) -> RequestFilter.Reason? {
        // Fast path: most logged paths are already normal, and are copied as they are.
        if raw.count <= out.capacity && Self.isNormalPath(raw) {
            _ = out.append(raw)
            return nil
        }
        if let reason = Self.appendNormalized(raw, to: &out) { return reason }
        // Segments, in place: `write` never passes `read`.
        let p = out.base
        let n = out.count
        var depth = 0
        var write = 0
        var read = 0
        var endsWithSlash = false
        while read < n {
            // here p[read] == '/'
            var segEnd = read + 1
            while segEnd < n && p[segEnd] != 0x2F { segEnd += 1 }
            let length = segEnd - read - 1
            if length == 0 {
                endsWithSlash = segEnd == n
            } else if length == 1 && p[read + 1] == 0x2E {
                endsWithSlash = true
            } else if length == 2 && p[read + 1] == 0x2E && p[read + 2] == 0x2E {
                if depth > 0 {
                    depth -= 1
                    write = segmentStarts[depth]
                }
                endsWithSlash = true
            } else {
                // Safe: a path of n bytes has at most n/2 + 1 segments, the stack's capacity.
                segmentStarts[depth] = write
                depth += 1
                // Safe: write <= read, and the copy moves bytes backwards within the buffer.
                for k in 0..<(length + 1) { p[write + k] = p[read + k] }
                write += length + 1
                endsWithSlash = false
            }
            read = segEnd
        }
        if write == 0 || endsWithSlash {
            p[write] = 0x2F  // Safe: capacity is 3× the target plus 4.
            write += 1
        }
        out.count = write
        return nil
    }
}
