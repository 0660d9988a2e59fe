import NIOCore
import NIOHTTP1

/// One variant's request on one route, encoded once: everything of an HTTP/1.1 request without
/// a body but its target, so that sending a request copies three runs of bytes into a buffer
/// (the method, the URL's target, the rest of the head) and builds no header list, no `String`
/// and no URL per request.
struct HTTPRequestTemplate: Sendable {
    /// The request method.
    let method: HTTPMethod
    /// `METHOD ` (with its space).
    private let methodBytes: [UInt8]
    /// ` HTTP/1.1`, the header lines and the empty line that ends the head.
    private let rest: [UInt8]

    /// The request `method` with `headers` (names and values as given, each already checked to
    /// hold no line break by `HTTPFetcher.headerLine`), in order.
    init(method: HTTPMethod, headers: [(String, String)]) {
        self.method = method
        methodBytes = Array("\(method.rawValue) ".utf8)
        var rest = Array(" HTTP/1.1\r\n".utf8)
        for (name, value) in headers {
            rest += name.utf8
            rest += ": ".utf8
            rest += value.utf8
            rest += "\r\n".utf8
        }
        rest += "\r\n".utf8
        self.rest = rest
    }

    /// The bytes a request for `url` takes (a little more when its target starts with `?`).
    func capacity(for url: String) -> Int { methodBytes.count + url.utf8.count + 1 + rest.count }

    /// Writes the request for the absolute `url` (its request target, see
    /// `RequestGuard.requestTargetStart`) into `buffer`, as a `GET` when `asGET` (a redirect
    /// followed).
    func write(_ url: String, asGET: Bool, into buffer: inout ByteBuffer) {
        if asGET && method != .GET { buffer.writeStaticString("GET ") } else { buffer.writeBytes(methodBytes) }
        // The URL's bytes in place (a native string's already are contiguous): one scan, one copy.
        var url = url
        url.withUTF8 { bytes in
            let bytes = UnsafeRawBufferPointer(bytes)
            if let start = RequestGuard.requestTargetStart(bytes) {
                if bytes[start] == UInt8(ascii: "?") { buffer.writeInteger(UInt8(ascii: "/")) }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start...]))
            } else {
                buffer.writeInteger(UInt8(ascii: "/"))
            }
        }
        buffer.writeBytes(rest)
    }
}
