/// A pipeline's commands written straight into one reusable byte buffer as RESP (`*argc\r\n`,
/// then `$len\r\nbytes\r\n` per argument: lengths explicit, so a key or value is never parsed as
/// anything), with where each command ends and which batch item it belongs to. Building a
/// batch allocates nothing once the buffers have grown to the batch's size, which is what keeps
/// a warm run's per-key cost low; a subset of the commands (redirected ones) can be copied out
/// span by span.
struct CommandBatch {
    /// The RESP bytes of every command, back to back.
    private(set) var wire: [UInt8] = []
    /// The end offset in `wire` of each command.
    private(set) var ends: [Int] = []
    /// The batch item (key) each command belongs to, for routing and results.
    private(set) var owners: [Int] = []

    init() {}

    /// Commands in the batch.
    var count: Int { ends.count }
    var isEmpty: Bool { ends.isEmpty }

    /// Empties the batch, keeping its memory.
    mutating func removeAll() {
        wire.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
    }

    /// The bytes of command `i`.
    func span(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    /// Starts a command of `arguments` arguments (the command word included).
    mutating func begin(_ arguments: Int) {
        wire.append(UInt8(ascii: "*"))
        appendDecimal(Int64(arguments))
        wire.append(0x0D)
        wire.append(0x0A)
    }

    /// One argument: bytes.
    mutating func argument(_ bytes: UnsafeRawBufferPointer) {
        wire.append(UInt8(ascii: "$"))
        appendDecimal(Int64(bytes.count))
        wire.append(0x0D)
        wire.append(0x0A)
        wire.appendBytes(bytes)
        wire.append(0x0D)
        wire.append(0x0A)
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
        ends.append(wire.count)
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
        other.wire.withUnsafeBytes { wire.appendBytes(UnsafeRawBufferPointer(rebasing: $0[range])) }
        end(owner: other.owners[i])
    }

    private mutating func appendDecimal(_ value: Int64) {
        // Lengths and counts of a batch are nearly always one or two digits.
        if value >= 0 && value < 10 {
            wire.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        if value >= 10 && value < 100 {
            wire.append(UInt8(ascii: "0") + UInt8(value / 10))
            wire.append(UInt8(ascii: "0") + UInt8(value % 10))
            return
        }
        var digits = (UInt64(0), UInt64(0), UInt64(0))
        let count = withUnsafeMutableBytes(of: &digits) { buffer in Self.decimal(value, into: buffer) }
        withUnsafeBytes(of: &digits) { wire.appendBytes(UnsafeRawBufferPointer(rebasing: $0[(24 - count)...])) }
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
