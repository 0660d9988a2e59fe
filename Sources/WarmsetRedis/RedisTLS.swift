import Foundation

/// How a `rediss://` connection proves who the server is, and who warmset is.
///
/// Verification is on unless `insecure`: the server's chain must lead to the system's roots (or
/// to `caFile`), and its certificate must name the URL's host (a DNS name, also sent as SNI, or
/// an IP address checked against the certificate's IP addresses).
public struct RedisTLSSettings: Sendable, Equatable, Hashable {
    /// PEM file of the CA certificates to trust instead of the system's roots (`--tls-ca`).
    public var caFile: String?
    /// PEM file of the client certificate (chain) for mutual TLS (`--tls-cert`).
    public var certificateFile: String?
    /// PEM file of the client certificate's private key (`--tls-key`).
    public var keyFile: String?
    /// Skip every check of the server's certificate (`--tls-insecure`, for tests only).
    public var insecure: Bool

    /// Settings that verify against the system's roots and present no client certificate.
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.insecure = insecure
    }

    /// Whether any TLS option was given (they need a `rediss://` URL).
    public var anyGiven: Bool { caFile != nil || certificateFile != nil || keyFile != nil || insecure }

    /// Checks that the files exist and load (a certificate and its key belong together).
    /// - Throws: `RedisError` of kind `.url` naming the file and the option.
    public func check() throws(RedisError) {
        _ = try RedisTLSRelay.context(for: self, server: "TLS settings")
    }
}
