import Foundation
import NIOCore
import NIOPosix

/// SwiftNIO's connect and I/O errors in the words the C library uses (`Connection refused`,
/// `cannot resolve the host 'x'`), for the HTTP fetcher and the Redis TLS relay alike: NIO's own
/// descriptions ("connection reset (error set): Connection refused) (errno: 111)") are not for people.
public enum NetworkError {
    /// One short phrase for `error`; errors that are not NIO's keep their own description.
    public static func sentence(_ error: any Error) -> String {
        var error = error
        if let failure = error as? NIOConnectionError {
            if failure.dnsAError != nil || failure.dnsAAAAError != nil { return "cannot resolve the host '\(failure.host)'" }
            if let first = failure.connectionErrors.first?.error { error = first }
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if case ChannelError.connectTimeout = error { return "Connection timed out" }
        return "\(error)"
    }

    /// Whether `host` is an IPv4 or IPv6 address (not sent as TLS SNI; the certificate is
    /// checked against the address instead).
    public static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
