import CMemcached
import WarmsetWarm

/// memcached's rules for keys (at most 250 bytes, no spaces or control bytes) and what to do
/// with a key that breaks them.
public enum MemcachedKey {
    /// The longest key memcached accepts, in bytes.
    public static let maxLength = 250

    /// What `--long-keys` does with a key over 250 bytes.
    public enum LongKeyPolicy: String, Sendable, CaseIterable {
        /// Skip the key: it fails with reason `key_too_long`.
        case skip
        /// Store it under the lowercase hex MD5 of its bytes (32 characters), as applications that
        /// hash over-long keys with MD5 do.
        case hash
    }

    /// The key to store `key` under, or the failure that skips it.
    /// - Complexity: O(key length).
    public static func storageKey(_ key: String, longKeys: LongKeyPolicy) -> Result<String, KeyFailure> {
        let bytes = Array(key.utf8)
        if bytes.isEmpty { return .failure(KeyFailure("key_invalid", "memcached keys may not be empty")) }
        if let bad = bytes.firstIndex(where: { $0 <= 0x20 || $0 == 0x7F }) {
            return .failure(KeyFailure("key_invalid", "byte \(bad) is a space or control byte (0x\(String(bytes[bad], radix: 16))), which memcached's text protocol cannot carry"))
        }
        if bytes.count > maxLength {
            switch longKeys {
            case .skip: return .failure(KeyFailure("key_too_long", "\(bytes.count) bytes, over memcached's \(maxLength); --long-keys hash stores it under its MD5 if the application does the same"))
            case .hash:
                do throws(MemcachedError) {
                    return .success(try md5Hex(bytes))
                } catch {
                    return .failure(KeyFailure("key_too_long", "\(bytes.count) bytes, over memcached's \(maxLength), and no MD5 to store it under: \(error)"))
                }
            }
        }
        return .success(key)
    }

    /// The lowercase hex MD5 of `bytes` (libhashkit's MD5).
    /// - Throws: `MemcachedError` when libhashkit cannot be loaded (`MemcachedLibrary`).
    public static func md5Hex(_ bytes: [UInt8]) throws(MemcachedError) -> String {
        let lib = try MemcachedLibrary.functions()
        var digest = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { out in
                // Safe: libhashkit writes exactly 16 bytes to `result`.
                lib.libhashkit_md5_signature(input.baseAddress, input.count, out.baseAddress)
            }
        }
        let hex = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] }, as: UTF8.self)
    }

    /// memcached's exptime for a TTL: 0 for none; up to 30 days, relative seconds; beyond that,
    /// memcached reads the number as a Unix time, so it becomes `now + ttl`.
    /// - Parameter now: the current Unix time in seconds.
    public static func exptime(ttl: Int?, now: Int) -> Int {
        guard let ttl, ttl > 0 else { return 0 }
        return ttl <= 2_592_000 ? ttl : now + ttl
    }
}
