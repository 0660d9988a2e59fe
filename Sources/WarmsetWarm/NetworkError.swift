import Foundation
import NIOCore
import NIOPosix
import NIOSSL

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
        if let failure = TLSFailure.of(error, hasClientCertificate: false) { return failure.sentence }
        if let tls = error as? NIOSSLError, case .handshakeFailed(let ssl) = tls {
            // BoringSSL's text ends in its reason and the source line (`…:OPENSSL_internal:REASON
            // at /path/handshake.cc:320`): the reason, never the build path.
            let reason = "\(ssl)".components(separatedBy: " at ").first?.split(separator: ":").last.map(String.init) ?? ""
            return reason.isEmpty || reason.contains("(") ? "the TLS handshake failed" : "the TLS handshake failed (\(reason))"
        }
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

/// Why a TLS handshake failed, told from NIOSSL's errors and BoringSSL's reason codes: the one
/// classification of handshake failures, for the HTTP fetcher (`NetworkError.sentence`) and the
/// Redis TLS relay (which adds its own hints).
public enum TLSFailure: Sendable, Equatable {
    /// The certificate does not name the host connected to.
    case wrongName
    /// The certificate does not lead to a trusted CA (or has expired).
    case untrusted
    /// The server wants a client certificate and none was given.
    case clientCertificateRequired
    /// The server refused the client certificate given.
    case clientCertificateRefused
    /// The other side does not speak TLS (a plain port).
    case notTLS

    /// The failure `error` stands for, or nil when it is not one of these.
    public static func of(_ error: any Error, hasClientCertificate: Bool) -> TLSFailure? {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname { return .wrongName }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return .untrusted }
        if text.contains("CERTIFICATE_REQUIRED") || text.contains("HANDSHAKE_FAILURE") && !hasClientCertificate { return .clientCertificateRequired }
        if text.contains("BAD_CERTIFICATE") || text.contains("UNKNOWN_CA") || text.contains("CERTIFICATE_UNKNOWN") { return .clientCertificateRefused }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("UNEXPECTED_RECORD")
            || text.contains("HTTP_REQUEST") || (error as? NIOSSLError) == .uncleanShutdown
        {
            return .notTLS
        }
        return nil
    }

    /// The failure in one phrase with its fix, for an https:// URL.
    public var sentence: String {
        switch self {
        case .wrongName: "the server's certificate is not for this host name"
        case .untrusted: "the server's certificate is not trusted (its CA is not among the trust roots, or it has expired): give its CA with --tls-ca"
        case .clientCertificateRequired: "the server requires a client certificate, which warmset does not send to https:// servers"
        case .clientCertificateRefused: "the server refused the TLS handshake's client certificate"
        case .notTLS: "the server did not answer the TLS handshake (a plain http:// port?)"
        }
    }
}
