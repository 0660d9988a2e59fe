import Testing
import WarmsetGenerator
@testable import WarmsetInput

@Suite("Line reader")
struct LineReaderTests {
    /// Random text with empty lines, CR LF, long-ish lines and no final newline.
    static func randomText(seed: UInt64, lines: Int) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        var out: [UInt8] = []
        for i in 0..<lines {
            let length = random.below(10) == 0 ? 0 : random.below(random.below(20) == 0 ? 700 : 90)
            for _ in 0..<length { out.append(UInt8(0x21 + random.below(90))) }
            if random.below(7) == 0 { out.append(0x0D) }
            if i < lines - 1 || random.below(2) == 0 { out.append(0x0A) }
        }
        return out
    }

    @Test("every read size from 1 to 300 gives the reference lines")
    func everyChunkSize() throws {
        for seed: UInt64 in [1, 2, 3] {
            let text = Self.randomText(seed: seed, lines: 120)
            let expected = referenceLines(text)
            for readSize in 1...300 {
                let reader = LineReader(maxLineBytes: 4096, readSize: readSize)
                let got = try collectLines(reader, MemorySource(text, chunk: readSize))
                #expect(got.lines == expected, "seed \(seed), read size \(readSize)")
                #expect(got.overlong.isEmpty)
            }
        }
    }

    @Test("reads of uneven sizes (the source shorter than the request) still split correctly")
    func unevenSources() throws {
        let text = Self.randomText(seed: 9, lines: 300)
        let expected = referenceLines(text)
        for chunk in [1, 2, 3, 7, 64, 4095, 4096, 4097] {
            let reader = LineReader(maxLineBytes: 2048, readSize: 1000)
            #expect(try collectLines(reader, MemorySource(text, chunk: chunk)).lines == expected, "source chunk \(chunk)")
        }
    }

    @Test("lines over the limit are reported with their numbers and skipped, the rest delivered")
    func overlongLines() throws {
        var text: [UInt8] = Array("short\n".utf8)
        text += [UInt8](repeating: 0x61, count: 5000) + [0x0A]
        text += Array("after\n".utf8)
        text += [UInt8](repeating: 0x62, count: 3000)  // overlong and unterminated
        for readSize in [1, 17, 256, 1024, 8192] {
            let reader = LineReader(maxLineBytes: 1000, readSize: readSize)
            let got = try collectLines(reader, MemorySource(text, chunk: readSize))
            #expect(got.lines == [Array("short".utf8), Array("after".utf8)], "read size \(readSize)")
            #expect(got.overlong == [2, 4], "read size \(readSize)")
        }
    }

    @Test("empty input has no lines; a lone newline is one empty line")
    func edges() throws {
        let reader = LineReader(maxLineBytes: 100, readSize: 10)
        #expect(try collectLines(reader, MemorySource([])).lines.isEmpty)
        #expect(try collectLines(reader, MemorySource([0x0A])).lines == [[]])
        #expect(try collectLines(reader, MemorySource(Array("a\r\n\r\nb".utf8))).lines == [[0x61], [], [0x62]])
    }
}

@Suite("Decoding on a second thread")
struct PrefetchTests {
    @Test("lines read through the prefetch ring equal the reference, for several ring and chunk sizes")
    func ring() throws {
        let text = LineReaderTests.randomText(seed: 21, lines: 3000)
        let expected = referenceLines(text)
        for (chunk, count) in [(1, 2), (7, 2), (100, 3), (4096, 4), (1 << 20, 4)] {
            let chunks = PrefetchedChunks(MemorySource(text, chunk: chunk), chunkSize: chunk, count: count)
            var lines: [[UInt8]] = []
            try LineReader(maxLineBytes: 4096).forEachLine(of: chunks) { line, _ in lines.append(Array(line)) }
            #expect(lines == expected, "chunk \(chunk), ring \(count)")
            #expect(chunks.decodedBytes == Int64(text.count))
        }
    }

    /// A caller may hold on to each line until the next one arrives or `beforeReuse` is
    /// called (the analyzer keys lines one late): the held line's bytes are still intact then,
    /// whichever chunk or the carry buffer they are in, with the ring and reading directly;
    /// and the last line is let go of before `forEachLine` returns.
    @Test("a line held until the next one or beforeReuse keeps its bytes")
    func holdOneLine() throws {
        let random = LineReaderTests.randomText(seed: 33, lines: 2000)
        // Ending with a newline, and with a last line without one (delivered from the carry).
        let ended = random.last == 0x0A ? random : random + [0x0A]
        for (text, chunk, background) in [ended, ended + Array("tail".utf8)].flatMap({ text in
            [1, 7, 64, 100, 129, 4096].flatMap { chunk in [false, true].map { (text, chunk, $0) } }
        }) {
            let expected = referenceLines(text)
            let chunks: any ChunkSource = background
                ? PrefetchedChunks(MemorySource(text, chunk: chunk), chunkSize: chunk, count: 2)
                : DirectChunks(MemorySource(text, chunk: chunk), chunkSize: chunk)
            var lines: [[UInt8]] = []
            var held: UnsafeRawBufferPointer?
            var flushes = 0
            try LineReader(maxLineBytes: 4096).forEachLine(
                of: chunks,
                beforeReuse: {
                    flushes += 1
                    if let line = held { lines.append(Array(line)) }
                    held = nil
                }
            ) { line, _ in
                if let previous = held { lines.append(Array(previous)) }
                held = line
            }
            #expect(held == nil, "the last line is let go of before forEachLine returns")
            if let line = held { lines.append(Array(line)) }
            #expect(lines == expected, "chunk \(chunk), background \(background), \(text.last == 0x0A ? "" : "no ")final newline")
            #expect(flushes > 0)
        }
    }

    @Test("an error from the source arrives after the bytes before it; stopping early ends the producer")
    func errorsAndEarlyStop() throws {
        final class Failing: ByteSource {
            var sent = 0
            var path: String { "failing" }
            var compressedBytesConsumed: Int64 { Int64(sent) }
            var compressedSize: Int64? { nil }
            var isGzip: Bool { true }
            func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
                if sent >= 30 { throw InputError(path: path, kind: .gzipTruncated, byteOffset: 30) }
                for i in 0..<10 { buffer[i] = i == 9 ? 0x0A : 0x61 }
                sent += 10
                return 10
            }
        }
        var lines = 0
        do {
            try LineReader().forEachLine(of: PrefetchedChunks(Failing(), chunkSize: 64, count: 2)) { _, _ in lines += 1 }
            Issue.record("expected an error")
        } catch let error as InputError {
            #expect(error.kind == .gzipTruncated)
        }
        #expect(lines == 3)

        struct Stop: Error {}
        let text = LineReaderTests.randomText(seed: 5, lines: 5000)
        #expect(throws: Stop.self) {
            try LineReader().forEachLine(of: PrefetchedChunks(MemorySource(text, chunk: 100), chunkSize: 100, count: 2)) { _, number in
                if number == 10 { throw Stop() }
            }
        }
    }
}
