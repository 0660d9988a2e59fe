import Foundation
import Testing

/// Certificates made by the test with the `openssl` command: a CA, a server certificate for
/// `localhost` and 127.0.0.1 (subject alternative names), a server certificate only for
/// `redis.example`, a client certificate, and a second CA that signed none of them.
struct WarmTLSFiles: Sendable {
    let directory: URL
    var caFile: String { path("ca.pem") }
    var otherCAFile: String { path("other-ca.pem") }
    var serverCert: String { path("server.pem") }
    var serverKey: String { path("server.key") }
    var otherNameCert: String { path("other-name.pem") }
    var otherNameKey: String { path("other-name.key") }
    var clientCert: String { path("client.pem") }
    var clientKey: String { path("client.key") }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Makes every file in a new temporary directory (EC P-256 keys: quick to make).
    init() throws {
        directory = try WarmTestKit.temporaryDirectory()
        try openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=warmset test CA")
        try openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=warmset unrelated CA")
        try issue("server", subject: "/CN=localhost", names: "DNS:localhost,IP:127.0.0.1")
        try issue("other-name", subject: "/CN=redis.example", names: "DNS:redis.example")
        try issue("client", subject: "/CN=warmset client", names: nil)
    }

    /// `name.key` and `name.pem`, signed by the CA.
    private func issue(_ name: String, subject: String, names: String?) throws {
        try openssl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject)
        var arguments = ["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "\(name).pem", "-days", "2"]
        if let names {
            try "subjectAltName=\(names)\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
            arguments += ["-extfile", "\(name).ext"]
        }
        try openssl(arguments)
    }

    private func openssl(_ arguments: String...) throws { try openssl(arguments) }

    private func openssl(_ arguments: [String]) throws {
        let result = try WarmTestKit.run("/usr/bin/env", ["sh", "-c", "cd \"$0\" && exec openssl \"$@\"", directory.path] + arguments)
        try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)")
    }
}

/// One redis-server with a TLS port (and, for standalone servers, a plain port too, so the same
/// server can be reached both ways), on free loopback ports, killed when the test ends.
final class WarmTLSRedisServer: @unchecked Sendable {
    /// The TLS port.
    let port: Int
    /// The plain port (nil: `--port 0`, as the cluster nodes run).
    let plainPort: Int?
    let files: WarmTLSFiles
    private let directory: URL
    private let server = ServerProcess()
    private let clientCertificates: Bool

    /// - Parameters:
    ///   - certificate: the server's certificate and key (default: localhost and 127.0.0.1).
    ///   - requireClientCertificates: `--tls-auth-clients yes`.
    ///   - cluster: a Cluster node (TLS between nodes too, no plain port).
    init(
        files: WarmTLSFiles, certificate: (String, String)? = nil, requireClientCertificates: Bool = false, cluster: Bool = false,
        directory: URL? = nil
    ) throws {
        self.files = files
        self.directory = try directory ?? WarmTestKit.temporaryDirectory()
        port = try cluster ? WarmTestKit.freeClusterPort() : WarmTestKit.freePort()
        plainPort = cluster ? nil : try WarmTestKit.freePort()
        clientCertificates = requireClientCertificates
        let (cert, key) = certificate ?? (files.serverCert, files.serverKey)
        var arguments = [
            "--port", String(plainPort ?? 0), "--tls-port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", self.directory.path, "--daemonize", "no", "--logfile", self.directory.appendingPathComponent("redis-\(port).log").path,
            "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", files.caFile,
            "--tls-auth-clients", requireClientCertificates ? "yes" : "no",
            "--user", "warmer", "on", ">warmer-pw", "~*", "&*", "+@all",
        ]
        if cluster {
            arguments += [
                "--tls-cluster", "yes", "--tls-replication", "yes", "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes-\(port).conf", "--cluster-node-timeout", "60000",
            ]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try WarmTestKit.redisServerPath())
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try server.run(process)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let pong = try? cliRun(["PING"]), pong.status == 0, pong.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "PONG" { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let log = (try? String(contentsOf: self.directory.appendingPathComponent("redis-\(port).log"), encoding: .utf8)) ?? ""
        Issue.record("redis-server with --tls-port \(port) did not answer PING within 10 s; its log ends: \(log.suffix(600))")
        throw CancellationError()
    }

    /// `redis-cli --tls` to this server (trusting the test CA, with the client certificate when the
    /// server requires one); the output of one command.
    func cli(_ arguments: String...) throws -> String { try cli(arguments) }

    func cli(_ arguments: [String]) throws -> String {
        let result = try cliRun(arguments)
        try #require(result.status == 0, "redis-cli \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        return result.stdout
    }

    private func cliRun(_ arguments: [String]) throws -> WarmTestKit.Run {
        var tls = ["--tls", "--cacert", files.caFile, "-h", "127.0.0.1", "-p", String(port)]
        if clientCertificates { tls += ["--cert", files.clientCert, "--key", files.clientKey] }
        return try WarmTestKit.run(try WarmTestKit.redisCliPath(), tls + arguments)
    }

    /// Every key (KEYS *, over TLS).
    func keys() throws -> Set<String> {
        Set(try cli("--raw", "KEYS", "*").split(separator: "\n").map(String.init))
    }

    /// `rediss://[auth@]host:port/db` for the TLS port.
    func url(host: String = "localhost", auth: String = "", db: Int = 0) -> String {
        "rediss://\(auth)\(host):\(port)/\(db)"
    }

    deinit {
        server.kill()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Three TLS masters (`--tls-cluster yes`, no plain port), slots spread by
/// `redis-cli --tls --cluster create`.
final class WarmTLSRedisCluster: @unchecked Sendable {
    let nodes: [WarmTLSRedisServer]

    init(files: WarmTLSFiles) throws {
        let directory = try WarmTestKit.temporaryDirectory()
        nodes = try (0..<3).map { _ in try WarmTLSRedisServer(files: files, cluster: true, directory: directory) }
        let create = try WarmTestKit.run(
            try WarmTestKit.redisCliPath(),
            ["--tls", "--cacert", files.caFile, "--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
                + ["--cluster-replicas", "0", "--cluster-yes"])
        try #require(create.status == 0, "redis-cli --tls --cluster create failed: \(create.stdout) \(create.stderr)")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if nodes.allSatisfy({ (try? $0.cli("CLUSTER", "INFO"))?.contains("cluster_state:ok") == true }) { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("the TLS cluster did not reach cluster_state:ok within 20 s")
        throw CancellationError()
    }
}
