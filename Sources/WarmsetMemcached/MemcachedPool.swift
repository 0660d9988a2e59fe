import CMemcached
import Glibc

/// A memcached pool through libmemcached: one `memcached_st` (its connections and the
/// distribution continuum), owned by this object and freed in `deinit`. Not thread-safe: each
/// worker thread builds its own.
final class MemcachedPool {
    /// The outcome of one `add` or `set`.
    enum StoreResult: Equatable {
        /// Written.
        case stored
        /// `add` found the key present (`NOT_STORED`).
        case present
        /// Failed; `nodeDown` for connection failures and timeouts.
        case failed(code: UInt32, message: String, nodeDown: Bool)
    }

    /// A value read with `get`.
    struct Item {
        var value: [UInt8]
        var flags: UInt32
    }

    let servers: [MemcachedServer]
    /// libmemcached's functions (`MemcachedLibrary`).
    let lib: warmset_memcached_api
    let handle: UnsafeMutablePointer<memcached_st>

    /// A pool over `servers` distributed as `distribution`.
    /// - Parameters:
    ///   - connectTimeout: seconds to connect.
    ///   - timeout: seconds to wait for a reply.
    /// - Throws: `MemcachedError` when libmemcached cannot be loaded, allocate the pool or add a server.
    init(servers: [MemcachedServer], distribution: MemcachedDistribution, connectTimeout: Double, timeout: Double) throws(MemcachedError) {
        lib = try MemcachedLibrary.functions()
        guard let handle = lib.memcached_create(nil) else {
            throw MemcachedError("memcached pool", "libmemcached could not allocate a pool (out of memory)")
        }
        self.handle = handle
        self.servers = servers
        try configure(distribution: distribution, connectTimeout: connectTimeout, timeout: timeout)
        for server in servers {
            let rc = lib.memcached_server_add(handle, server.host, in_port_t(server.port))
            guard rc == MEMCACHED_SUCCESS else {
                throw MemcachedError("memcached server \(server)", message(rc), code: rc.rawValue)
            }
        }
    }

    deinit { lib.memcached_free(handle) }

    private func configure(distribution: MemcachedDistribution, connectTimeout: Double, timeout: Double) throws(MemcachedError) {
        var behaviours: [(memcached_behavior_t, UInt64, String)] = []
        switch distribution {
        case .ketama:
            behaviours.append((MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1, "KETAMA_WEIGHTED"))
        case .modula:
            behaviours.append((MEMCACHED_BEHAVIOR_DISTRIBUTION, UInt64(MEMCACHED_DISTRIBUTION_MODULA.rawValue), "DISTRIBUTION"))
        }
        let connectMs = UInt64(max(1, connectTimeout * 1000))
        let pollMs = UInt64(max(1, timeout * 1000))
        behaviours += [
            (MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, connectMs, "CONNECT_TIMEOUT"),
            (MEMCACHED_BEHAVIOR_POLL_TIMEOUT, pollMs, "POLL_TIMEOUT"),
            (MEMCACHED_BEHAVIOR_RCV_TIMEOUT, pollMs * 1000, "RCV_TIMEOUT"),
            (MEMCACHED_BEHAVIOR_SND_TIMEOUT, pollMs * 1000, "SND_TIMEOUT"),
            // A node that is down stays in the continuum (no auto-eject), so that keys keep
            // landing where the application's client looks for them; its keys fail instead.
            (MEMCACHED_BEHAVIOR_TCP_NODELAY, 1, "TCP_NODELAY"),
        ]
        for (behaviour, value, name) in behaviours {
            let rc = lib.memcached_behavior_set(handle, behaviour, value)
            guard rc == MEMCACHED_SUCCESS else {
                throw MemcachedError("memcached behaviour \(name)", message(rc), code: rc.rawValue)
            }
        }
    }

    /// The text of a return code, with the system error for `ERRNO` (libmemcached's last
    /// error message carries a pointer and a source line, which help no one reading a report).
    func message(_ rc: memcached_return_t) -> String {
        let base = lib.memcached_strerror(handle, rc).map { String(cString: $0) } ?? "error \(rc.rawValue)"
        let errno = lib.memcached_last_error_errno(handle)
        if rc == MEMCACHED_ERRNO, errno != 0, let text = strerror(errno) { return "\(base): \(String(cString: text))" }
        return base
    }

    /// Whether `rc` means the node could not be reached or did not answer in time.
    static func isNodeDown(_ rc: memcached_return_t) -> Bool {
        [
            MEMCACHED_CONNECTION_FAILURE, MEMCACHED_SERVER_MARKED_DEAD, MEMCACHED_SERVER_TEMPORARILY_DISABLED,
            MEMCACHED_TIMEOUT, MEMCACHED_UNKNOWN_READ_FAILURE, MEMCACHED_WRITE_FAILURE, MEMCACHED_READ_FAILURE,
            MEMCACHED_ERRNO, MEMCACHED_HOST_LOOKUP_FAILURE, MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE,
            MEMCACHED_NO_SERVERS,
        ].contains(rc)
    }
}

extension MemcachedPool {
    /// `SERVER_ERROR object too large for cache`.
    static let tooBig: UInt32 = MEMCACHED_E2BIG.rawValue
}
