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
        count += 1
        return true
    }

    @inline(__always) mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= capacity - count else { return false }
        if let source = bytes.baseAddress, bytes.count > 0 {
            (base + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        }
        count += bytes.count
        return true
    }

    @inline(__always) mutating func appendPercentEncoded(_ byte: UInt8) -> Bool {
        append(0x25) && append(Hex.digit(byte >> 4)) && append(Hex.digit(byte & 0x0F))
    }
}

import WarmsetFormat
