import Foundation
import NIOCore
import Testing
import WarmsetWarm

/// A python3 HTTP/1.1 server on loopback for the fetcher's connection handling, counting the
/// connections it accepted:
///
///     /value/NAME      200 "value-of:NAME" (Content-Length), kept alive
///     /chunked/NAME    200 "value-of:NAME" in chunks of 3 bytes (Transfer-Encoding: chunked)
///     /close/NAME      200 "value-of:NAME" with Connection: close, then closes
///     /drop/NAME       200 "value-of:NAME" kept alive by its headers, then closes anyway (an
///                      idle keep-alive connection the server dropped)
///     /big/N           200 with N bytes
///     /eof/NAME        200 "value-of:NAME" with no length, ended by closing the connection
///     /garbage/NAME    not HTTP: an SSH banner, then closes
///     /slow/NAME       answers after 5 seconds
///     /connections     the count of connections accepted, not itself counted as a request
final class FetchTestServer: Sendable {
    private let server: PythonServer

    static let script = #"""
        import socket, sys, threading, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        lock = threading.Lock()
        accepted = [0]
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def setup(self):
                super().setup()
                with lock: accepted[0] += 1
            def send(self, body, headers=(), chunked=False):
                self.send_response(200)
                for k, v in headers: self.send_header(k, v)
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
                    for i in range(0, len(body), 3):
                        part = body[i:i + 3]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(body))); self.end_headers()
                    self.wfile.write(body)
                self.wfile.flush()
            def do_GET(self):
                kind, _, name = self.path[1:].partition("/")
                value = b"value-of:" + name.encode()
                if kind == "connections":
                    self.close_connection = True
                    with lock:
                        accepted[0] -= 1
                        count = accepted[0]
                    return self.send(str(count).encode(), [("Connection", "close")])
                if kind == "chunked": return self.send(value, chunked=True)
                if kind == "close":
                    self.close_connection = True
                    return self.send(value, [("Connection", "close")])
                if kind == "drop":
                    self.send(value)
                    self.close_connection = True
                    return
                if kind == "big": return self.send(b"x" * int(name))
                if kind in ("eof", "garbage"):
                    self.close_connection = True
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nServer: t\r\n\r\n" + value if kind == "eof" else b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
                    self.wfile.flush()
                    return
                if kind == "slow": time.sleep(5)
                self.send(value)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    init() throws {
        server = try PythonServer(["-c", Self.script])
    }

    var port: Int { server.port }
    var base: String { server.base }

    /// The connections accepted so far (the one asking not counted).
    func connections() throws -> Int {
        let body = try server.get("/connections")
        return try #require(Int(body.trimmingCharacters(in: .whitespacesAndNewlines)), "GET /connections: \(body)")
    }
}

/// The fetcher's own HTTP/1.1 client: connections kept and reused, servers that close them,
/// chunked bodies, the body limit and timeouts.
@Suite("HTTP fetcher connections", .serialized)
struct HTTPFetcherTests {
    func fetcher(_ server: FetchTestServer, concurrency: Int = 4, timeout: Double = 30, maxBody: Int = 1 << 20) throws -> HTTPFetcher {
        var settings = HTTPFetcher.Settings(codes: .origin, retryCounter: "origin_retries")
        settings.concurrency = concurrency
        settings.requestTimeout = timeout
        settings.maxBodyBytes = maxBody
        let requestGuard = try RequestGuard(url: server.base, option: "--origin")
        return HTTPFetcher(settings, guard: requestGuard, bucket: TokenBucket(rate: nil), ledger: WarmLedger(total: 0, limit: .unlimited))
    }

    /// The body of each fetched URL, or its failure's reason code.
    func bodies(_ fetched: [HTTPFetcher.Fetched]) -> [String] {
        fetched.map { result in
            switch result {
            case .response(let response, _) where response.status.code == 200:
                response.body.map { String(buffer: $0) } ?? ""
            case .response(let response, _): "status \(response.status.code)"
            case .failed(let failure): failure.reason
            }
        }
    }

    @Test func connectionsAreKeptAndReused() throws {
        let server = try FetchTestServer()
        let fetcher = try fetcher(server, concurrency: 4)
        defer { fetcher.shutdown() }
        let names = (0..<200).map { "k\($0)" }
        for batch in stride(from: 0, to: names.count, by: 50) {
            let slice = names[batch..<batch + 50]
            #expect(bodies(fetcher.fetch(slice.map { server.base + "/value/" + $0 })) == slice.map { "value-of:" + $0 })
        }
        let connections = try server.connections()
        #expect(connections >= 1 && connections <= 4, "200 requests over at most --concurrency 4 connections, not \(connections)")
    }

    @Test func chunkedBodiesAreTheValue() throws {
        let server = try FetchTestServer()
        let fetcher = try fetcher(server)
        defer { fetcher.shutdown() }
        let names = (0..<20).map { "chunked-value-\($0)" }
        #expect(bodies(fetcher.fetch(names.map { server.base + "/chunked/" + $0 })) == names.map { "value-of:" + $0 })
    }

    /// The fetcher's own parser through a real connection: a body ended by the close is the
    /// value; bytes that are not HTTP fail their request with the reason, and the requests
    /// around them still get their values.
    @Test func bodiesEndedByTheCloseAndResponsesThatAreNotHTTP() throws {
        let server = try FetchTestServer()
        let fetcher = try fetcher(server, concurrency: 2)
        defer { fetcher.shutdown() }
        let fetched = fetcher.fetch(["value/a", "eof/b", "garbage/c", "value/d", "eof/e"].map { server.base + "/" + $0 })
        #expect(bodies(fetched) == ["value-of:a", "value-of:b", "origin_error", "value-of:d", "value-of:e"])
        if case .failed(let failure) = fetched[2] {
            #expect(
                failure.detail.hasSuffix("failed: the response is not valid HTTP/1.1: the status line 'SSH-2.0-OpenSSH_9.2' is not 'HTTP/1.x NNN reason'"),
                "\(failure.detail)")
        }
    }

    @Test func connectionCloseResponsesOpenANewConnection() throws {
        let server = try FetchTestServer()
        let fetcher = try fetcher(server, concurrency: 2)
        defer { fetcher.shutdown() }
        let names = (0..<30).map { "c\($0)" }
        #expect(bodies(fetcher.fetch(names.map { server.base + "/close/" + $0 })) == names.map { "value-of:" + $0 })
        #expect(try server.connections() == 30, "one connection per Connection: close response")
    }

    @Test func aServerClosingIdleKeepAliveConnectionsLosesNoRequest() throws {
        let server = try FetchTestServer()
        let fetcher = try fetcher(server, concurrency: 3)
        defer { fetcher.shutdown() }
        // Each connection is dropped after its response, which said nothing of it: the next
        // request on it finds it closed and is sent again on a new one.
        for round in 0..<5 {
            let names = (0..<12).map { "d\(round)-\($0)" }
            #expect(bodies(fetcher.fetch(names.map { server.base + "/drop/" + $0 })) == names.map { "value-of:" + $0 })
        }
    }

    @Test func aBodyOverTheLimitFailsAndTheRestGoOn() throws {
        let server = try FetchTestServer()
        let fetcher = try fetcher(server, concurrency: 1, maxBody: 1000)
        defer { fetcher.shutdown() }
        let fetched = fetcher.fetch([server.base + "/big/1000", server.base + "/big/5000", server.base + "/value/after"])
        #expect(bodies(fetched) == [String(repeating: "x", count: 1000), "origin_error", "value-of:after"])
        if case .failed(let failure) = fetched[1] {
            #expect(failure.detail.contains("over 1000 bytes"), "\(failure.detail)")
        }
    }

    @Test func aSlowResponseTimesOutAndTheConnectionIsReplaced() throws {
        let server = try FetchTestServer()
        let fetcher = try fetcher(server, concurrency: 1, timeout: 0.5)
        defer { fetcher.shutdown() }
        let fetched = fetcher.fetch([server.base + "/slow/a", server.base + "/value/b"])
        #expect(bodies(fetched) == ["origin_timeout", "value-of:b"])
        if case .failed(let failure) = fetched[0] {
            #expect(failure.detail.contains("/slow/a") && failure.detail.contains("timed out"), "\(failure.detail)")
        }
    }

    @Test func aRefusedConnectionFailsEachRequestByName() throws {
        let port = try WarmTestKit.freePort()
        var settings = HTTPFetcher.Settings(codes: .http, retryCounter: "retries")
        settings.concurrency = 2
        let fetcher = HTTPFetcher(
            settings, guard: try RequestGuard(url: "http://127.0.0.1:\(port)", option: "--http"), bucket: TokenBucket(rate: nil),
            ledger: WarmLedger(total: 0, limit: .unlimited))
        defer { fetcher.shutdown() }
        let fetched = fetcher.fetch((0..<3).map { "http://127.0.0.1:\(port)/x/\($0)" })
        #expect(bodies(fetched) == ["http_error", "http_error", "http_error"])
        if case .failed(let failure) = fetched[2] {
            #expect(failure.detail.contains("/x/2") && failure.detail.contains("Connection refused"), "\(failure.detail)")
        }
    }

    /// `--header` and `--variant` lines: a name and a value; a line break (which would end the
    /// request's head and start another header or request) or a missing name is refused, and the
    /// error names the header but never prints its value (often a token).
    @Test func headerLinesAreCheckedWithoutPrintingTheirValues() throws {
        #expect(try HTTPFetcher.headerLine("Accept-Encoding:  br ", option: "--header") == ("Accept-Encoding", "br"))
        let refused = [
            ("Authorization: Bearer s3cret\r\nX-Admin: 1", "--header 'Authorization:': the header holds a line break or a NUL byte, which cannot be sent"),
            ("Authorization: Bearer s3cret\n", "--header 'Authorization:': the header holds a line break or a NUL byte, which cannot be sent"),
            ("Bearer s3cret", "--header: a header has no 'Name:' (13 characters); expected 'Name: value', e.g. 'Accept-Encoding: br'"),
            ("X Y: s3cret", "--header 'X Y:': the header name is empty or holds a space; expected 'Name: value'"),
        ]
        for (line, message) in refused {
            #expect(throws: WarmError.self) {
                do {
                    _ = try HTTPFetcher.headerLine(line, option: "--header")
                } catch {
                    #expect(String(describing: error) == message)
                    #expect(!String(describing: error).contains("s3cret"))
                    throw error
                }
            }
        }
    }

    @Test(arguments: [
        ("http://h:8080/a/b?c=d", "/a/b?c=d"), ("https://h", "/"), ("http://h:1?x=/y", "/?x=/y"), ("http://[::1]:80/p", "/p"),
    ])
    func theRequestTargetIsWhatFollowsTheAuthority(url: String, target: String) {
        #expect(RequestGuard.requestTarget(url) == target)
    }
}
