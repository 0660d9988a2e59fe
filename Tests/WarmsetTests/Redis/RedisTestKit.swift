import Foundation
import Testing
import WarmsetRedis

/// Real servers for the warm tests, on free loopback ports, stopped when the test ends:
/// `redis-server` (standalone, with ACL users), a 3-master Redis Cluster, and the HTTP origin in
/// `Tests/Support/origin.py`. Names carry a `Warm` prefix so they never meet other suites' helpers.
enum WarmTestKit {
    static var repoRoot: URL { TestSupport.repoRoot }
    static var binary: String { TestSupport.binary }

    /// A port nothing listens on now (bound to 0 and released).
    static func freePort() throws -> Int {
        try bindable(0)
    }

    /// A free port for a cluster node: its cluster bus port (port + 10000) must be free too, and
    /// at most 65535, so both come from 20000–29999 rather than the ephemeral range.
    static func freeClusterPort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20000...29999)
            if (try? bindable(candidate)) == candidate, (try? bindable(candidate + 10000)) == candidate + 10000 { return candidate }
        }
        Issue.record("no free port pair for a cluster node")
        throw CancellationError()
    }

    /// Binds `port` on 127.0.0.1 (0: any), releases it, and returns the port bound.
    private static func bindable(_ port: Int) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw CancellationError() }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A new directory under /tmp, removed when the test process exits.
    static func temporaryDirectory() throws -> URL { try TestSupport.temporaryDirectory("warm") }

    /// Runs a program and collects its output.
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> Run {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "REDISCLI_AUTH")
        for (k, v) in environment { env[k] = v }
        let result = try TestSupport.runProgram(executable, arguments, environment: env, stdin: stdin.map { Data($0.utf8) })
        return Run(
            status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: String(decoding: result.stderr, as: UTF8.self))
    }

    /// Runs the built `warmset` binary.
    static func warmset(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> Run {
        try #require(FileManager.default.isExecutableFile(atPath: binary), "run `swift build` first: \(binary) is missing")
        return try run(binary, arguments, environment: environment, stdin: stdin)
    }

    static func redisServerPath() throws -> String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        Issue.record("redis-server is not installed (make test installs it)")
        throw CancellationError()
    }

    static func redisCliPath() throws -> String {
        let server = try redisServerPath()
        return URL(fileURLWithPath: server).deletingLastPathComponent().appendingPathComponent("redis-cli").path
    }
}

/// One redis-server process on a free loopback port. Users: `default` (no password, all
/// commands), `warmer` / `warmer-pw` (all commands), `reader` / `reader-pw` (reads and EXISTS
/// only: SET and MULTI are NOPERM), `dumper` / `dumper-pw` (as `reader`, without MGET).
final class WarmRedisServer: @unchecked Sendable {
    let port: Int
    let directory: URL
    private let server = ServerProcess()
    /// The kill that `kill(whenever:holds:checkingEvery:)` scheduled: done once it happened.
    private let scheduledKill = Mutexed<Handoff<Bool>?>(nil)
    private let extra: [String]

    init(cluster: Bool = false, persistent: Bool = false, port: Int? = nil, directory: URL? = nil) throws {
        self.port = try port ?? (cluster ? WarmTestKit.freeClusterPort() : WarmTestKit.freePort())
        self.directory = try directory ?? WarmTestKit.temporaryDirectory()
        var extra = [
            "--user", "warmer", "on", ">warmer-pw", "~*", "&*", "+@all",
            "--user", "reader", "on", ">reader-pw", "~*", "&*", "+@read", "+exists", "+info", "+ping", "+cluster",
            "--user", "dumper", "on", ">dumper-pw", "~*", "&*", "+@read", "-mget", "+exists", "+info", "+ping", "+cluster",
        ]
        if cluster {
            extra += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes-\(self.port).conf", "--cluster-node-timeout", "60000"]
        }
        if persistent { extra += ["--appendonly", "yes", "--appendfsync", "always"] } else { extra += ["--appendonly", "no"] }
        self.extra = extra
        try start()
    }

    /// Starts the server (again) and waits until it answers PING.
    /// - Parameters:
    ///   - more: arguments for this start only, e.g. `--key-load-delay`.
    ///   - waitForPing: false returns as soon as the process runs (a server still loading its
    ///     data answers PING with LOADING, which the caller may want to see).
    func start(_ more: [String] = [], waitForPing: Bool = true) throws {
        // A scheduled kill happens before the server starts again, never to the new one.
        if let kill = scheduledKill.value { _ = kill.wait(until: Date().addingTimeInterval(30)) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try WarmTestKit.redisServerPath())
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory.path,
            "--daemonize", "no", "--logfile", directory.appendingPathComponent("redis-\(port).log").path,
            "--unixsocket", socketPath, "--unixsocketperm", "700",
        ] + extra + more
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try server.run(process)
        if !waitForPing { return }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let connection = try? RedisConnection(RedisConnectionSettings(url: url())),
                connection.pipeline([[Array("PING".utf8)]]).replies.first == .status("PONG")
            {
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis-\(port).log"), encoding: .utf8)) ?? ""
        Issue.record("redis-server on port \(port) did not answer PING within 10 s; its log ends: \(log.suffix(600))")
        throw CancellationError()
    }

    /// The unix socket the server also listens on (short: sun_path holds 108 bytes).
    var socketPath: String { "/tmp/warmset-redis-\(port).sock" }

    /// `redis://[user:password@]127.0.0.1:port/db`.
    func url(user: String? = nil, password: String? = nil, db: Int = 0) -> RedisURL {
        RedisURL(endpoint: .tcp(host: "127.0.0.1", port: port), user: user, password: password, database: db)
    }

    func urlString(user: String? = nil, password: String? = nil, db: Int = 0) -> String {
        var auth = ""
        if let user { auth = user + (password.map { ":" + $0 } ?? "") + "@" }
        return "redis://\(auth)127.0.0.1:\(port)/\(db)"
    }

    /// Runs commands (as the default user) and returns their replies.
    @discardableResult
    func command(_ args: [String]..., db: Int = 0) throws -> [RedisReply] {
        try commands(args, db: db)
    }

    /// Runs a list of commands in one pipeline.
    func commands(_ args: [[String]], db: Int = 0) throws -> [RedisReply] {
        let connection = try RedisConnection(RedisConnectionSettings(url: url(db: db)))
        let (replies, error) = connection.pipeline(args.map { $0.map { Array($0.utf8) } })
        if let error { throw error }
        return replies
    }

    /// SIGKILLs this server from another thread once `watched` holds `keys` keys (or after 20 s),
    /// checking every `interval` seconds: a crash in the middle of a warm run.
    /// `start()` waits for this kill to have happened.
    func kill(whenever watched: WarmRedisServer, holds keys: Int, checkingEvery interval: Double) {
        let done = Handoff<Bool>()
        scheduledKill.set(done)
        Thread {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, ((try? watched.command(["DBSIZE"]).first?.intValue) ?? 0) < keys {
                Thread.sleep(forTimeInterval: interval)
            }
            self.kill()
            done.put(true)
        }.start()
    }

    /// SIGKILL: the server dies as in a crash (see `ServerProcess.kill`).
    func kill() {
        server.kill()
        unlink(socketPath)
    }

    /// Stops the server.
    func stop() { kill() }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Three masters, no replicas, slots spread by `redis-cli --cluster create`.
final class WarmRedisCluster: @unchecked Sendable {
    let nodes: [WarmRedisServer]

    init() throws {
        let directory = try WarmTestKit.temporaryDirectory()
        nodes = try (0..<3).map { _ in try WarmRedisServer(cluster: true, directory: directory) }
        let create = try WarmTestKit.run(
            try WarmTestKit.redisCliPath(),
            ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", "0", "--cluster-yes"])
        try #require(create.status == 0, "redis-cli --cluster create failed: \(create.stdout) \(create.stderr)")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let ok = nodes.allSatisfy { node in
                (try? node.command(["CLUSTER", "INFO"]).first?.textValue?.contains("cluster_state:ok")) == true
            }
            if ok { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("the cluster did not reach cluster_state:ok within 20 s")
        throw CancellationError()
    }

    /// The node ID of a node.
    func id(_ node: WarmRedisServer) throws -> String {
        try #require(node.command(["CLUSTER", "MYID"]).first?.textValue)
    }

    /// The node that owns `slot`.
    func owner(ofSlot slot: Int) throws -> WarmRedisServer {
        // Ask any node for the slot map.
        guard case .array(let ranges) = try nodes[0].command(["CLUSTER", "SLOTS"])[0] else { throw CancellationError() }
        for range in ranges {
            guard case .array(let parts) = range, case .integer(let start) = parts[0], case .integer(let end) = parts[1],
                case .array(let master) = parts[2], case .integer(let port) = master[1]
            else { continue }
            if Int(start) <= slot && slot <= Int(end), let node = nodes.first(where: { $0.port == Int(port) }) { return node }
        }
        Issue.record("no owner for slot \(slot)")
        throw CancellationError()
    }

    /// Every key on every master.
    func keysByNode() throws -> [Int: Set<String>] {
        var out: [Int: Set<String>] = [:]
        for node in nodes {
            guard case .array(let keys) = try node.command(["KEYS", "*"])[0] else { continue }
            out[node.port] = Set(keys.compactMap(\.textValue))
        }
        return out
    }
}

/// The HTTP origin: Tests/Support/origin.py (fast, slow, failing, 404, 429-with-Retry-After,
/// and /stats counting requests per path).
final class WarmOrigin: Sendable {
    private let server: PythonServer

    init(slowSeconds: Double = 2) throws {
        server = try PythonServer([WarmTestKit.repoRoot.appendingPathComponent("Tests/Support/origin.py").path, String(slowSeconds)])
    }

    var port: Int { server.port }
    var base: String { server.base }

    /// Requests per path so far.
    func requests() throws -> [String: Int] {
        try server.json("/stats")["requests"] as? [String: Int] ?? [:]
    }

    /// The headers of the last request.
    func lastHeaders() throws -> [String: String] {
        try server.json("/stats")["headers"] as? [String: String] ?? [:]
    }

    /// The User-Agents seen.
    func userAgents() throws -> [String] {
        try server.json("/stats")["user_agents"] as? [String] ?? []
    }
}

extension RedisReply {
    /// Bulk or status text.
    var textValue: String? {
        switch self {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let s): return s
        default: return nil
        }
    }

    var intValue: Int64? {
        if case .integer(let n) = self { return n }
        return nil
    }
}

/// Reads a report file.
func warmReport(_ url: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: url)
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}
