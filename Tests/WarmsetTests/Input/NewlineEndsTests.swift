import CLineScan
import Testing
import WarmsetGenerator
@testable import WarmsetInput

/// The newline search behind the line framer (`warmset_newline_ends`), at every instruction set
/// this CPU has, and `LineFramer.forEachLine` over every start and end near the blocks' edges:
/// the readers' tests (LineFramerTests) run on the one level the CPU picks.
@Suite("Input: line ends found 64 bytes at a time")
struct NewlineEndsTests {
    /// Bytes with newlines at every density: runs of them, lines of 0 to 663 bytes (many blocks
    /// long), `\r\n`, and bytes that differ from `\n` in one bit (`\u{0B}`, `*`, 0x8A).
    static func bytes(seed: UInt64, count: Int) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        var out: [UInt8] = []
        while out.count < count {
            let length: Int
            switch random.below(8) {
            case 0: length = 0
            case 1: length = 64 + random.below(600)
            default: length = random.below(90)
            }
            for _ in 0..<length {
                let pick = random.below(20)
                out.append(pick == 0 ? 0x0B : pick == 1 ? 0x2A : pick == 2 ? 0x8A : pick == 3 ? 0x0D : UInt8(0x20 + random.below(95)))
            }
            out.append(0x0A)
        }
        return Array(out.prefix(count))
    }

    /// What `warmset_newline_ends` must give for p = text[from...], n bytes and room for `room`:
    /// whole blocks up to the window, stopping after a block that leaves room for fewer than 64.
    static func expectedEnds(_ text: [UInt8], from: Int, n: Int, room: Int) -> (ends: [UInt16], scanned: Int) {
        var ends: [UInt16] = []
        var at = 0
        let last = min(n, Int(WARMSET_NEWLINE_WINDOW))
        while at + 64 <= last && room - ends.count >= 64 {
            for k in at..<(at + 64) where text[from + k] == 0x0A { ends.append(UInt16(k)) }
            at += 64
        }
        return (ends, at)
    }

    @Test func everyLevelTheCPUHasFindsTheNewlines() {
        let levels = (0...1).filter { level in
            var probe = [UInt8](repeating: 0x0A, count: 64)
            var ends = [UInt16](repeating: 0, count: 128)
            var scanned = 0
            return probe.withUnsafeMutableBufferPointer { warmset_newline_ends_at(Int32(level), $0.baseAddress, 64, &ends, 128, &scanned) } == 64
        }
        #expect(levels.contains(0), "SSE2 (or bytes) is always there")
        #expect(levels.contains(Int(warmset_newline_level())), "the level in use is one the CPU has")
        let room = Int(WARMSET_NEWLINE_ROOM)
        // Sparse and dense newlines, and a text of nothing but newlines (the room runs out first).
        let texts = (1...4 as ClosedRange<UInt64>).map { Self.bytes(seed: $0, count: 4096 + 300) } + [[UInt8](repeating: 0x0A, count: 600)]
        for (t, text) in texts.enumerated() {
            for from in [0, 1, 7, 15, 16, 33, 63, 64, 65, 100] {
                for n in [0, 1, 63, 64, 65, 127, 128, 129, 500, 512, 4095, 4096, 4097, text.count - from] where from + n <= text.count {
                    let expected = Self.expectedEnds(text, from: from, n: n, room: room)
                    for level in levels {
                        // One slot past the room, which must stay as it was.
                        var ends = [UInt16](repeating: 0xBEEF, count: room + 1)
                        var scanned = -1
                        let found = text.withUnsafeBufferPointer { warmset_newline_ends_at(Int32(level), $0.baseAddress! + from, n, &ends, room, &scanned) }
                        #expect(Array(ends.prefix(max(found, 0))) == expected.ends && scanned == expected.scanned,
                                "level \(level), text \(t), from \(from), \(n) bytes: \(found) ends, \(scanned) scanned")
                        #expect(ends[room] == 0xBEEF, "level \(level) wrote past its room")
                    }
                    var ends = [UInt16](repeating: 0, count: room)
                    var scanned = -1
                    let found = text.withUnsafeBufferPointer { warmset_newline_ends($0.baseAddress! + from, n, &ends, room, &scanned) }
                    #expect(Array(ends.prefix(max(found, 0))) == expected.ends && scanned == expected.scanned, "the chosen level, text \(t), from \(from), \(n) bytes")
                }
            }
        }
    }

    /// `forEachLine` over `text[from..<to]` for starts and ends around the 64-byte blocks and the
    /// 4,096-byte windows: the lines a plain split of that range gives (the part after the last
    /// newline left unfinished, its offset returned).
    @Test func forEachLineSplitsEveryRangeAsAPlainSplitDoes() {
        let framer = LineFramer(maxLineBytes: 100)
        // Random lines, and lines of 0–2 bytes (over 64 ends in a block: the search stops for room
        // before its window ends, and the next call starts inside a line).
        var dense = SeededRandom(seed: 9)
        var texts: [(seed: UInt64, text: [UInt8])] = (5...8 as ClosedRange<UInt64>).map { ($0, Self.bytes(seed: $0, count: 9000)) }
        texts.append((9, (0..<9000).map { _ in dense.below(3) == 0 ? UInt8(0x61) : UInt8(0x0A) }))
        for (seed, text) in texts {
            let edges = [0, 1, 15, 16, 63, 64, 65, 127, 128, 511, 512, 513, 4095, 4096, 4097, 4160, 8191, 8192, 8999, 9000]
            for from in edges where from < text.count {
                for to in edges + [from + 63, from + 64, from + 65, from + 4096, from + 4160] where to >= from && to <= text.count {
                    var expected: [[UInt8]] = []
                    var expectedEnd = from
                    var overlong: [Int] = []
                    var start = from
                    for i in from..<to where text[i] == 0x0A {
                        var line = Array(text[start..<i])
                        if line.last == 0x0D { line.removeLast() }
                        if line.count > 100 { overlong.append(line.count) } else { expected.append(line) }
                        start = i + 1
                        expectedEnd = start
                    }
                    var lines: [[UInt8]] = []
                    var lengths: [Int] = []
                    let end = text.withUnsafeBytes { raw in
                        framer.forEachLine(in: raw.baseAddress!, from: from, to: to, onOverlong: { lengths.append($0) }) { lines.append(Array($0)) }
                    }
                    #expect(lines == expected && lengths == overlong, "seed \(seed), \(from)..<\(to)")
                    #expect(end == expectedEnd, "seed \(seed), \(from)..<\(to): the unfinished line's start")
                }
            }
        }
    }
}
