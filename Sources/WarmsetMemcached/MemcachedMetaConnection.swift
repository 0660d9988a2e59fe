import CMemcached

/// One plain TCP connection to one memcached node for the meta command `mg KEY t`, which
/// tells a key's remaining TTL (memcached 1.6 and newer). libmemcached 1.1.4 (Debian 12's
/// libmemcached-awesome) sends no meta commands and has no call that reads an item's
/// expiry, so this small client asks for it; every other command still goes through
/// libmemcached (see docs/watch.md).
///
/// Requests are pipelined: up to `window` `mg` lines are written in one `send`, then their
/// replies read in order (one line each: `HD t<seconds>` or `EN`). The window keeps both
/// sides' socket buffers from filling up while the other waits. Not thread-safe: each
/// worker thread opens its own.
final class MemcachedMetaConnection {
    /// The remaining TTL of one key.
    enum RemainingTTL: Equatable {
        /// The key is not there (`EN`).
        case absent
        /// The key is there without an expiry (`t-1`).
        case none
        /// The key expires in this many seconds.
        case seconds(Int)
    }

    /// Requests written before their replies are read.
    static let window = 512

    let server: MemcachedServer
    let socket: MemcachedSocket
    private var received: [UInt8] = []
    private var consumed = 0

    /// Connects to `server`.
    /// - Throws: `MemcachedError` naming the node when it cannot be reached.
    init(server: MemcachedServer, connectTimeout: Double, timeout: Double) throws(MemcachedError) {
        self.server = server
        socket = try MemcachedSocket(server: server, connectTimeout: connectTimeout, timeout: timeout)
    }

    /// The remaining TTL of each of `keys` (valid memcached keys), in order.
    /// - Throws: `MemcachedError` when the node cannot be reached, does not answer in time, or
    ///   does not know `mg` (memcached older than 1.6).
    /// - Complexity: one round trip per `window` keys.
    func remainingTTLs(_ keys: [String]) throws(MemcachedError) -> [RemainingTTL] {
        var out: [RemainingTTL] = []
        out.reserveCapacity(keys.count)
        var start = 0
        while start < keys.count {
            let end = min(start + Self.window, keys.count)
            var request: [UInt8] = []
            for key in keys[start..<end] {
                request += Array("mg ".utf8)
                request += Array(key.utf8)
                request += Array(" t\r\n".utf8)
            }
            try socket.send(request)
            for _ in start..<end { out.append(try parse(try readLine())) }
            start = end
        }
        return out
    }

    /// One reply line: `HD t<n>` (memcached 1.6.0–1.6.9 say `OK t<n>`), `EN`, or an error.
    private func parse(_ line: String) throws(MemcachedError) -> RemainingTTL {
        if line == "EN" { return .absent }
        if line.hasPrefix("HD") || line.hasPrefix("VA") || line.hasPrefix("OK") {
            for flag in line.split(separator: " ").dropFirst() where flag.hasPrefix("t") {
                guard let t = Int(flag.dropFirst()) else { break }
                return t < 0 ? .none : .seconds(t)
            }
        }
        if line == "ERROR" {
            throw MemcachedError(
                "mg on \(server)",
                "the node does not know the meta command mg (memcached 1.6 or newer tells a key's remaining TTL); upgrade it, or give --refresh-below 0% to leave present keys alone",
                code: MEMCACHED_PROTOCOL_ERROR.rawValue)
        }
        throw MemcachedError("mg on \(server)", "unexpected reply '\(line.prefix(80))'", code: MEMCACHED_PROTOCOL_ERROR.rawValue)
    }

    /// The next reply line, without its `\r\n`.
    private func readLine() throws(MemcachedError) -> String {
        while true {
            if let newline = received[consumed...].firstIndex(of: 0x0A) {
                var end = newline
                if end > consumed && received[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: received[consumed..<end], as: UTF8.self)
                consumed = newline + 1
                return line
            }
            // Keep only the unread part before reading more.
            received.removeFirst(consumed)
            consumed = 0
            let chunk = try socket.receive()
            if chunk.isEmpty {
                throw MemcachedError("mg on \(server)", "the node closed the connection", code: MEMCACHED_CONNECTION_FAILURE.rawValue)
            }
            received += chunk
        }
    }
}
