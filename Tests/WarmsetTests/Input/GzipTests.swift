import Foundation
import Testing
@testable import WarmsetInput

@Suite("gzip input")
struct GzipTests {
    static func decode(_ path: String, _ inflater: Inflater, readAhead: Bool = false) throws(InputError) -> [UInt8] {
        let source = try InputOpener.open(path, inflater: inflater, readAhead: readAhead)
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 333, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    static let plain = (try? TestSupport.fixtureBytes("combined/escapes-and-queries.log")) ?? []

    @Test("a single member decodes to the original bytes", arguments: Inflater.allCases)
    func single(inflater: Inflater) throws {
        #expect(!Self.plain.isEmpty)
        #expect(try Self.decode(TestSupport.fixture("gzip/single.log.gz"), inflater) == Self.plain)
    }

    @Test("concatenated members are one stream", arguments: Inflater.allCases)
    func multiMember(inflater: Inflater) throws {
        #expect(try Self.decode(TestSupport.fixture("gzip/multi-member.log.gz"), inflater) == Self.plain)
    }

    @Test("zero padding after the last member is ignored", arguments: Inflater.allCases)
    func zeroPadding(inflater: Inflater) throws {
        #expect(try Self.decode(TestSupport.fixture("gzip/zero-padded.log.gz"), inflater) == Self.plain)
    }

    @Test("an empty gzip stream has no bytes; an empty file is plain and empty", arguments: Inflater.allCases)
    func empty(inflater: Inflater) throws {
        #expect(try Self.decode(TestSupport.fixture("gzip/empty.log.gz"), inflater).isEmpty)
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("empty.log").path
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        let source = try InputOpener.open(path)
        #expect(!source.isGzip)
        #expect(try Self.decode(path, inflater).isEmpty)
    }

    /// Reading the compressed file ahead on a thread of its own (after the first buffer) decodes
    /// exactly what reading it in place does, and meets every error at the same compressed byte:
    /// streams of several MB (the first buffer is 256 KiB), with a second member, zero padding,
    /// trailing garbage, a cut and a corrupt byte, all past the first buffer.
    @Test("read ahead or not, the same bytes and the same errors", arguments: Inflater.allCases)
    func readAheadDecodesTheSame(inflater: Inflater) throws {
        var rng = SplitMix(seed: 9)
        let (path, _) = try TestSupport.generatedFile("big.log", lines: 60_000) { i in
            "GET /item/\(rng.next() % 1_000_003) \(String(rng.next(), radix: 16)) \(String(rng.next(), radix: 36))"
        }
        func shell(_ command: String) throws {
            guard try TestSupport.shell(command) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
        try shell("head -n 30000 '\(path)' | gzip -c > '\(path).a.gz' && tail -n +30001 '\(path)' | gzip -c > '\(path).b.gz'")
        try shell("cat '\(path).a.gz' '\(path).b.gz' > '\(path).members.gz'")
        try shell("cat '\(path).members.gz' > '\(path).padded.gz' && head -c 5000 /dev/zero >> '\(path).padded.gz'")
        try shell("cat '\(path).members.gz' > '\(path).garbage.gz' && printf 'not gzip' >> '\(path).garbage.gz'")
        try shell("head -c 900000 '\(path).members.gz' > '\(path).cut.gz'")
        try shell("cp '\(path).members.gz' '\(path).corrupt.gz' && printf '\\377\\377\\377\\377\\377\\377\\377\\377' | dd of='\(path).corrupt.gz' bs=1 seek=700000 conv=notrunc 2>/dev/null")
        let size = try FileManager.default.attributesOfItem(atPath: path + ".members.gz")[.size] as? Int ?? 0
        #expect(size > 3 * InputOpener.stagingSize, "\(size) bytes compressed: past the first buffer")
        // The bytes decoded up to the end or the error, and the error.
        func outcome(_ file: String, readAhead: Bool) -> (bytes: Int, hash: Int, error: String?) {
            var out: [UInt8] = []
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 100_000, alignment: 1)
            defer { buffer.deallocate() }
            do {
                let source = try InputOpener.open(file, inflater: inflater, readAhead: readAhead)
                while true {
                    let n = try source.read(into: buffer)
                    if n == 0 { return (out.count, out.hashValue, nil) }
                    out += buffer[0..<n]
                }
            } catch {
                return (out.count, out.hashValue, "\(error.kind) at \(error.byteOffset.map(String.init) ?? "?")")
            }
        }
        for variant in ["members", "padded", "garbage", "cut", "corrupt"] {
            let file = "\(path).\(variant).gz"
            let inPlace = outcome(file, readAhead: false)
            let ahead = outcome(file, readAhead: true)
            #expect(ahead.bytes == inPlace.bytes && ahead.hash == inPlace.hash && ahead.error == inPlace.error, "\(variant): \(ahead) vs \(inPlace)")
            #expect((inPlace.error == nil) == (variant == "members" || variant == "padded"), "\(variant): \(inPlace)")
        }
    }

    @Test("a truncated stream names the file and the compressed byte", arguments: Inflater.allCases)
    func truncated(inflater: Inflater) throws {
        let path = TestSupport.fixture("gzip/truncated.log.gz")
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1
        do {
            _ = try Self.decode(path, inflater)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .gzipTruncated)
            #expect(error.byteOffset == Int64(size))
            #expect(error.description.contains("truncated.log.gz: gzip stream is truncated at compressed byte \(size)"))
        }
    }

    /// A stream cut short: the bytes decoded before the cut come back first, however large the
    /// read, and the error with the next read (a read that met the cut used to return nothing).
    @Test("a truncated stream gives its decoded bytes before the error", arguments: Inflater.allCases)
    func truncatedKeepsDecodedBytes(inflater: Inflater) throws {
        let (path, text) = try TestSupport.generatedFile("cut.log", lines: 40_000) { i in
            "GET /item/\(i * 7919 % 100_003) \(String(repeating: "y", count: i % 61))"
        }
        let source = try InputOpener.open(try TestSupport.truncatedGzip(of: path, keeping: 0.5), inflater: inflater)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 1)
        defer { buffer.deallocate() }
        let n = try source.read(into: buffer)
        #expect(n > text.count * 3 / 10 && n < text.count, "\(n) of \(text.count) bytes")
        #expect(Array(buffer[0..<n]) == Array(text[0..<n]))
        do {
            _ = try source.read(into: buffer)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .gzipTruncated)
        }
        #expect(try source.read(into: buffer) == 0, "after the error the stream has ended")
    }

    @Test("corrupt data is reported with zlib's message and an offset inside the file", arguments: Inflater.allCases)
    func corrupt(inflater: Inflater) throws {
        do {
            _ = try Self.decode(TestSupport.fixture("gzip/corrupt.log.gz"), inflater)
            Issue.record("expected an error")
        } catch {
            guard case .gzipCorrupt(let message) = error.kind else {
                Issue.record("wrong kind \(error.kind)")
                return
            }
            #expect(!message.isEmpty)
            #expect((error.byteOffset ?? -1) > 0 && (error.byteOffset ?? 0) <= 640)
            #expect(error.description.contains("corrupt.log.gz: gzip stream is corrupt at compressed byte"))
        }
    }

    @Test("bytes after a member that are not a member are trailing garbage", arguments: Inflater.allCases)
    func trailingGarbage(inflater: Inflater) throws {
        do {
            _ = try Self.decode(TestSupport.fixture("gzip/trailing-garbage.log.gz"), inflater)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .gzipTrailingGarbage)
            #expect(error.byteOffset == 640)
        }
    }

    @Test("input that is not gzip is read as it is, whatever its name", arguments: Inflater.allCases)
    func notGzip(inflater: Inflater) throws {
        let path = TestSupport.fixture("gzip/not-gzip.bin")
        #expect(try Self.decode(path, inflater) == (try TestSupport.fixtureBytes("gzip/not-gzip.bin")))
        #expect(!(try InputOpener.open(path)).isGzip)
        #expect(try InputOpener.open(TestSupport.fixture("gzip/single.log.gz")).isGzip)
    }

    @Test("gzip output agrees with the gzip tool on a generated log, member boundaries and all", arguments: Inflater.allCases)
    func crossCheckWithGzipTool(inflater: Inflater) throws {
        let (plainPath, text) = try TestSupport.generatedFile("gen.log", lines: 20_000) { i in "line \(i) \(String(repeating: "x", count: i % 97))" }
        #expect(try TestSupport.shell("gzip -c '\(plainPath)' > '\(plainPath).gz' && gzip -c '\(plainPath)' >> '\(plainPath).gz'") == 0)
        #expect(try Self.decode(plainPath + ".gz", inflater) == text + text)
    }

    @Test("an unreadable path is one sentence naming it")
    func cannotOpen() {
        do {
            _ = try InputOpener.open("/nonexistent/access.log")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent/access.log: cannot open: No such file or directory; check the path and its permissions")
        }
    }
}
