import WarmsetModel
/// The sketch file format, version 1 (docs/sketch-format.md): a 128-byte header, the
/// count-min counters row by row, the candidate keys, and a trailer of 64-bit checksums
/// (header, each counter row, candidates). Everything is little-endian.
///
/// Pure byte conversion: reading and writing files is the analysis module's job.
public enum SketchFile {
    /// `\x89WSK\r\n\x1a\n`: a non-ASCII first byte (never a log line, never gzip's `1f 8b`),
    /// and CR LF / ^Z / LF to catch text-mode mangling, as PNG does.
    public static let magic: [UInt8] = [0x89, 0x57, 0x53, 0x4B, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The format version written.
    public static let version: UInt16 = 1
    /// The header's size.
    public static let headerBytes = 128
    /// The checksum seed (any fixed value; it is part of the format).
    static let checksumSeed: UInt64 = 0x5753_4b31_6368_6b73
    /// Marks an absent time.
    static let noTime = Int64.min

    /// True when `prefix` starts with the magic number.
    public static func hasMagic(_ prefix: UnsafeRawBufferPointer) -> Bool {
        prefix.count >= magic.count && zip(prefix.prefix(magic.count), magic).allSatisfy { $0 == $1 }
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        KeyHash.hash(bytes, seed: checksumSeed).low
    }

    /// The file's bytes.
    /// - Complexity: O(d·w + size of the candidates).
    public static func encode(_ s: SketchSnapshot) -> [UInt8] {
        let depth = s.parameters.depth
        let candidateBytes = s.candidates.reduce(0) { $0 + 24 + $1.key.count + $1.path.count }
        let length = headerBytes + s.cells.count + candidateBytes + (depth + 2) * 8
        var out = [UInt8](repeating: 0, count: headerBytes)
        out.reserveCapacity(length)
        out.withUnsafeMutableBytes { h in
            guard let p = h.baseAddress else { return }
            for (i, b) in magic.enumerated() { p.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
            p.storeBytes(of: version.littleEndian, toByteOffset: 8, as: UInt16.self)
            p.storeBytes(of: UInt16(headerBytes).littleEndian, toByteOffset: 10, as: UInt16.self)
            p.storeBytes(of: s.cellKind.rawValue, toByteOffset: 12, as: UInt8.self)
            p.storeBytes(of: s.weight.rawValue, toByteOffset: 13, as: UInt8.self)
            p.storeBytes(of: UInt8(depth), toByteOffset: 14, as: UInt8.self)
            p.storeBytes(of: UInt8(s.parameters.widthLog2), toByteOffset: 15, as: UInt8.self)
            p.storeBytes(of: UInt8(s.conservative ? 1 : 0), toByteOffset: 16, as: UInt8.self)
            p.storeBytes(of: s.parameters.seed.littleEndian, toByteOffset: 24, as: UInt64.self)
            p.storeBytes(of: UInt64(length).littleEndian, toByteOffset: 32, as: UInt64.self)
            p.storeBytes(of: s.halfLifeSeconds.littleEndian, toByteOffset: 40, as: Int64.self)
            p.storeBytes(of: (s.landmark ?? noTime).littleEndian, toByteOffset: 48, as: Int64.self)
            p.storeBytes(of: (s.oldest ?? noTime).littleEndian, toByteOffset: 56, as: Int64.self)
            p.storeBytes(of: (s.newest ?? noTime).littleEndian, toByteOffset: 64, as: Int64.self)
            p.storeBytes(of: s.total.bitPattern.littleEndian, toByteOffset: 72, as: UInt64.self)
            p.storeBytes(of: s.requests.littleEndian, toByteOffset: 80, as: UInt64.self)
            p.storeBytes(of: s.missBound.bitPattern.littleEndian, toByteOffset: 88, as: UInt64.self)
            p.storeBytes(of: UInt32(clamping: s.capacity).littleEndian, toByteOffset: 96, as: UInt32.self)
            p.storeBytes(of: UInt32(clamping: s.candidates.count).littleEndian, toByteOffset: 100, as: UInt32.self)
            p.storeBytes(of: UInt64(candidateBytes).littleEndian, toByteOffset: 104, as: UInt64.self)
        }
        out.append(contentsOf: s.cells)
        func appendLE<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        for c in s.candidates {
            appendLE(c.observed)
            appendLE(c.bytesSum)
            appendLE(UInt32(c.key.count))
            appendLE(UInt32(c.path.count))
            out.append(contentsOf: c.key)
            out.append(contentsOf: c.path)
        }
        var sums: [UInt64] = []
        out.withUnsafeBytes { all in
            for (start, end, _) in sections(depth: depth, rowBytes: s.cells.count / depth, candidateBytes: candidateBytes) {
                sums.append(checksum(UnsafeRawBufferPointer(rebasing: all[start..<end])))
            }
        }
        for sum in sums { appendLE(sum) }
        return out
    }

    /// The checksummed sections: header, each row, candidates.
    static func sections(depth: Int, rowBytes: Int, candidateBytes: Int) -> [(start: Int, end: Int, name: String)] {
        var result = [(0, headerBytes, "header")]
        for row in 0..<depth {
            let start = headerBytes + row * rowBytes
            result.append((start, start + rowBytes, "counter row \(row)"))
        }
        let start = headerBytes + depth * rowBytes
        result.append((start, start + candidateBytes, "candidate keys"))
        return result
    }

    /// Parses a sketch file.
    /// - Parameter path: the file's name, for errors.
    /// - Throws: `SketchError` naming the file and the byte: not a sketch, unsupported
    ///   version, truncated, trailing bytes, an impossible field, or a checksum mismatch.
    /// - Complexity: O(file size).
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(SketchError) -> SketchSnapshot {
        guard hasMagic(bytes), let p = bytes.baseAddress else {
            if bytes.count < magic.count && zip(bytes, magic).allSatisfy({ $0 == $1 }) && !bytes.isEmpty {
                throw SketchError(path: path, kind: .truncated(expected: headerBytes, actual: bytes.count))
            }
            throw SketchError(path: path, kind: .notASketch, byteOffset: 0)
        }
        guard bytes.count >= 12 else { throw SketchError(path: path, kind: .truncated(expected: headerBytes, actual: bytes.count)) }
        let version = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        guard version == Self.version else { throw SketchError(path: path, kind: .unsupportedVersion(version), byteOffset: 8) }
        guard bytes.count >= headerBytes else {
            throw SketchError(path: path, kind: .truncated(expected: headerBytes, actual: bytes.count))
        }
        func u8(_ at: Int) -> UInt8 { p.load(fromByteOffset: at, as: UInt8.self) }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        func i64(_ at: Int) -> Int64 { Int64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: Int64.self)) }
        func bad(_ at: Int, _ what: String) -> SketchError { SketchError(path: path, kind: .badField(what), byteOffset: at) }

        let declared = u64(32)
        guard declared <= UInt64(Int.max) else { throw bad(32, "the stated file length \(declared) is impossible") }
        let length = Int(declared)
        if bytes.count < length { throw SketchError(path: path, kind: .truncated(expected: length, actual: bytes.count)) }
        if bytes.count > length { throw SketchError(path: path, kind: .trailingBytes(expected: length, actual: bytes.count)) }
        guard Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 10, as: UInt16.self))) == headerBytes else {
            throw bad(10, "the header length is not \(headerBytes)")
        }
        let depth = Int(u8(14))
        guard (1...8).contains(depth) else { throw bad(14, "depth \(depth) is not between 1 and 8") }
        let trailer = length - (depth + 2) * 8
        guard trailer >= headerBytes else { throw bad(32, "the stated file length \(length) is too short for its header") }
        // The header's checksum first: every later field is trusted only once it matches.
        let headerSum = checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<headerBytes]))
        guard headerSum == u64(trailer) else {
            throw SketchError(path: path, kind: .checksumMismatch(section: "header", end: headerBytes), byteOffset: 0)
        }
        guard let cellKind = SketchCellKind(rawValue: u8(12)) else { throw bad(12, "unknown counter type \(u8(12))") }
        guard let weight = SketchWeight(rawValue: u8(13)) else { throw bad(13, "unknown weight \(u8(13))") }
        let widthLog2 = Int(u8(15))
        guard (4...30).contains(widthLog2) else { throw bad(15, "width 2^\(widthLog2) is not between 2^4 and 2^30") }
        let update = u8(16)
        guard update <= 1 else { throw bad(16, "unknown update rule \(update)") }
        let halfLife = i64(40)
        guard halfLife >= 0 else { throw bad(40, "negative half-life") }
        let candidateCount = Int(u32(100))
        let candidateBytes = u64(104)
        let parameters = SketchParameters(depth: depth, widthLog2: widthLog2, seed: u64(24))
        let rowBytes = parameters.width * cellKind.byteWidth
        guard UInt64(headerBytes + depth * rowBytes) + candidateBytes == UInt64(trailer) else {
            throw bad(104, "the section lengths do not add up to the file length")
        }
        for (index, section) in sections(depth: depth, rowBytes: rowBytes, candidateBytes: Int(candidateBytes)).enumerated().dropFirst() {
            let sum = checksum(UnsafeRawBufferPointer(rebasing: bytes[section.start..<section.end]))
            guard sum == u64(trailer + index * 8) else {
                throw SketchError(
                    path: path, kind: .checksumMismatch(section: section.name, end: section.end), byteOffset: section.start)
            }
        }
        let cellsStart = headerBytes
        let cellsEnd = headerBytes + depth * rowBytes
        var candidates: [SketchSnapshot.Candidate] = []
        candidates.reserveCapacity(min(candidateCount, 1 << 20))
        var at = cellsEnd
        for index in 0..<candidateCount {
            guard at + 24 <= trailer else { throw bad(at, "candidate \(index + 1) of \(candidateCount) runs past its section") }
            let keyLength = Int(u32(at + 16))
            let pathLength = Int(u32(at + 20))
            guard at + 24 + keyLength + pathLength <= trailer else {
                throw bad(at + 16, "candidate \(index + 1) of \(candidateCount) runs past its section")
            }
            candidates.append(SketchSnapshot.Candidate(
                key: Array(bytes[(at + 24)..<(at + 24 + keyLength)]),
                path: Array(bytes[(at + 24 + keyLength)..<(at + 24 + keyLength + pathLength)]),
                observed: u64(at), bytesSum: u64(at + 8)))
            at += 24 + keyLength + pathLength
        }
        guard at == trailer else { throw bad(at, "\(trailer - at) bytes left over after the last candidate") }
        func time(_ at: Int) -> Int64? { let t = i64(at); return t == noTime ? nil : t }
        return SketchSnapshot(
            parameters: parameters, cellKind: cellKind, conservative: update == 1, weight: weight, halfLifeSeconds: halfLife,
            landmark: time(48), oldest: time(56), newest: time(64), total: Double(bitPattern: u64(72)), requests: u64(80),
            missBound: Double(bitPattern: u64(88)), capacity: Int(u32(96)), cells: Array(bytes[cellsStart..<cellsEnd]),
            candidates: candidates)
    }

    /// Parses a sketch file held in an array.
    public static func decode(_ bytes: [UInt8], path: String) throws(SketchError) -> SketchSnapshot {
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(SketchError) in try decode(buffer, path: path) } }
        return try result.get()
    }
}
