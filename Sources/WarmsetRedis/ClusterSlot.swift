/// Redis Cluster's key → hash slot mapping: CRC16 (XMODEM) of the key, or of its hash tag, mod
/// 16384.
public enum ClusterSlot {
    /// Slots in a Redis Cluster.
    public static let count = 16384

    /// The slot of `key`. If the key has a `{…}` with at least one byte between the first `{`
    /// and the next `}`, only those bytes are hashed (the hash tag rule).
    /// - Complexity: O(key length).
    public static func of(_ key: String) -> Int {
        var key = key
        return key.withUTF8 { of(UnsafeRawBufferPointer($0)) }
    }

    /// The slot of the key `bytes` (see `of(_:)`).
    public static func of(_ bytes: UnsafeRawBufferPointer) -> Int {
        var start = 0
        var end = bytes.count
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            start = open + 1
            end = close
        }
        return Int(crc16(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) & 0x3FFF)
    }

    /// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), as Redis computes it.
    static func crc16(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}
