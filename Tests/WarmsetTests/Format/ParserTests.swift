import Foundation
import Testing
import WarmsetGenerator
@testable import WarmsetFormat
@testable import WarmsetInput

@Suite("Log format parser")
struct ParserTests {
    /// Generated combined traffic plus the hand-written fixture (escapes, CR LF, junk lines).
    static func corpus() throws -> [UInt8] {
        var bytes: [UInt8] = []
        TrafficGenerator(lines: 400, keys: 50, zipf: 1.0, seed: 11).write { bytes += $0 }
        bytes += try TestSupport.fixtureBytes("combined/escapes-and-queries.log")
        bytes += Array("\n".utf8)
        bytes += try TestSupport.fixtureBytes("combined/escapes-and-queries.log")
        return bytes
    }

    @Test("combined: the compiled parser agrees with a regex reference at every read size 1…300")
    func combinedAgainstReference() throws {
        let text = try Self.corpus()
        let expected: [ParsedLine?] = referenceLines(text).map(ReferenceCombined.parse)
        #expect(expected.count > 400)
        #expect(expected.contains { $0 == nil }, "the corpus must hold malformed lines")
        let parser = LogFormatParser(format: try LogFormat("combined"))
        var fields = RequestFields()
        for readSize in 1...300 {
            let reader = LineReader(maxLineBytes: 8192, readSize: readSize)
            var got: [ParsedLine?] = []
            try reader.forEachLine(of: MemorySource(text, chunk: readSize)) { line, _ in
                got.append(parser.parse(line, into: &fields) == nil ? ParsedLine(fields) : nil)
            }
            #expect(got == expected, "read size \(readSize)")
            if got != expected { break }
        }
    }

    /// Expects `unrolled` and `general` to read `line` alike: the same malformation, or the same
    /// fields. Returns whether the line parsed.
    static func agree(_ unrolled: LogFormatParser, _ general: LogFormatParser, on line: [UInt8]) -> Bool {
        var a = RequestFields()
        var b = RequestFields()
        let (problemA, problemB) = line.withUnsafeBytes { raw in (unrolled.parse(raw, into: &a), general.parse(raw, into: &b)) }
        #expect(problemA == problemB, "\(String(decoding: line, as: UTF8.self))")
        guard problemA == nil else { return false }
        #expect(ParsedLine(a) == ParsedLine(b) && a.badRequestLine == b.badRequestLine, "\(String(decoding: line, as: UTF8.self))")
        return true
    }

    /// `combined` and `common` are read by the unrolled loop; it must agree with the general loop
    /// on every line, well formed or not: the corpus, each of its lines cut at every length, and
    /// each with one byte changed at every position (to a space, a quote, a backslash, a bracket,
    /// a digit or a letter), field by field and malformation by malformation.
    @Test("the unrolled loop for combined and common agrees with the general one", arguments: [
        ("combined", LogFormatParser.Shape.combined), ("common", .common),
        (#"$remote_addr $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer""#, .six),
        // combined's six terminators, but the line does not end with a lone `"`: not `.combined`.
        (#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" $connection"#, .six),
        (#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" -"#, .six),
    ])
    func unrolledAgreesWithTheGeneralLoop(format: String, shape: LogFormatParser.Shape) throws {
        let compiled = try LogFormat(format)
        let unrolled = LogFormatParser(format: compiled)
        let general = LogFormatParser(format: compiled, unrolled: false)
        // combined's and common's terminators as constants, another format's loaded; the general loop.
        #expect(unrolled.shape == shape && general.shape == .general)
        var lines: [[UInt8]] = try Self.corpus().split(separator: 0x0A, omittingEmptySubsequences: false).prefix(120).map(Array.init)
        let base = lines
        for line in base.prefix(40) {
            for cut in 0..<line.count { lines.append(Array(line[..<cut])) }
            for position in 0..<line.count {
                for byte in [UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]"), UInt8(ascii: "7"), UInt8(ascii: "x")] {
                    var changed = line
                    changed[position] = byte
                    lines.append(changed)
                }
            }
        }
        var malformed = 0
        for line in lines where !Self.agree(unrolled, general, on: line) { malformed += 1 }
        #expect(malformed > 1000, "the mutations reach the malformed paths (\(malformed) of \(lines.count) lines)")
    }

    /// The request line's closing quote is looked for in the 64 bytes after its opening one in one
    /// step when the line has them (`ByteScan.firstOccurrence(…wide:)`), and further on with
    /// `memchr`: targets of every length from 1 to 150 bytes, plain and with an escaped quote, and
    /// each line cut short, read as the general loop reads them.
    @Test("request lines of every length around 64 bytes agree with the general loop")
    func requestLinesAroundTheWideStep() throws {
        let compiled = try LogFormat("combined")
        let unrolled = LogFormatParser(format: compiled)
        let general = LogFormatParser(format: compiled, unrolled: false)
        var lines: [[UInt8]] = []
        for length in 1...150 {
            let target = "/" + String(repeating: "a", count: length - 1)
            var escaped = Array(target.utf8)
            if length > 3 { escaped.replaceSubrange((length / 2)..<(length / 2 + 2), with: Array(#"""#.utf8)) }
            for path in [Array(target.utf8), escaped] {
                let line = Array(#"1.2.3.4 - - [27/Nov/2026:00:00:00 +0000] "GET "#.utf8) + path
                    + Array(#" HTTP/1.1" 200 5 "-" "agent""#.utf8)
                lines.append(line)
                for cut in stride(from: 40, to: line.count, by: 3) { lines.append(Array(line[..<cut])) }
            }
        }
        var targets = 0
        for line in lines where Self.agree(unrolled, general, on: line) { targets += 1 }
        #expect(targets >= 300, "whole lines parse (\(targets))")
    }

    /// The unrolled loop checks `-`, a 26-byte `$time_local` and a 3-digit status where they
    /// usually end; a field holding its own terminator before that point ends there, as in the
    /// general loop. The single-byte mutations above cannot build such a line (`] "` is 3 bytes).
    @Test("a field that holds its terminator before its usual length ends there", arguments: ["combined", "common"])
    func terminatorBeforeTheUsualLength(format: String) throws {
        let compiled = try LogFormat(format)
        let unrolled = LogFormatParser(format: compiled)
        let general = LogFormatParser(format: compiled, unrolled: false)
        let tail = format == "combined" ? #" "r" "u""# : ""
        let early = #"ab] "GET /x HTTP/1.1" 200 "#  // 26 bytes: `] "` at 2 and at 26
        #expect(early.utf8.count == 26)
        let lines = [
            #"1.2.3.4 - - ["# + early + #"] "GET /y HTTP/1.1" 404 7"# + tail,
            #"1.2.3.4 - - [ab] "GET /x HTTP/1.1" 200 5"# + tail,
            #"1.2.3.4 - - [27/Nov/2026:00:00:00 +0000] "GET /z HTTP/1.1" 2 0 7"# + tail,
            #"1.2.3.4 -  [27/Nov/2026:00:00:00 +0000] "GET /z HTTP/1.1" 200 7"# + tail,
        ]
        var answers: [String] = []
        for line in lines {
            var a = RequestFields()
            var b = RequestFields()
            var bytes = Array(line.utf8)
            let (problemA, problemB) = bytes.withUnsafeMutableBytes { raw in
                (unrolled.parse(UnsafeRawBufferPointer(raw), into: &a), general.parse(UnsafeRawBufferPointer(raw), into: &b))
            }
            #expect(problemA == problemB, "\(line)")
            if problemA == nil { #expect(ParsedLine(a) == ParsedLine(b), "\(line)") }
            answers.append(problemA.map { "\($0.reason)" } ?? String(decoding: a.target ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self))
        }
        // The first line's time is `ab`; its byte count is then `]`.
        #expect(answers == ["badBytes", "/x", "badStatus", "/z"])
    }

    /// The byte count read a word at a time gives what the digit loop gives: every length
    /// from 0 to 12, digits, `-`, and one byte of every other value at every position.
    @Test("byte counts read a word at a time agree with the digit loop")
    func wordCount() {
        var rng = SplitMix(seed: 9)
        var values: [[UInt8]] = [[], Array("-".utf8), Array("--".utf8), Array("0".utf8), Array("99999999".utf8), Array("123456789".utf8)]
        for length in 1...12 {
            for _ in 0..<200 { values.append((0..<length).map { _ in UInt8(ascii: "0") + UInt8(rng.next() % 10) }) }
            for position in 0..<length {
                for byte in [0, 0x2D, 0x2F, 0x3A, 0x20, 0x39 + 0x80, 0xB0, 0xFF] as [UInt8] {
                    var value = (0..<length).map { _ in UInt8(ascii: "0") + UInt8(rng.next() % 10) }
                    value[position] = byte
                    values.append(value)
                }
            }
        }
        for value in values {
            // What comes before the value in a line: anything (here: digits and junk).
            let line = Array("9x9x9x9x9".utf8) + value
            let want = value.withUnsafeBytes { ByteScan.parseCount($0) }
            let got = line.withUnsafeBytes { ByteScan.parseCount($0.baseAddress!, endingAt: line.count, count: value.count) }
            #expect(got == want, "\(value)")
        }
    }

    /// The field scan (16 bytes at a time, then a word, then bytes, then memchr past 64 bytes)
    /// finds what a plain loop finds, for every start, end and position of the byte.
    @Test("the byte scan agrees with a plain loop at every start, end and position")
    func byteScan() {
        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 160)
        for position in [-1, 0, 1, 7, 8, 15, 16, 17, 31, 63, 64, 65, 100, 159] {
            if position >= 0 { bytes[position] = UInt8(ascii: "\"") }
            bytes.withUnsafeBytes { raw in
                for from in [0, 1, 3, 8, 15, 16, 17, 40, 63, 64, 65, 99, 158, 159] {
                    for last in [from, from + 1, from + 7, from + 8, from + 15, from + 16, from + 63, from + 64, from + 80, 159] where last < 160 {
                        let want = (from...last).first { raw[$0] == UInt8(ascii: "\"") }
                        let got = ByteScan.firstOccurrence(of: UInt8(ascii: "\""), Int32(UInt8(ascii: "\"")), in: raw.baseAddress!, from: from, through: last)
                        #expect(got == want, "byte at \(position), from \(from) through \(last)")
                    }
                }
            }
            if position >= 0 { bytes[position] = UInt8(ascii: "a") }
        }
    }

    /// The request line's split, with its fast path for ` HTTP/1.1`, `1.0` and `2.0`, agrees with
    /// the reference's split on spaces for every protocol, spacing and length around that path.
    @Test("request lines split as the reference does", arguments: [
        "GET /a HTTP/1.1", "GET /a HTTP/1.0", "GET /a HTTP/2.0", "GET /a HTTP/3", "GET /a HTTP/1.1 ", "GET /a", "GET  HTTP/1.1",
        "GET HTTP/1.1", "GET /x y HTTP/1.1", "GET / HTTP/1.1", "GET /ab HTTP/1.1", "POST /products/123?x=1 HTTP/2.0",
        "GET /a HTTP/1.2", "GET /a XTTP/1.1", "GET /aHTTP/1.1", "G /a HTTP/1.1", "GET", "", " /a HTTP/1.1", "GET /a  HTTP/1.1",
    ])
    func requestLineSplit(request: String) {
        var fields = RequestFields()
        var bytes = Array(request.utf8)
        bytes.withUnsafeMutableBytes { RequestLine.split(UnsafeRawBufferPointer($0), into: &fields) }
        let got = ParsedLine(fields)
        // The reference: method, then the rest without a last word starting with HTTP/.
        let parts = request.split(separator: " ", omittingEmptySubsequences: false)
        var method: String?
        var target: String?
        if parts.count >= 2, !parts[0].isEmpty {
            var rest = Array(parts.dropFirst())
            if rest.count >= 2, rest[rest.count - 1].hasPrefix("HTTP/") { rest.removeLast() }
            let joined = rest.joined(separator: " ")
            if !joined.isEmpty {
                method = String(parts[0])
                target = joined
            }
        }
        #expect(got.target == target, "'\(request)'")
        if target != nil { #expect(got.method == method, "'\(request)'") }
    }

    @Test("an escaped quote inside a quoted field does not end it")
    func escapedQuote() throws {
        let parser = LogFormatParser(format: try LogFormat("combined"))
        var fields = RequestFields()
        let line = #"1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] "GET /a\"b HTTP/1.1" 200 5 "-" "agent \"x\" \\""#
        var bytes = Array(line.utf8)
        let problem = bytes.withUnsafeMutableBytes { parser.parse(UnsafeRawBufferPointer($0), into: &fields) }
        #expect(problem == nil)
        #expect(ParsedLine(fields).target == #"/a\"b"#)
        #expect(fields.status == 200)
    }

    @Test("common format, '-' as byte count")
    func common() throws {
        let parser = LogFormatParser(format: try LogFormat("common"))
        var results: [ParsedLine] = []
        var fields = RequestFields()
        try LineReader().forEachLine(of: try InputOpener.open(TestSupport.fixture("common/basic.log"))) { line, _ in
            #expect(parser.parse(line, into: &fields) == nil)
            results.append(ParsedLine(fields))
        }
        #expect(results.count == 6)
        #expect(results[1] == ParsedLine(method: "GET", target: "/index.html", status: 200, bytes: 0, time: "10/Oct/2000:13:55:37 -0700"))
        #expect(results[5].method == "POST")
    }

    @Test("a custom log_format with $host, $time_iso8601, $request_method/$request_uri and $request_time")
    func custom() throws {
        let formatText = try String(contentsOfFile: TestSupport.fixture("custom/format.txt"), encoding: .utf8)
            .trimmingCharacters(in: .newlines)
        let format = try LogFormat(formatText)
        #expect(format.fields.isSuperset(of: [.host, .timeISO8601, .method, .requestURI, .requestTime, .status, .bytes]))
        let parser = LogFormatParser(format: format)
        var fields = RequestFields()
        var hosts: [String] = []
        var seconds: [Double] = []
        var times: [Int64] = []
        try LineReader().forEachLine(of: try InputOpener.open(TestSupport.fixture("custom/access.log"))) { line, number in
            #expect(parser.parse(line, into: &fields) == nil, "line \(number)")
            hosts.append(String(decoding: fields.host!, as: UTF8.self))
            seconds.append(fields.requestSeconds ?? -1)
            times.append(fields.epochSeconds ?? -1)
            if number == 1 { #expect(ParsedLine(fields).target == "/products/7?ref=home") }
        }
        #expect(hosts == ["shop.example.com", "shop.example.com", "api.example.com", "shop.example.com", "shop.example.com", "SHOP.example.com"])
        #expect(seconds[2] == 0.2)
        #expect(times[0] == LogTime.epoch(2026, 11, 27, 8, 0, 0))
    }

    @Test("$uri$is_args$args reads as the request target; ${var} braces work")
    func adjacentTarget() throws {
        let format = try LogFormat(#"${remote_addr} "$uri$is_args$args" $status"#)
        let parser = LogFormatParser(format: format)
        var fields = RequestFields()
        var line = Array(#"1.2.3.4 "/x?y=1" 200"#.utf8)
        #expect(line.withUnsafeMutableBytes { parser.parse(UnsafeRawBufferPointer($0), into: &fields) } == nil)
        #expect(ParsedLine(fields).target == "/x?y=1")
    }

    @Test("compile errors are one sentence naming the problem", arguments: [
        ("$remote_addr $staus $request", "unknown variable $staus"),
        ("$remote_addr $status$body_bytes_sent $request", "cannot tell where $status ends"),
        ("$remote_addr $status", "no $request, $request_uri or $uri"),
        ("", "the log format is empty"),
        ("$remote_addr ${request", "is not closed"),
    ])
    func compileErrors(format: String, expected: String) {
        do {
            _ = try LogFormat(format)
            Issue.record("expected an error for \(format)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test("lines that do not match say where")
    func malformed() throws {
        let parser = LogFormatParser(format: try LogFormat("combined"))
        var fields = RequestFields()
        func check(_ text: String) -> Malformation? {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBytes { parser.parse(UnsafeRawBufferPointer($0), into: &fields) }
        }
        #expect(check("garbage")?.reason == .truncated)
        #expect(check(#"1.2.3.4 - - [x] "GET / HTTP/1.1" 2000 5 "-" "-""#)?.reason == .badStatus)
        #expect(check(#"1.2.3.4 - - [x] "GET / HTTP/1.1" 200 5x "-" "-""#)?.reason == .badBytes)
        #expect(check(#"1.2.3.4 - - [x] 'GET / HTTP/1.1' 200 5 "-" "-""#)?.reason == .truncated)
        let quoted = LogFormatParser(format: try LogFormat(#""$request" $status"#))
        var line = Array("GET / HTTP/1.1 200".utf8)
        let problem = line.withUnsafeMutableBytes { quoted.parse(UnsafeRawBufferPointer($0), into: &fields) }
        #expect(problem == Malformation(.literalMismatch, at: 0))
    }

    @Test("time syntaxes")
    func times() {
        func local(_ s: String) -> Int64? { var b = Array(s.utf8); return b.withUnsafeMutableBytes { LogTime.parseTimeLocal(UnsafeRawBufferPointer($0)) } }
        #expect(local("10/Oct/2000:13:55:36 -0700") == 971_211_336)
        #expect(local("27/Nov/2026:00:00:00 +0000") == 1_795_737_600)
        #expect(local("27/Foo/2026:00:00:00 +0000") == nil)
        #expect(LogTime.parseISO8601("2000-10-10T13:55:36-07:00") == 971_211_336)
        #expect(LogTime.parseISO8601("2026-11-27") == 1_795_737_600)
        #expect(LogTime.parseISO8601("2026-11-27T00:00:00.123Z") == 1_795_737_600)
        #expect(LogTime.parseISO8601("2026-11-27T01:00+0100") == 1_795_737_600)
        #expect(LogTime.parseISO8601("yesterday") == nil)
    }
}

@Suite("JSON lines")
struct JSONParserTests {
    static func parse(_ line: String, names: JSONFieldNames = .defaults) -> (Malformation?, ParsedLine) {
        let parser = JSONLineParser(fieldNames: names)
        var fields = RequestFields()
        var bytes = Array(line.utf8)
        let problem = bytes.withUnsafeMutableBytes { parser.parse(UnsafeRawBufferPointer($0), into: &fields) }
        return (problem, ParsedLine(fields))
    }

    @Test("any key order, strings or numbers, nested values skipped, escapes decoded")
    func fixtureLines() throws {
        let lines = try String(contentsOfFile: TestSupport.fixture("json/access.jsonl"), encoding: .utf8).split(separator: "\n").map(String.init)
        let first = Self.parse(lines[0])
        #expect(first.0 == nil)
        #expect(first.1 == ParsedLine(method: "GET", target: "/products/5", status: 200, bytes: 4000, time: "2026-11-27T10:00:00+00:00"))
        let second = Self.parse(lines[1])
        #expect(second.0 == nil)
        #expect(second.1.target == "/products/5?utm=x" && second.1.status == 200 && second.1.bytes == 4000)
        #expect(Self.parse(lines[2]).1.target == "/say\"hi\"/été")
        #expect(Self.parse(lines[3]).1 == ParsedLine(method: "GET", target: "/products/6", status: 304, bytes: 0, time: "2026-11-27T10:00:03+00:00"))
        #expect(Self.parse(lines[5]).0?.reason == .notJSONObject)
    }

    @Test("field names are settable")
    func customNames() {
        var names = JSONFieldNames.defaults
        names.names[.requestURI] = ["target"]
        names.names[.status] = ["code"]
        let (problem, parsed) = Self.parse(#"{"target":"/a","code":201,"request_uri":"/ignored"}"#, names: names)
        #expect(problem == nil)
        #expect(parsed.target == "/a" && parsed.status == 201)
    }

    @Test("broken JSON is malformed, never a crash", arguments: [
        #"{"request":"GET / HTTP/1.1""#, #"{"request":"GET / HTTP/1.1",}"#, #"{"request":"GET /\u12"}"#, "{}", #"{"status":200}"#, "[1]",
    ])
    func broken(line: String) {
        #expect(Self.parse(line).0 != nil)
    }
}
