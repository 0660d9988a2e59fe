import Testing
@testable import WarmsetAnalysis
@testable import WarmsetInput

/// The two-lane reader asks its source for bytes at 64-byte boundaries even after carrying a
/// partial line to the next buffer: the kernel copies into a destination 1–31 bytes past a
/// boundary five times slower (docs/benchmarks.md). The lines stay what a plain split gives.
@Suite("Input: reads land on 64-byte boundaries")
struct ReadAlignmentTests {
    /// A source that records where it was asked to write.
    final class RecordingSource: ByteSource {
        let inner: MemorySource
        var destinations: [Int] = []
        init(_ inner: MemorySource) { self.inner = inner }
        var path: String { inner.path }
        var compressedBytesConsumed: Int64 { inner.compressedBytesConsumed }
        var compressedSize: Int64? { inner.compressedSize }
        var isGzip: Bool { false }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
            destinations.append(Int(bitPattern: buffer.baseAddress))
            return try inner.read(into: buffer)
        }
    }

    @Test func readsAfterACarryAreAligned() {
        // Lines of 37…136 bytes: nearly every buffer ends inside one, at every offset mod 64.
        var text: [UInt8] = []
        for i in 0..<3000 { text += Array("/line/\(i)/".utf8) + Array(repeating: UInt8(ascii: "x"), count: 27 + (i * 7) % 100) + [0x0A] }
        let source = RecordingSource(MemorySource(text))
        let chunks = LineAlignedChunks(source, lanes: 2, chunkSize: 4096, buffersPerLane: 2)
        var lines: [[UInt8]] = []
        var lane: Int?
        while let work = chunks.next(releasing: lane) {
            lane = work.lane
            guard let chunk = work.chunk else { continue }
            _ = chunk.forEachLine(maxLineBytes: 4096, onOverlong: { _, _ in }) { line, _ in lines.append(Array(line)) }
        }
        #expect(lines == text.split(separator: 0x0A).map { Array($0) })
        #expect(source.destinations.count > 50)
        let misaligned = source.destinations.filter { $0 % 64 != 0 }
        #expect(misaligned.isEmpty, "\(misaligned.count) of \(source.destinations.count) reads not on a 64-byte boundary")
    }
}
