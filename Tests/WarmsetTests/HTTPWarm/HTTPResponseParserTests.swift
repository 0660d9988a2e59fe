import NIOCore
import Testing

@testable import WarmsetWarm

/// The fetcher's HTTP/1.1 response parser, fed each response stream in pieces of every size from
/// one byte to the whole: each size must give the responses written out by hand beside it.
@Suite("HTTP response parser")
struct HTTPResponseParserTests {
    /// What a response came to.
    struct Parsed: Equatable, CustomStringConvertible {
        var status: Int
        var keepAlive: Bool
        var headers: [String]
        var body: String

        var description: String { "\(status) keepAlive=\(keepAlive) \(headers) body=\(body.debugDescription)" }
    }

    /// Feeds `stream` in pieces of `size` bytes to a parser that expects one response per entry
    /// of `noBody` (a `HEAD` request where true), as a connection does: the next is expected
    /// once the last has ended. The server closes after the last byte when `closes`.
    static func parse(_ stream: String, pieces size: Int, noBody: [Bool] = [false], closes: Bool = false) throws -> [Parsed] {
        var parser = HTTPResponseParser()
        var parsed: [Parsed] = []
        var current: Parsed?
        var requests = noBody[...]
        parser.expectResponse(noBody: requests.removeFirst())
        func handle(_ event: HTTPResponseParser.Event) {
            switch event {
            case .head(let head):
                current = Parsed(status: head.status, keepAlive: head.keepAlive, headers: head.headers.pairs.map { "\($0.0)=\($0.1)" }, body: "")
            case .body(let bytes):
                current?.body += String(buffer: bytes)
            case .end:
                if let current { parsed.append(current) }
                current = nil
                if let next = requests.popFirst() { parser.expectResponse(noBody: next) }
            }
        }
        let bytes = Array(stream.utf8)
        for start in stride(from: 0, to: bytes.count, by: size) {
            var piece = ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)])
            while let event = try parser.next(&piece) { handle(event) }
            #expect(piece.readableBytes == 0, "the parser read every byte of a piece")
        }
        if closes, let end = parser.endOfInput() { handle(end) }
        return parsed
    }

    /// Every piece size gives `expected`.
    static func check(_ stream: String, noBody: [Bool] = [false], closes: Bool = false, _ expected: [Parsed]) throws {
        for size in 1...stream.utf8.count {
            let parsed = try parse(stream, pieces: size, noBody: noBody, closes: closes)
            #expect(parsed == expected, "pieces of \(size) bytes")
            if parsed != expected { return }
        }
    }

    @Test func contentLengthBodiesOnAKeptConnection() throws {
        let stream =
            "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\nX-Cache-Status: HIT\r\n\r\nhello"
            + "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length:3\r\n\r\nabc"
        try Self.check(stream, noBody: [false, false, false], [
            Parsed(status: 200, keepAlive: true, headers: ["Server=nginx", "Content-Length=5", "X-Cache-Status=HIT"], body: "hello"),
            Parsed(status: 404, keepAlive: true, headers: ["content-length=0"], body: ""),
            Parsed(status: 200, keepAlive: true, headers: ["Content-Length=3"], body: "abc"),
        ])
    }

    @Test func chunkedBodiesWithExtensionsAndTrailers() throws {
        let stream =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nval\r\n6;ext=1\r\nue-of:\r\nA \r\n0123456789\r\n0\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n1\r\nx\r\n0\r\nTrailer: t\r\n\r\n"
        try Self.check(stream, noBody: [false, false], [
            Parsed(status: 200, keepAlive: true, headers: ["Transfer-Encoding=chunked"], body: "value-of:0123456789"),
            Parsed(status: 200, keepAlive: true, headers: ["Transfer-Encoding=gzip, Chunked"], body: "x"),
        ])
    }

    @Test func noBodyForHeadRequests204And304() throws {
        let stream =
            "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\n\r\n"
            + "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        try Self.check(stream, noBody: [true, false, false, false], [
            Parsed(status: 200, keepAlive: true, headers: ["Content-Length=1234"], body: ""),
            Parsed(status: 204, keepAlive: true, headers: [], body: ""),
            Parsed(status: 304, keepAlive: true, headers: ["Content-Length=10"], body: ""),
            Parsed(status: 200, keepAlive: true, headers: ["Content-Length=2"], body: "ok"),
        ])
    }

    @Test func interimResponsesAreSkipped() throws {
        let stream = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nz"
        try Self.check(stream, [Parsed(status: 201, keepAlive: true, headers: ["Content-Length=1"], body: "z")])
    }

    @Test func connectionHeadersAndHTTP10() throws {
        try Self.check("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", [
            Parsed(status: 200, keepAlive: false, headers: ["Connection=close", "Content-Length=2"], body: "hi")
        ])
        try Self.check("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", [
            Parsed(status: 200, keepAlive: false, headers: ["Content-Length=2"], body: "hi")
        ])
        try Self.check("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi", [
            Parsed(status: 200, keepAlive: true, headers: ["Connection=Keep-Alive", "Content-Length=2"], body: "hi")
        ])
        try Self.check("HTTP/1.1 200 OK\r\nConnection: upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n", [
            Parsed(status: 200, keepAlive: false, headers: ["Connection=upgrade, CLOSE", "Content-Length=0"], body: "")
        ])
    }

    @Test func aBodyWithoutLengthEndsWithTheConnection() throws {
        // Python's http.server: HTTP/1.0, no Content-Length.
        try Self.check("HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6\r\n\r\nvalue-of:x", closes: true, [
            Parsed(status: 200, keepAlive: false, headers: ["Server=BaseHTTP/0.6"], body: "value-of:x")
        ])
        // A coding other than chunked last: also read until the close.
        try Self.check("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", closes: true, [
            Parsed(status: 200, keepAlive: false, headers: ["Transfer-Encoding=gzip"], body: "zz")
        ])
        // Cut short by the close: no response.
        #expect(try Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", pieces: 4, closes: true) == [])
    }

    @Test func chunkedWinsOverALengthAndTheConnectionEnds() throws {
        try Self.check("HTTP/1.1 200 OK\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", [
            Parsed(status: 200, keepAlive: false, headers: ["Content-Length=50", "Transfer-Encoding=chunked"], body: "ab")
        ])
    }

    @Test func bareLineFeedsAndSpacesAreAccepted() throws {
        try Self.check("HTTP/1.1 200\nContent-Length:  4 \nX-Cache: \tHIT\n\nbody", [
            Parsed(status: 200, keepAlive: true, headers: ["Content-Length=4", "X-Cache=HIT"], body: "body")
        ])
        // An empty line left before a status line (after a body) is skipped.
        try Self.check("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", noBody: [false, false], [
            Parsed(status: 200, keepAlive: true, headers: ["Content-Length=1"], body: "a"),
            Parsed(status: 200, keepAlive: true, headers: ["Content-Length=1"], body: "b"),
        ])
    }

    @Test(arguments: [
        ("HTTP/2 200\r\n\r\n", "the status line 'HTTP/2 200' is not 'HTTP/1.x NNN reason'"),
        ("HTTP/1.1 20 OK\r\n\r\n", "the status line 'HTTP/1.1 20 OK' is not 'HTTP/1.x NNN reason'"),
        ("SSH-2.0-OpenSSH_9.2\r\n\r\n", "the status line 'SSH-2.0-OpenSSH_9.2' is not 'HTTP/1.x NNN reason'"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", "Content-Length '12x' is not a length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "two Content-Length headers disagree"),
        ("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", "a header line is folded onto the next (obsolete line folding)"),
        ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "a header line has no 'Name:'"),
        ("HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n", "a header name holds a space"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a chunk size is not a hexadecimal number"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "a chunk is longer than its size"),
        ("HTTP/1.1 101 Switching Protocols\r\n\r\n", "the server switched protocols (101), which was not asked for"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab", "bytes came with no request outstanding"),
    ])
    func malformedResponsesAreErrors(stream: String, why: String) {
        for size in [1, 3, stream.utf8.count] {
            #expect(throws: HTTPFetchError.self, "pieces of \(size)") {
                do {
                    _ = try Self.parse(stream, pieces: size)
                } catch let error as HTTPFetchError {
                    #expect(error.description == "the response is not valid HTTP/1.1: \(why)")
                    throw error
                }
            }
        }
    }

    /// Valid streams with random edits (bytes changed, inserted, deleted, the end cut), fed in
    /// random pieces: the parser reads every byte or throws its own error, never more body than
    /// came, and its events come in order (a head, its body, its end).
    @Test func mutatedResponsesAreReadOrRefusedNeverCrash() throws {
        let seed: UInt64 = 20_261_204
        var random = SplitMix(seed: seed)
        let streams = [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Cache: HIT\r\n\r\nhelloHTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\nHTTP/1.1 301 M\nLocation: /x\nContent-Length: 1\n\nz",
        ]
        let alphabet = Array("\r\n :;0123456789abcdefHTTP/1.chunked-Length".utf8)
        for round in 0..<4000 {
            var bytes = Array(streams[Int(random.next() % UInt64(streams.count))].utf8)
            for _ in 0..<(1 + random.next() % 3) where !bytes.isEmpty {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 4 {
                case 0: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                case 2: bytes.remove(at: at)
                default: bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
                }
            }
            let size = 1 + Int(random.next() % 17)
            var parser = HTTPResponseParser()
            parser.expectResponse(noBody: false)
            var inResponse = false
            var bodyBytes = 0
            do {
                for start in stride(from: 0, to: bytes.count, by: size) {
                    var piece = ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)])
                    while let event = try parser.next(&piece) {
                        switch event {
                        case .head:
                            #expect(!inResponse, "a head inside a response, round \(round), seed \(seed)")
                            inResponse = true
                        case .body(let body):
                            #expect(inResponse, "a body before its head, round \(round), seed \(seed)")
                            bodyBytes += body.readableBytes
                        case .end:
                            #expect(inResponse, "an end before its head, round \(round), seed \(seed)")
                            inResponse = false
                            parser.expectResponse(noBody: false)
                        }
                    }
                    #expect(piece.readableBytes == 0, "bytes left unread, round \(round), seed \(seed)")
                }
            } catch is HTTPFetchError {
                // Refused with the parser's own error: what a connection closes on.
            }
            #expect(bodyBytes <= bytes.count, "more body than bytes, round \(round), seed \(seed)")
        }
    }

    @Test func aHeadOverTheLimitIsAnError() {
        let stream = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: 0123456789abcdef\r\n", count: 3000)
        #expect(throws: HTTPFetchError.self) { _ = try Self.parse(stream, pieces: 4096) }
    }

    @Test func headersAreLookedUpByNameWithoutCase() throws {
        var parser = HTTPResponseParser()
        parser.expectResponse(noBody: false)
        var bytes = ByteBuffer(string: "HTTP/1.1 301 Moved\r\nlocation:  /next?a=1 \r\nRetry-After: 5\r\nX-Cache: MISS from edge\r\nContent-Length: 0\r\n\r\n")
        guard case .head(let head) = try parser.next(&bytes) else {
            Issue.record("no head")
            return
        }
        #expect(head.headers.first(name: "Location") == "/next?a=1")
        #expect(head.headers.first(name: "RETRY-AFTER") == "5")
        #expect(head.headers.first(name: "x-cache") == "MISS from edge")
        #expect(head.headers.first(name: "Age") == nil)
        #expect(head.headers.first(name: "Locatio") == nil)
        // One pass for several names: the first-wanted one present wins, its first line.
        let names = HTTPResponseHeaders.Names(["X-Cache-Status", "X-Cache", "Retry-After", "Age"])
        #expect(head.headers.first(oneOf: names).map { "\($0.index) \($0.value)" } == "1 MISS from edge")
        #expect(HTTPResponseHeaders([("age", "3"), ("Retry-After", "1"), ("RETRY-AFTER", "2")]).first(oneOf: names).map { "\($0.index) \($0.value)" } == "2 1")
        #expect(HTTPResponseHeaders([("Server", "x")]).first(oneOf: names) == nil)
        func equal(_ a: String, _ b: String) -> Bool {
            Array(a.utf8).withUnsafeBytes { a in Array(b.utf8).withUnsafeBytes { b in HTTPResponseHeaders.equalIgnoringCase(a, b) } }
        }
        #expect(equal("Content-Type", "content-type"))
        #expect(!equal("Content-Type", "content-typ"))
        // Bytes 0x20 apart that are not letters are not one another's case.
        #expect(!equal("a-b", "a\rb"))
        #expect(!equal("@", "`"))
    }
}

/// The request bytes the fetcher writes.
@Suite("HTTP request template")
struct HTTPRequestTemplateTests {
    @Test(arguments: [
        ("http://h:8080/p/1?x=2", false, "GET /p/1?x=2 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: warmset\r\n\r\n"),
        ("http://h", false, "GET / HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: warmset\r\n\r\n"),
        ("https://h?q", false, "GET /?q HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: warmset\r\n\r\n"),
    ])
    func getRequests(url: String, asGET: Bool, expected: String) {
        let template = HTTPRequestTemplate(method: .GET, headers: [("Host", "h:8080"), ("User-Agent", "warmset")])
        var buffer = ByteBuffer()
        template.write(url, asGET: asGET, into: &buffer)
        #expect(String(buffer: buffer) == expected)
        #expect(buffer.readableBytes <= template.capacity(for: url))
    }

    /// The bytes scan of the written request and `RequestGuard.requestTarget`'s string scan agree.
    @Test(arguments: ["http://h:8080/a/b?c=d", "https://h", "http://h:1?x=/y", "http://[::1]:80/p", "http://h/p:1//x", "http://h:8/%2Fq?/"])
    func theWrittenTargetIsTheRequestTarget(url: String) {
        let template = HTTPRequestTemplate(method: .HEAD, headers: [])
        var buffer = ByteBuffer()
        template.write(url, asGET: false, into: &buffer)
        #expect(String(buffer: buffer) == "HEAD \(RequestGuard.requestTarget(url)) HTTP/1.1\r\n\r\n")
    }

    @Test func aFollowedRedirectIsAGet() {
        let template = HTTPRequestTemplate(method: .POST, headers: [("Host", "h")])
        var buffer = ByteBuffer()
        template.write("http://h/a", asGET: false, into: &buffer)
        #expect(String(buffer: buffer) == "POST /a HTTP/1.1\r\nHost: h\r\n\r\n")
        buffer.clear()
        template.write("http://h/b", asGET: true, into: &buffer)
        #expect(String(buffer: buffer) == "GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
    }
}

/// How many event loops a fetcher's connections run on.
@Suite("HTTP fetcher event loops")
struct HTTPFetcherEventLoopTests {
    @Test(arguments: [
        (64, 2, 1), (64, 1, 1), (16, 2, 1), (64, 4, 2), (64, 16, 2), (512, 8, 7), (512, 64, 16), (1, 64, 1),
    ])
    func oneLoopPer32ConnectionsLeavingACore(concurrency: Int, cores: Int, loops: Int) {
        #expect(HTTPFetcher.eventLoopCount(concurrency: concurrency, cores: cores) == loops)
    }
}
