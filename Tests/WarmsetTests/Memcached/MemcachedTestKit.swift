import Foundation
import Testing

/// One `memcached` process on a free loopback port, stopped when the test ends. Tests talk to it
/// over a plain socket (`get`, `set`, `mg`), never through libmemcached, so that they check what
/// the warmer did rather than agree with it.
final class WarmMemcachedServer: @unchecked Sendable {
    let port: Int
    private let server = ServerProcess()
    private let itemSize: String?

    /// - Parameter itemSize: memcached's `-I` (largest item), e.g. `2m`; nil keeps its 1 MB.
    init(itemSize: String? = nil) throws {
        self.port = try WarmTestKit.freePort()
        self.itemSize = itemSize
        try start()
    }

    static func memcachedPath() throws -> String {
        for candidate in ["/usr/bin/memcached", "/usr/local/bin/memcached", "/opt/homebrew/bin/memcached"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        Issue.record("memcached is not installed (make test installs it)")
        throw CancellationError()
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.memcachedPath())
        var arguments = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64", "-t", "2"]
        if getuid() == 0 { arguments += ["-u", "root"] }  // memcached refuses to run as root otherwise
        if let itemSize { arguments += ["-I", itemSize] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try server.run(process)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let reply = try? command("version\r\n"), reply.hasPrefix("VERSION") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("memcached on port \(port) did not answer within 10 s")
        throw CancellationError()
    }

    var address: String { "127.0.0.1:\(port)" }

    /// Sends `text` and reads until a line that ends a reply (`END`, `STORED`, `HD`, `EN`, …).
    func command(_ text: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CancellationError() }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw CancellationError() }
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw CancellationError() }
            sent += n
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let terminators = ["END\r\n", "STORED\r\n", "NOT_STORED\r\n", "HD\r\n", "EN\r\n", "ERROR\r\n", "\r\n"]
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            reply += buffer[0..<n]
            let text = String(decoding: reply, as: UTF8.self)
            if text.hasPrefix("VALUE") || text.hasPrefix("END") {
                if text.hasSuffix("END\r\n") { break }
            } else if terminators.contains(where: text.hasSuffix) {
                break
            }
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// The value and flags of `key` on this node, or nil.
    func get(_ key: String) throws -> (value: String, flags: Int)? {
        let reply = try command("get \(key)\r\n")
        guard reply.hasPrefix("VALUE ") else { return nil }
        // Bytes, not Characters: "\r\n" is one Character in Swift.
        let bytes = Array(reply.utf8)
        guard let newline = bytes.firstIndex(of: 0x0A) else { return nil }
        let header = String(decoding: bytes[..<(newline - 1)], as: UTF8.self).split(separator: " ")
        let length = Int(header[3]) ?? 0
        let body = bytes[(newline + 1)...].prefix(length)
        return (String(decoding: body, as: UTF8.self), Int(header[2]) ?? -1)
    }

    /// `set key flags exptime value`.
    func set(_ key: String, _ value: String, flags: Int = 0, exptime: Int = 0) throws {
        let reply = try command("set \(key) \(flags) \(exptime) \(value.utf8.count)\r\n\(value)\r\n")
        #expect(reply == "STORED\r\n")
    }

    /// The remaining TTL of `key` in seconds (`mg key t`): -1 for none, nil when absent.
    func ttl(_ key: String) throws -> Int? {
        let reply = try command("mg \(key) t\r\n")
        guard reply.hasPrefix("HD"), let t = reply.split(separator: " ").first(where: { $0.hasPrefix("t") }) else { return nil }
        return Int(t.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// How many items the node holds.
    func itemCount() throws -> Int {
        let reply = try command("stats\r\n")
        let line = reply.split(separator: "\r\n").first { $0.hasPrefix("STAT curr_items ") }
        return line.flatMap { Int($0.split(separator: " ")[2]) } ?? -1
    }

    /// SIGKILL (see `ServerProcess.kill` for why not SIGTERM).
    func stop() { server.kill() }

    deinit { stop() }
}
