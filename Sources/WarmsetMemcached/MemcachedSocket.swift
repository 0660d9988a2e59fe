import CMemcached
import Glibc

/// A blocking TCP socket to one memcached node, for `MemcachedMetaConnection`: connect (every
/// address the name resolves to, in turn) with a timeout, send all, receive some, close in
/// `deinit`. Timeouts are `SO_SNDTIMEO` (which bounds `connect` on Linux) and `SO_RCVTIMEO`.
///
/// WarmsetSystem has no socket calls and WarmsetMemcached does not depend on it, so the few
/// calls live here, with one place (`failure`) that turns `errno` into a `MemcachedError`.
final class MemcachedSocket {
    let server: MemcachedServer
    private let fd: Int32

    /// Connects to `server`.
    /// - Throws: `MemcachedError` naming the node and why it could not be reached.
    init(server: MemcachedServer, connectTimeout: Double, timeout: Double) throws(MemcachedError) {
        self.server = server
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(server.host, String(server.port), &hints, &list)
        guard rc == 0, let list else {
            throw MemcachedError(
                "mg on \(server)", "cannot resolve the host (\(String(cString: gai_strerror(rc))))", code: MEMCACHED_HOST_LOOKUP_FAILURE.rawValue)
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var address: UnsafeMutablePointer<addrinfo>? = list
        while let current = address {
            address = current.pointee.ai_next
            let candidate = Glibc.socket(current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), current.pointee.ai_protocol)
            guard candidate >= 0 else {
                lastError = errno
                continue
            }
            Self.setTimeout(candidate, SO_SNDTIMEO, connectTimeout)
            if connect(candidate, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                Self.setTimeout(candidate, SO_SNDTIMEO, timeout)
                Self.setTimeout(candidate, SO_RCVTIMEO, timeout)
                var one: Int32 = 1
                setsockopt(candidate, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                fd = candidate
                return
            }
            lastError = errno
            Glibc.close(candidate)
        }
        throw Self.failure(server, "connect", lastError)
    }

    deinit { Glibc.close(fd) }

    /// Sends all of `bytes`.
    /// - Throws: `MemcachedError` when the node does not take them in time or the connection broke.
    func send(_ bytes: [UInt8]) throws(MemcachedError) {
        var sent = 0
        while sent < bytes.count {
            // Safe: sent < bytes.count, so the slice is inside `bytes`.
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.failure(server, "send", errno)
            }
            sent += n
        }
    }

    /// Receives what has arrived (at least one byte; empty when the node closed the connection).
    /// - Throws: `MemcachedError` when nothing arrives within the timeout or the connection broke.
    func receive() throws(MemcachedError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Array(buffer[0..<n]) }
            if errno == EINTR { continue }
            throw Self.failure(server, "receive", errno)
        }
    }

    private static func setTimeout(_ fd: Int32, _ option: Int32, _ seconds: Double) {
        let whole = max(seconds, 0.001)
        var value = timeval(tv_sec: Int(whole), tv_usec: Int((whole - whole.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The one place a failed socket call's `errno` becomes an error; timeouts say so.
    private static func failure(_ server: MemcachedServer, _ operation: String, _ code: Int32) -> MemcachedError {
        // libmemcached's codes for the same failures, so that the caller tells a node that is down
        // (`MemcachedPool.isNodeDown`) from a protocol error as it does for libmemcached's own calls.
        let timedOut = code == EAGAIN || code == EWOULDBLOCK || code == EINPROGRESS
        let text = timedOut ? "timed out" : (strerror(code).map { String(cString: $0) } ?? "errno \(code)")
        let rc = timedOut ? MEMCACHED_TIMEOUT : (operation == "connect" ? MEMCACHED_CONNECTION_FAILURE : MEMCACHED_UNKNOWN_READ_FAILURE)
        return MemcachedError("mg on \(server)", "\(operation): \(text)", code: rc.rawValue)
    }
}
