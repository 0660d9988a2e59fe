import Foundation
import Testing

/// A real nginx (Debian's nginx-core) on free loopback ports: an origin server block returning
/// `200 page URI ENCODING` for any path (under `/cf/`, `/age/`, `/fresh/`, `/xc/` and `/bypass/`
/// with a `CF-Cache-Status: HIT`, `Age: 7`, `Age: 0`, `X-Cache: MISS from edge-1` or
/// `X-Cache-Status: BYPASS` header), and `nodes` `proxy_cache` nodes in front of it, each
/// with its own cache directory, all answering for `shop.test` (any other Host gets 421). The
/// cache key is `$scheme$host$request_uri` plus, with `varyOnEncoding`, `$http_accept_encoding`;
/// each node adds `X-Cache-Status: $upstream_cache_status` and redirects `/moved` to `/landing`
/// (nginx makes the `Location` absolute with its own port). Every node request is logged to
/// `nodes.log` as `MSEC PORT HOST ACCEPT-ENCODING URI CACHE-STATUS`, every origin request to
/// `origin.log`.
///
/// nginx runs with `master_process off` (one process): the test runner's children inherit a
/// blocked SIGTERM, so it is stopped with SIGKILL, which would leave a master's workers behind.
/// One process also writes its caches as the user that started it, root (CI) or not.
final class NginxFleet: @unchecked Sendable {
    let directory: URL
    let originPort: Int
    /// With `tls`: the origin's https port (its certificate, `origin-cert.pem`, names 127.0.0.1).
    let originTLSPort: Int?
    let nodePorts: [Int]
    private let process = ServerProcess()

    init(nodes: Int = 2, varyOnEncoding: Bool = false, tls: Bool = false) throws {
        let nginx = "/usr/sbin/nginx"
        guard FileManager.default.isExecutableFile(atPath: nginx) else {
            Issue.record("nginx is not installed (make deps installs nginx-core)")
            throw CancellationError()
        }
        directory = try WarmTestKit.temporaryDirectory()
        originPort = try WarmTestKit.freePort()
        originTLSPort = tls ? try WarmTestKit.freePort() : nil
        nodePorts = try (0..<nodes).map { _ in try WarmTestKit.freePort() }
        let d = directory.path
        if tls { try Self.makeCertificate(in: directory) }
        let ssl = tls ? " ssl" : ""
        let certificate = tls ? "ssl_certificate \(d)/cert.pem; ssl_certificate_key \(d)/key.pem;" : ""
        let key = varyOnEncoding ? "$scheme$host$request_uri$http_accept_encoding" : "$scheme$host$request_uri"
        var config = """
            master_process off;
            daemon off;
            pid \(d)/nginx.pid;
            error_log \(d)/error.log warn;
            events { worker_connections 1024; }
            http {
                client_body_temp_path \(d)/tmp/body;
                proxy_temp_path \(d)/tmp/proxy;
                fastcgi_temp_path \(d)/tmp/fastcgi;
                uwsgi_temp_path \(d)/tmp/uwsgi;
                scgi_temp_path \(d)/tmp/scgi;
                log_format node '$msec $server_port $host "$http_accept_encoding" $request_uri $upstream_cache_status "$ssl_server_name"';
                server {
                    listen 127.0.0.1:\(originPort);
                    \(originTLSPort.map { "listen 127.0.0.1:\($0) ssl; ssl_certificate \(d)/origin-cert.pem; ssl_certificate_key \(d)/origin-key.pem;" } ?? "")
                    access_log \(d)/origin.log;
                    location / { return 200 "page $uri $http_accept_encoding\\n"; }
                    location /cf/ { add_header CF-Cache-Status HIT; return 200 "cf\\n"; }
                    location /age/ { add_header Age 7; return 200 "age\\n"; }
                    location /fresh/ { add_header Age 0; return 200 "fresh\\n"; }
                    location /xc/ { add_header X-Cache "MISS from edge-1"; return 200 "xc\\n"; }
                    location /bypass/ { add_header X-Cache-Status BYPASS; return 200 "bypass\\n"; }
                }

            """
        for (i, port) in nodePorts.enumerated() {
            config += """
                    proxy_cache_path \(d)/cache\(i) levels=1:2 keys_zone=node\(i):1m;
                    server {
                        listen 127.0.0.1:\(port)\(ssl) default_server;
                        \(certificate)
                        access_log \(d)/nodes.log node;
                        return 421;
                    }
                    server {
                        listen 127.0.0.1:\(port)\(ssl);
                        \(certificate)
                        server_name shop.test;
                        access_log \(d)/nodes.log node;
                        location = /moved { return 302 /landing; }
                        location / {
                            proxy_pass http://127.0.0.1:\(originPort);
                            proxy_cache node\(i);
                            proxy_cache_valid 200 10m;
                            proxy_cache_key \(key);
                            add_header X-Cache-Status $upstream_cache_status always;
                        }
                    }

                """
        }
        config += "}\n"
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        try config.write(to: directory.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: nginx)
        p.arguments = ["-p", d, "-e", "\(d)/error.log", "-c", "\(d)/nginx.conf"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try process.run(p)
        try waitUntilListening()
    }

    deinit { process.kill() }

    /// `127.0.0.1:PORT` of each node, for `--http-node`.
    var nodes: [String] { nodePorts.map { "127.0.0.1:\($0)" } }

    /// The base URL of the fleet's name on the nodes' first port (nothing resolves shop.test:
    /// every request must go through `--http-node`).
    func base(port: Int? = nil) -> String { "http://shop.test:\(port ?? nodePorts[0])" }

    private func waitUntilListening() throws {
        for _ in 0..<200 {
            if (try? get(port: originPort, path: "/.ready")) != nil { return }
            Thread.sleep(forTimeInterval: 0.025)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
        Issue.record("nginx did not start: \(log)")
        throw CancellationError()
    }

    /// GET `path` from `port` with `Host: shop.test` (and `Accept-Encoding`), through python3 as
    /// the other HTTP tests do: the status and the `X-Cache-Status` header.
    func get(port: Int, path: String, encoding: String? = nil) throws -> (status: Int, cache: String) {
        let script = """
            import sys, http.client
            c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=5)
            h = {'Host': 'shop.test'}
            if len(sys.argv) > 3: h['Accept-Encoding'] = sys.argv[3]
            c.request('GET', sys.argv[2], headers=h)
            r = c.getresponse(); r.read()
            print(r.status, r.getheader('X-Cache-Status') or '-')
            """
        let run = try WarmTestKit.run("/usr/bin/env", ["python3", "-c", script, String(port), path] + (encoding.map { [$0] } ?? []))
        let parts = run.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard run.status == 0, parts.count == 2, let status = Int(parts[0]) else { throw CancellationError() }
        return (status, parts[1])
    }

    /// How many entries node `i`'s cache directory holds.
    func cachedFiles(node i: Int) -> Int {
        let root = directory.appendingPathComponent("cache\(i)")
        guard let walk = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return 0 }
        return walk.compactMap { ($0 as? URL).flatMap { try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile } }.filter { $0 }.count
    }

    /// The node requests logged: (seconds, port, host, accept-encoding, uri, cache status, TLS
    /// server name).
    func nodeRequests() throws -> [(t: Double, port: Int, host: String, encoding: String, uri: String, cache: String, sni: String)] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("nodes.log"), encoding: .utf8)) ?? ""
        let quotes = CharacterSet(charactersIn: "\"")
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 7, let t = Double(f[0]), let port = Int(f[1]) else { return nil }
            return (t, port, f[2], f[3].trimmingCharacters(in: quotes), f[4], f[5], f[6].trimmingCharacters(in: quotes))
        }
    }

    /// A self-signed certificate for `shop.test` (`cert.pem`, also the trust root) and its key,
    /// and one for the origin's https port, for 127.0.0.1 only (`origin-cert.pem`): apart, so
    /// that the nodes' certificate names no address (a name check would pass on it).
    private static func makeCertificate(in directory: URL) throws {
        let d = directory.path
        for (name, subject, altNames) in [("", "shop.test", "DNS:shop.test"), ("origin-", "127.0.0.1", "IP:127.0.0.1")] {
            let made = try WarmTestKit.run("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=\(subject)", "-addext", "subjectAltName=\(altNames)", "-keyout", "\(d)/\(name)key.pem", "-out", "\(d)/\(name)cert.pem",
            ])
            try #require(made.status == 0, "openssl: \(made.stderr)")
        }
    }

    /// How many requests reached the origin (the start-up probe's not counted).
    func originRequests() -> Int {
        let text = (try? String(contentsOf: directory.appendingPathComponent("origin.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { !$0.contains("GET /.ready ") }.count
    }
}
