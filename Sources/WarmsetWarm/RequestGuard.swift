import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

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
    public static func unsafePath(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "the path does not start with '/'" }
        if path.hasPrefix("//") { return "the path starts with '//' (a network-path reference names another host)" }
        if path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "#") }) {
            return "the path holds a space, control byte, backslash or '#'"
        }
        let pathOnly = path.prefix { $0 != "?" }
        for segment in pathOnly.split(separator: "/", omittingEmptySubsequences: false) {
            let decoded = segment.lowercased().replacingOccurrences(of: "%2e", with: ".")
            if decoded == ".." || decoded == "." { return "the path holds a dot segment ('\(segment)')" }
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

/// One request through async-http-client with redirects handled by warmset: none followed, or
/// (when `followRedirects`) up to `maxRedirects` on the guarded host only. The client must be
/// configured with `redirectConfiguration = .disallow`.
public enum GuardedRequest {
    /// What came back.
    public enum Outcome: Sendable {
        /// A response (a 3xx when redirects are not followed).
        case response(HTTPClient.Response, redirects: Int)
        /// A redirect to another host (or beyond `maxRedirects`), not followed.
        case refusedRedirect(location: String, status: Int)
        /// No response.
        case failure(any Error)
    }

    /// Sends `method url` and calls `completion` once, on an event loop.
    public static func execute(
        client: HTTPClient, url: String, method: HTTPMethod, headers: HTTPHeaders, deadline: NIODeadline,
        guard requestGuard: RequestGuard, followRedirects: Bool, maxRedirects: Int = 5, redirects: Int = 0,
        completion: @escaping @Sendable (Outcome) -> Void
    ) {
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: method, headers: headers)
        } catch {
            completion(.failure(error))
            return
        }
        client.execute(request: request, deadline: deadline).whenComplete { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let response):
                let code = Int(response.status.code)
                guard followRedirects, [301, 302, 303, 307, 308].contains(code), let location = response.headers.first(name: "Location") else {
                    completion(.response(response, redirects: redirects))
                    return
                }
                guard redirects < maxRedirects, let next = requestGuard.redirectTarget(location, from: url) else {
                    completion(.refusedRedirect(location: location, status: code))
                    return
                }
                execute(
                    client: client, url: next, method: method == .HEAD ? .HEAD : .GET, headers: headers, deadline: deadline,
                    guard: requestGuard, followRedirects: true, maxRedirects: maxRedirects, redirects: redirects + 1, completion: completion)
            }
        }
    }
}
