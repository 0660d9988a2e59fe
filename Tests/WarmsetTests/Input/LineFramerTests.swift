import Foundation
import Testing
import WarmsetFollow
import WarmsetGenerator
@testable import WarmsetInput

/// The one line framer, checked once for every reader that uses it (the serial reader, the
/// lanes' chunks, the follower) at every piece size from 1 up, against a plain split: CR LF, empty
/// lines, lines over the limit, a last line without a newline and lines spanning many reads
/// (the manner of swift-nio's line decoder tests).
@Suite("Input: one line framer, at every piece size")
struct LineFramerTests {
    /// What a reader reports for one line.
    enum Event: Equatable, CustomStringConvertible {
        case line([UInt8])
        case overlong(Int)

        var description: String {
            switch self {
            case .line(let bytes): "line(\(String(decoding: bytes, as: UTF8.self)))"
            case .overlong(let length): "overlong(\(length))"
            }
        }
    }

    /// The reference: split at `\n` (a final newline ends the last line, it does not start an
    /// empty one), drop one `\r` before it, and a line over `maxLineBytes` becomes its length.
    static func oracle(_ text: [UInt8], maxLineBytes: Int) -> [Event] {
        var pieces = text.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        if text.last == 0x0A || text.isEmpty { pieces.removeLast() }
        return pieces.map { piece in
            let line = piece.last == 0x0D ? Array(piece.dropLast()) : piece
            return line.count > maxLineBytes ? .overlong(line.count) : .line(line)
        }
    }

    /// Text with everything a framer gets wrong: empty lines, `\r\n`, a lone `\r` inside a line,
    /// lines just under, at and over the limit (with and without `\r`), lines many times the
    /// limit, and (with `finalNewline` false) a last line without a newline.
    static func text(seed: UInt64, lines: Int, maxLineBytes: Int, finalNewline: Bool) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        var out: [UInt8] = []
        for i in 0..<lines {
            let length: Int
            switch random.below(12) {
            case 0: length = 0
            case 1: length = maxLineBytes - 1 + random.below(3)  // at the limit, one side or the other
            case 2: length = maxLineBytes * (2 + random.below(6))  // spans many reads
            default: length = random.below(maxLineBytes / 2)
            }
            for _ in 0..<length { out.append(random.below(40) == 0 ? 0x0D : UInt8(0x21 + random.below(90))) }
            if random.below(4) == 0 { out.append(0x0D) }
            if i < lines - 1 || finalNewline { out.append(0x0A) }
        }
        return out
    }

    static let maxLineBytes = 40
    static let texts: [(String, [UInt8])] = [
        ("seed 1, final newline", text(seed: 1, lines: 60, maxLineBytes: maxLineBytes, finalNewline: true)),
        ("seed 2, no final newline", text(seed: 2, lines: 60, maxLineBytes: maxLineBytes, finalNewline: false)),
        ("an overlong last line without a newline", Array("a\r\n\r\n".utf8) + [UInt8](repeating: 0x62, count: 3 * maxLineBytes) + [0x0D]),
        ("only newlines", [0x0A, 0x0A, 0x0D, 0x0A]),
        ("empty", []),
    ]

    /// `LineReader` over the calling thread's reads (the serial analyze path), every read size.
    @Test func serialReader() throws {
        for (name, text) in Self.texts {
            let expected = Self.oracle(text, maxLineBytes: Self.maxLineBytes)
            for size in 1...(text.count + 1) {
                var events: [Event] = []
                var numbers: [Int] = []
                let count = try LineReader(maxLineBytes: Self.maxLineBytes, readSize: size).forEachLine(
                    of: MemorySource(text, chunk: size),
                    onOverlong: { number, length in
                        events.append(.overlong(length))
                        numbers.append(number)
                    }
                ) { line, number in
                    events.append(.line(Array(line)))
                    numbers.append(number)
                }
                #expect(events == expected, "\(name), read size \(size)")
                #expect(numbers == Array(1..<(expected.count + 1)) && count == expected.count, "\(name), read size \(size): line numbers")
            }
        }
    }

    /// `LineAlignedChunks` cutting buffers at line ends and `LineChunk.forEachLine` splitting them
    /// (the lanes' path), every chunk size from its minimum, one and two lanes. A line that does
    /// not fit a chunk is dropped there: the limit is set below the chunk size so that both
    /// report the same lines.
    @Test func laneChunks() throws {
        for (name, text) in Self.texts {
            // Every size up to several times the longest line kept, then the whole text in one.
            for chunkSize in Array(16...(4 * Self.maxLineBytes)) + [text.count + 1, text.count + 64] where chunkSize >= 16 {
                let limit = min(Self.maxLineBytes, chunkSize - 2)
                let expected = Self.oracle(text, maxLineBytes: limit)
                for lanes in [1, 2] {
                    let chunks = LineAlignedChunks(MemorySource(text, chunk: 7), lanes: lanes, chunkSize: chunkSize, buffersPerLane: 2)
                    var bySequence: [Int: [Event]] = [:]
                    var lane: Int?
                    while let work = chunks.next(releasing: lane) {
                        lane = work.lane
                        guard let chunk = work.chunk else { continue }
                        var events: [Event] = []
                        _ = chunk.forEachLine(maxLineBytes: limit, onOverlong: { _, length in events.append(.overlong(length)) }) { line, _ in
                            events.append(.line(Array(line)))
                        }
                        bySequence[chunk.sequence] = events
                    }
                    let events = bySequence.keys.sorted().flatMap { bySequence[$0] ?? [] }
                    #expect(events == expected, "\(name), chunk size \(chunkSize), \(lanes) lanes")
                }
            }
        }
    }

    /// `LogFollower` reading a file written a piece at a time, polled after every piece: lines
    /// arrive whole once their newline is written; the last line without one arrives when the
    /// file is rotated away and retired.
    @Test func follower() throws {
        let directory = try TestSupport.temporaryDirectory()
        for (index, (name, text)) in Self.texts.enumerated() {
            let expected = Self.oracle(text, maxLineBytes: Self.maxLineBytes)
            for size in Set([1, 2, 3, 5, 7, 13, 39, 40, 41, 42, 64, 100, 1000, text.count + 1]).sorted() {
                let path = directory.appendingPathComponent("framer-\(index)-\(size).log").path
                #expect(FileManager.default.createFile(atPath: path, contents: nil))
                let handle = try #require(FileHandle(forWritingAtPath: path))
                let follower = try LogFollower(paths: [path], maxLineBytes: Self.maxLineBytes, retireAfterIdlePolls: 1)
                var lines: [Event] = []
                var start = 0
                while start < text.count {
                    let end = min(start + size, text.count)
                    handle.write(Data(text[start..<end]))
                    start = end
                    try follower.poll { lines.append(.line(Array($0))) }
                }
                try handle.close()
                // Rotate it away: the old file is read to its end and retired, last line included.
                try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
                #expect(FileManager.default.createFile(atPath: path, contents: nil))
                for _ in 0..<3 { try follower.poll { lines.append(.line(Array($0))) } }
                let expectedLines = expected.filter { if case .line = $0 { true } else { false } }
                #expect(lines == expectedLines, "\(name), pieces of \(size)")
                #expect(follower.overlongLines == expected.count - expectedLines.count, "\(name), pieces of \(size): overlong")
            }
        }
    }

    /// The carry on its own: a line stitched from many pieces, one past its capacity skipped with
    /// its whole length, and `\r` left out of a length wherever the newline falls.
    @Test func carry() {
        let framer = LineFramer(maxLineBytes: 8)
        let carry = LineCarry(capacity: framer.carryCapacity)
        var events: [Event] = []
        let piece: [UInt8] = Array("abc".utf8)
        piece.withUnsafeBytes { carry.append($0.baseAddress!, count: 3) }
        piece.withUnsafeBytes { carry.append($0.baseAddress!, count: 3) }
        #expect(carry.keptBytes == 6 && !carry.isSkipping)
        Array("de\r".utf8).withUnsafeBytes {
            carry.complete(with: $0.baseAddress!, count: 3, framer: framer, onOverlong: { events.append(.overlong($0)) }) {
                events.append(.line(Array($0)))
            }
        }
        #expect(events == [.line(Array("abcabcde".utf8))] && carry.isEmpty)
        for _ in 0..<4 { piece.withUnsafeBytes { carry.append($0.baseAddress!, count: 3) } }
        #expect(carry.isSkipping && carry.pendingBytes == 12)
        Array("\r".utf8).withUnsafeBytes { carry.append($0.baseAddress!, count: 1) }
        carry.complete(with: UnsafeRawPointer(bitPattern: 1)!, count: 0, framer: framer, onOverlong: { events.append(.overlong($0)) }) { _ in }
        #expect(events.last == .overlong(12))
    }
}
