import Foundation
import Testing
import WarmsetSketch

@Suite("Sketch file format")
struct SketchFileTests {
    static let parameters = SketchParameters(depth: 4, widthLog2: 10, seed: 42)

    static func sampleCounter(seed: UInt64) -> SketchCounter {
        let counter = SketchCounter(parameters: parameters, top: 20)
        ScaleSupport.feed(ScaleSupport.zipfStream(requests: 5_000, keys: 500, exponent: 1.0, seed: seed), to: counter)
        return counter
    }

    @Test("a saved sketch reads back equal, for integer and float counters")
    func roundTrip() throws {
        let counter = Self.sampleCounter(seed: 1)
        let snapshot = counter.snapshot()
        let bytes = SketchFile.encode(snapshot)
        #expect(bytes.prefix(8).elementsEqual(SketchFile.magic))
        let decoded = try SketchFile.decode(bytes, path: "a.sketch")
        #expect(decoded == snapshot)
        #expect(decoded.candidates.count == 40)
        #expect(decoded.requests == 5_000)

        let weighted = WeightedSketchCounter(parameters: Self.parameters, top: 5, weight: .bytes, halfLifeSeconds: 7200)
        for i in 0..<1_000 {
            let key = ScaleSupport.keyBytes(Int32(i % 37))
            key.withUnsafeBytes { weighted.add(key: $0, path: $0, bytes: 10, weight: Double(i % 7) + 0.5, time: 1_795_737_600 + Int64(i) * 60) }
        }
        let w = weighted.snapshot()
        let back = try SketchFile.decode(SketchFile.encode(w), path: "w.sketch")
        #expect(back == w)
        #expect(back.cellKind == .float64)
        #expect(back.halfLifeSeconds == 7200)
        #expect(back.landmark != nil && back.newest == 1_795_737_600 + 999 * 60)
    }

    @Test("a truncated sketch is detected at every length, naming the file and the byte")
    func truncated() throws {
        let bytes = SketchFile.encode(Self.sampleCounter(seed: 2).snapshot())
        // Every length in the header, then a sample through the body.
        var lengths = Array(1..<200)
        lengths += stride(from: 200, to: bytes.count, by: 997)
        lengths.append(bytes.count - 1)
        for length in lengths {
            let error = #expect(throws: SketchError.self) {
                try SketchFile.decode(Array(bytes.prefix(length)), path: "host1.sketch")
            }
            let text = error?.description ?? ""
            #expect(text.hasPrefix("host1.sketch: "), "length \(length): \(text)")
            if length >= 8 || length == 0 {
                #expect(text.contains("truncated at byte \(length)"), "length \(length): \(text)")
            }
        }
    }

    @Test("a flipped byte anywhere is detected, naming the section's byte range")
    func corrupted() throws {
        let bytes = SketchFile.encode(Self.sampleCounter(seed: 3).snapshot())
        let seed = UInt64(0xC0FFEE)
        var random = SeededRandomForTests(seed: seed)
        var positions = [8, 12, 14, 33, 72, 130, 128 + 4096, bytes.count - 100, bytes.count - 1]
        for _ in 0..<40 { positions.append(random.below(bytes.count)) }
        for position in positions {
            var damaged = bytes
            damaged[position] ^= 0x5A
            let error = #expect(throws: SketchError.self, "seed \(seed), byte \(position)") {
                try SketchFile.decode(damaged, path: "c.sketch")
            }
            #expect(error?.description.hasPrefix("c.sketch: ") == true)
            if case .checksumMismatch(_, let end)? = error?.kind, let start = error?.byteOffset {
                // The trailer is checksummed implicitly: a damaged stored sum fails its section.
                #expect((start <= position && position < end) || position >= bytes.count - 6 * 8, "byte \(position) not in \(start)..<\(end)")
            }
        }
    }

    @Test("a log file is not a sketch, and a future version is refused")
    func notSketch() throws {
        let log = Array("127.0.0.1 - - [27/Nov/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"\n".utf8)
        let error = #expect(throws: SketchError.self) { try SketchFile.decode(log, path: "access.log") }
        #expect(error?.description == "access.log: not a warmset sketch file (no magic number at byte 0)")
        var bytes = SketchFile.encode(Self.sampleCounter(seed: 4).snapshot())
        bytes[8] = 9
        let version = #expect(throws: SketchError.self) { try SketchFile.decode(bytes, path: "v.sketch") }
        #expect(version?.kind == .unsupportedVersion(9))
        #expect(version?.description.contains("byte 8") == true)
    }
}

/// xorshift for picking byte positions (the generator module's is used for streams).
struct SeededRandomForTests {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
