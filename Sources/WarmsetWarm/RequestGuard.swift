import Foundation

/// Keeps warm requests on the configured host: whatever a manifest's path says (`//evil/`,
/// `@evil`, an absolute URL, a `..` segment), the request goes to the scheme, host and port given
/// on the command line, and redirects are followed only there. Shared by the origin (`--origin`)
/// and the HTTP warmer (`--http`).
public struct RequestGuard: Sendable, Equatable {
    /// `http` or `https`.
    public let scheme: String
    /// The host, lowercased.
    public let host: String
    /// The port, explicit or the scheme's default.
    public let port: Int

    /// The guard for the origin of `url` (its scheme, host and port).
    /// - Throws: `WarmError` when `url` is not an absolute http(s) URL with a host.
    public init(url text: String, option: String) throws(WarmError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw WarmError("\(option) '\(Redaction.url(text))'", "expected an absolute http:// or https:// URL with a host")
        }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = url.port ?? (scheme == "https" ? 443 : 80)
    }

    /// Whether `text` parses and goes to this scheme, host and port, with no userinfo.
    public func allows(_ text: String) -> Bool {
        guard let url = URL(string: text), url.user == nil, url.password == nil,
            url.scheme?.lowercased() == scheme, url.host?.lowercased() == host
        else { return false }
        return (url.port ?? (scheme == "https" ? 443 : 80)) == port
    }

    /// Why `path` may not be appended to a base URL, or nil when it may: it must start with one
    /// `/`, and may hold no `..` segment (also percent-encoded), backslash, `#`, space or control
    /// byte. Such paths never come out of warmset's own analysis (it normalizes them); a
    /// manifest that carries one was written by something else.
    ///
    /// Every key of an `--http` or `{path}` run goes through here: an ASCII path (nearly all) is
    /// checked on its bytes, without Foundation (`lowercased` and `replacingOccurrences` on each
    /// segment cost 4.7% of a `warm --http` run's CPU); any other path by `unsafePathPlain`.
    public static func unsafePath(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "the path does not start with '/'" }
        if path.hasPrefix("//") { return "the path starts with '//' (a network-path reference names another host)" }
        var ascii = true
        for byte in path.utf8 {
            if byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "#") {
                return "the path holds a space, control byte, backslash or '#'"
            }
            if byte >= 0x80 { ascii = false }
        }
        guard ascii else { return dotSegmentPlain(path) }
        var bytes = path
        return bytes.withUTF8 { dotSegmentASCII(UnsafeRawBufferPointer($0)) }
    }

    /// `unsafePath` as first written, on `Character`s and Foundation: the reference that
    /// `unsafePath`'s byte check is tested against.
    static func unsafePathPlain(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "the path does not start with '/'" }
        if path.hasPrefix("//") { return "the path starts with '//' (a network-path reference names another host)" }
        if path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "#") }) {
            return "the path holds a space, control byte, backslash or '#'"
        }
        return dotSegmentPlain(path)
    }

    /// The dot-segment check of an ASCII path's bytes (where each byte is a `Character`, so the
    /// segments are those `dotSegmentPlain` sees): a segment before the `?` that is one or two
    /// dots, each `.` or `%2e` in either case.
    private static func dotSegmentASCII(_ bytes: UnsafeRawBufferPointer) -> String? {
        var start = 0
        for end in 0...bytes.count where end == bytes.count || bytes[end] == UInt8(ascii: "/") || bytes[end] == UInt8(ascii: "?") {
            if isDotSegment(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
                return "the path holds a dot segment ('\(String(decoding: bytes[start..<end], as: UTF8.self))')"
            }
            if end == bytes.count || bytes[end] == UInt8(ascii: "?") { break }
            start = end + 1
        }
        return nil
    }

    /// Whether `segment` is `.` or `..`, each dot written `.` or `%2e`/`%2E`.
    private static func isDotSegment(_ segment: UnsafeRawBufferPointer) -> Bool {
        // One or two dots of one or three bytes each: 1 to 6 bytes.
        guard (1...6).contains(segment.count) else { return false }
        var at = 0
        var dots = 0
        while at < segment.count {
            if segment[at] == UInt8(ascii: ".") {
                at += 1
            } else if segment[at] == UInt8(ascii: "%"), at + 2 < segment.count, segment[at + 1] == UInt8(ascii: "2"), segment[at + 2] | 0x20 == UInt8(ascii: "e") {
                at += 3
            } else {
                return false
            }
            dots += 1
        }
        return dots <= 2
    }

    /// The dot-segment check on `Character`s, for any path.
    private static func dotSegmentPlain(_ path: String) -> String? {
        let pathOnly = path.prefix { $0 != "?" }
        for segment in pathOnly.split(separator: "/", omittingEmptySubsequences: false) {
            let decoded = segment.lowercased().replacingOccurrences(of: "%2e", with: ".")
            if decoded == ".." || decoded == "." { return "the path holds a dot segment ('\(segment)')" }
        }
        return nil
    }

    /// The `Host` header of a request to this origin: the host (an IPv6 address in brackets),
    /// with the port when it is not the scheme's default.
    public var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (scheme == "https" ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// The request target of an absolute URL that `allows` (or that was built on a base URL it
    /// allows and a path `unsafePath` passed): what follows the authority, `/` when nothing does.
    public static func requestTarget(_ url: String) -> String {
        var url = url
        return url.withUTF8 { bytes in
            let bytes = UnsafeRawBufferPointer(bytes)
            guard let start = requestTargetStart(bytes) else { return "/" }
            let target = String(decoding: bytes[start...], as: UTF8.self)
            return bytes[start] == UInt8(ascii: "?") ? "/" + target : target
        }
    }

    /// Where the request target of a URL's bytes starts (its first `/` or `?` after the
    /// authority), or nil when nothing follows the authority; a target starting with `?` is sent
    /// after a `/`. A scan of the bytes in place, no URL parse: it runs once per request.
    static func requestTargetStart(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var start = 0
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[colon...].starts(with: "://".utf8) { start = colon + 3 }
        var at = start
        while at < bytes.count {
            if bytes[at] == UInt8(ascii: "/") || bytes[at] == UInt8(ascii: "?") { return at }
            at += 1
        }
        return nil
    }

    /// The absolute URL a `Location` header points to from `url`, if it stays on this host.
    public func redirectTarget(_ location: String, from url: String) -> String? {
        guard let base = URL(string: url), let target = URL(string: location, relativeTo: base)?.absoluteURL else { return nil }
        let text = target.absoluteString
        return allows(text) ? text : nil
    }
}

/// What one request through an `HTTPFetcher` route came to, its redirects handled by warmset:
/// none followed, or (when asked) up to 5 on the guarded host only.
public enum GuardedRequest {
    /// What came back.
    public enum Outcome: Sendable {
        /// A response (a 3xx when redirects are not followed).
        case response(HTTPFetcher.Response, redirects: Int)
        /// A redirect to another host (or beyond 5 redirects), not followed.
        case refusedRedirect(location: String, status: Int)
        /// No response.
        case failure(any Error)
    }
}
