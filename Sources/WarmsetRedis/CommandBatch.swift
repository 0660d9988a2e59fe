/// A pipeline's commands written straight into one reusable byte buffer as RESP (`*argc\r\n`,
/// then `$len\r\nbytes\r\n` per argument: lengths explicit, so a key or value is never parsed as
/// anything), with where each command ends and which batch item it belongs to. Building a
/// batch allocates nothing once the buffers have grown to the batch's size, which is what keeps
/// a warm run's per-key cost low; a subset of the commands (redirected ones) can be copied out
/// span by span.
struct CommandBatch {
    /// The RESP bytes of every command, back to back, in `storage[..<length]`; the bytes after
    /// `length` are room to write into (writes go through a pointer after one capacity check,
    /// not an `append` per byte).
    private var storage: [UInt8] = []
    private var length = 0
    /// The end offset in the wire bytes of each command.
    private(set) var ends: [Int] = []
    /// The batch item (key) each command belongs to, for routing and results.
    private(set) var owners: [Int] = []

    init() {}

    /// Commands in the batch.
    var count: Int { ends.count }
    var isEmpty: Bool { ends.isEmpty }

    /// The RESP bytes of every command, back to back.
    var wire: [UInt8] { Array(storage[..<length]) }

    /// Calls `body` with the RESP bytes of every command (valid only during the call).
    func withWire<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
    }

    /// Empties the batch, keeping its memory.
    mutating func removeAll() {
        length = 0
        ends.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
    }

    /// The bytes of command `i`.
    func span(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    /// Room for `count` more bytes, then `body` writes them at the pointer it is given.
    /// - Complexity: amortized O(`count`); the storage doubles when it is full.
    @inline(__always)
    private mutating func write(_ count: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        if length + count > storage.count {
            storage.append(contentsOf: repeatElement(0, count: max(length + count, 2 * storage.count, 4096) - storage.count))
        }
        let at = length
        storage.withUnsafeMutableBytes { body($0.baseAddress! + at) }  // Safe: at + count <= storage.count
        length += count
    }

    /// `*` or `$`, a decimal, CRLF: the header of a command or an argument.
    @inline(__always)
    private mutating func header(_ mark: UInt8, _ value: Int) {
        if value >= 0 && value < 100 {
            // Lengths and counts of a batch are nearly always one or two digits.
            let two = value >= 10
            write(two ? 5 : 4) { p in
                p.storeBytes(of: mark, as: UInt8.self)
                if two {
                    p.storeBytes(of: UInt8(ascii: "0") + UInt8(value / 10), toByteOffset: 1, as: UInt8.self)
                    p.storeBytes(of: UInt8(ascii: "0") + UInt8(value % 10), toByteOffset: 2, as: UInt8.self)
                } else {
                    p.storeBytes(of: UInt8(ascii: "0") + UInt8(value), toByteOffset: 1, as: UInt8.self)
                }
                p.storeBytes(of: 0x0D, toByteOffset: two ? 3 : 2, as: UInt8.self)
                p.storeBytes(of: 0x0A, toByteOffset: two ? 4 : 3, as: UInt8.self)
            }
            return
        }
        var digits = (UInt64(0), UInt64(0), UInt64(0))  // 24 bytes: room for any Int64
        let n = withUnsafeMutableBytes(of: &digits) { buffer in Self.decimal(Int64(value), into: buffer) }
        withUnsafeBytes(of: &digits) { raw in
            write(n + 3) { p in
                p.storeBytes(of: mark, as: UInt8.self)
                (p + 1).copyMemory(from: raw.baseAddress! + (24 - n), byteCount: n)
                p.storeBytes(of: 0x0D, toByteOffset: n + 1, as: UInt8.self)
                p.storeBytes(of: 0x0A, toByteOffset: n + 2, as: UInt8.self)
            }
        }
    }

    /// Starts a command of `arguments` arguments (the command word included).
    mutating func begin(_ arguments: Int) {
        header(UInt8(ascii: "*"), arguments)
    }

    /// One argument: bytes.
    mutating func argument(_ bytes: UnsafeRawBufferPointer) {
        header(UInt8(ascii: "$"), bytes.count)
        let n = bytes.count
        write(n + 2) { p in
            if let base = bytes.baseAddress, n > 0 { p.copyMemory(from: base, byteCount: n) }
            p.storeBytes(of: 0x0D, toByteOffset: n, as: UInt8.self)
            p.storeBytes(of: 0x0A, toByteOffset: n + 1, as: UInt8.self)
        }
    }

    /// One argument: a string's UTF-8 bytes (no copy for a native string).
    mutating func argument(_ text: String) {
        var text = text
        text.withUTF8 { argument(UnsafeRawBufferPointer($0)) }
    }

    /// One argument: bytes.
    mutating func argument(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { argument($0) }
    }

    /// One argument: a decimal integer.
    mutating func argument(_ value: Int64) {
        var digits = (UInt64(0), UInt64(0), UInt64(0))  // 24 bytes: room for any Int64
        let count = withUnsafeMutableBytes(of: &digits) { buffer in Self.decimal(value, into: buffer) }
        withUnsafeBytes(of: &digits) { argument(UnsafeRawBufferPointer(rebasing: $0[(24 - count)...])) }
    }

    /// Ends the command begun last, owned by batch item `owner`.
    mutating func end(owner: Int) {
        ends.append(length)
        owners.append(owner)
    }

    /// A whole command from arguments, owned by `owner`.
    mutating func append(_ arguments: [String], owner: Int) {
        begin(arguments.count)
        for argument in arguments { self.argument(argument) }
        end(owner: owner)
    }

    /// Command `i` of `other`, copied as is.
    mutating func append(command i: Int, of other: CommandBatch) {
        let range = other.span(i)
        other.withWire { wire in
            write(range.count) { p in p.copyMemory(from: wire.baseAddress! + range.lowerBound, byteCount: range.count) }
        }
        end(owner: other.owners[i])
    }

    /// Writes `value` in decimal at the end of `buffer` (24 bytes) and returns its length.
    private static func decimal(_ value: Int64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var n = value.magnitude
        var at = buffer.count
        repeat {
            at -= 1
            buffer[at] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
        } while n > 0
        if value < 0 {
            at -= 1
            buffer[at] = UInt8(ascii: "-")
        }
        return buffer.count - at
    }
}

extension CommandBatch {
    /// `SET key value [EX|PX amount] [NX]`, owned by batch item `owner`: the one write of a
    /// string that every warm path shares (the origin's values with `EX` seconds, copied ones
    /// with `PX` milliseconds).
    mutating func appendSet(key: String, value: UnsafeRawBufferPointer, expiry: (unit: [UInt8], amount: Int64)?, nx: Bool, owner: Int) {
        begin(3 + (expiry == nil ? 0 : 2) + (nx ? 1 : 0))
        argument(Word.set)
        argument(key)
        argument(value)
        if let expiry {
            argument(expiry.unit)
            argument(expiry.amount)
        }
        if nx { argument(Word.nx) }
        end(owner: owner)
    }
}

extension Array where Element == UInt8 {
    /// Appends raw bytes with one `memcpy` (`append(contentsOf:)` of a raw buffer goes byte
    /// by byte: a tenth of a copy-from run's CPU went there).
    mutating func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }
}

/// Command words, made once.
enum Word {
    static let exists = Array("EXISTS".utf8)
    static let set = Array("SET".utf8)
    static let ex = Array("EX".utf8)
    static let nx = Array("NX".utf8)
    static let dump = Array("DUMP".utf8)
    static let pttl = Array("PTTL".utf8)
    static let restore = Array("RESTORE".utf8)
    static let replace = Array("REPLACE".utf8)
    static let asking = Array("ASKING".utf8)
    static let px = Array("PX".utf8)
    static let mget = Array("MGET".utf8)
    static let mset = Array("MSET".utf8)
    static let msetnx = Array("MSETNX".utf8)
    static let multi = Array("MULTI".utf8)
    static let exec = Array("EXEC".utf8)
    static let info = Array("INFO".utf8)
    static let keyspace = Array("keyspace".utf8)
}
