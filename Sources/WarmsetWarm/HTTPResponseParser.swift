import Glibc
import NIOCore

/// The responses of one HTTP/1.1 client connection that has one request outstanding at a time,
/// parsed from the bytes as they come: a head, its body in slices of the bytes read (no copy),
/// then its end. The head is read once its last line is in (one scan for its end, one pass over
/// its lines); only the three headers that frame the response (`Content-Length`,
/// `Transfer-Encoding`, `Connection`) are interpreted, the others are kept as bytes
/// (`HTTPResponseHeaders`). Replaces NIOHTTP1's codec, which built a header list of strings per
/// response and cost a quarter of a warm run's CPU.
///
/// Framing follows RFC 9112 §6.3: no body for a `HEAD` request, 204 and 304; a
/// `Transfer-Encoding` ending in `chunked` is read chunk by chunk (and wins over a
/// `Content-Length`, after which the connection is not reused); another transfer coding or no
/// length at all is read until the server closes; else `Content-Length` bytes. Interim 1xx
/// responses are skipped. Anything else unexpected is a `HTTPFetchError.malformed`, after which
/// the connection must be closed.
struct HTTPResponseParser {
    /// A response's head.
    struct Head {
        /// The status code, 100–999.
        var status: Int
        /// The header lines.
        var headers: HTTPResponseHeaders
        /// Whether the connection may carry another request after this response.
        var keepAlive: Bool
    }

    /// What the bytes said.
    enum Event {
        case head(Head)
        /// Some of the body: a slice of the bytes read.
        case body(ByteBuffer)
        /// The response is complete.
        case end
    }

    private enum State: Equatable {
        /// No request is outstanding: no byte may come.
        case idle
        case head
        /// A body of known length: the bytes still to come.
        case fixed(Int)
        /// A body that ends when the server closes the connection.
        case untilClose
        case chunkSize
        /// Inside a chunk: its bytes still to come.
        case chunkData(Int)
        /// The line break after a chunk's data.
        case chunkDataEnd
        case trailers
    }

    /// A head (or a chunk-size or trailer line) longer than this fails the response.
    static let maxHeadBytes = 64 << 10

    private var state = State.idle
    /// The request was a `HEAD`: its response has no body, whatever its headers say.
    private var noBody = false
    /// The start of a head or line whose end has not come yet.
    private var partial: ByteBuffer?

    /// Sets the parser for the response to a request just sent (a `HEAD` when `noBody`).
    mutating func expectResponse(noBody: Bool) {
        state = .head
        self.noBody = noBody
        partial = nil
    }

    /// The next event in `input`, reading what it uses; nil when `input` holds no more (what
    /// is left of an unfinished head or line is kept for the next call).
    /// - Throws: `HTTPFetchError.malformed` when the bytes are not an HTTP/1.x response.
    mutating func next(_ input: inout ByteBuffer) throws -> Event? {
        while true {
            switch state {
            case .idle:
                if input.readableBytes > 0 { throw HTTPFetchError.malformed("bytes came with no request outstanding") }
                return nil
            case .head:
                let noBody = noBody
                guard let taken = try take(&input, through: Self.headEnd, { try Self.head($0, noBody: noBody) }) else { return nil }
                // nil: an interim 1xx response, skipped.
                if let (head, body) = taken {
                    state = body
                    return .head(head)
                }
            case .fixed(let remaining):
                if remaining == 0 {
                    state = .idle
                    return .end
                }
                guard let slice = input.readSlice(length: min(remaining, input.readableBytes)), slice.readableBytes > 0 else { return nil }
                state = .fixed(remaining - slice.readableBytes)
                return .body(slice)
            case .untilClose:
                guard input.readableBytes > 0, let slice = input.readSlice(length: input.readableBytes) else { return nil }
                return .body(slice)
            case .chunkSize:
                guard let size = try take(&input, through: Self.lineEnd, Self.chunkSize) else { return nil }
                state = size == 0 ? .trailers : .chunkData(size)
            case .chunkData(let remaining):
                guard let slice = input.readSlice(length: min(remaining, input.readableBytes)), slice.readableBytes > 0 else { return nil }
                state = slice.readableBytes == remaining ? .chunkDataEnd : .chunkData(remaining - slice.readableBytes)
                return .body(slice)
            case .chunkDataEnd:
                guard let empty = try take(&input, through: Self.lineEnd, { Self.trimmed($0, 0..<$0.count).isEmpty }) else { return nil }
                if !empty { throw HTTPFetchError.malformed("a chunk is longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let empty = try take(&input, through: Self.lineEnd, { Self.trimmed($0, 0..<$0.count).isEmpty }) else { return nil }
                if empty {
                    state = .idle
                    return .end
                }
            }
        }
    }

    /// The end of the response when the server has closed the connection: the end of a body
    /// read until the close; nil when the close cut a response short (or came between responses).
    mutating func endOfInput() -> Event? {
        guard state == .untilClose else { return nil }
        state = .idle
        return .end
    }

    // MARK: heads and lines

    /// Passes the bytes of `input` up to the end `end` finds (a head or a line, its line break
    /// included) to `body` and reads them; nil when the end has not come yet (the bytes are kept).
    private mutating func take<R>(
        _ input: inout ByteBuffer, through end: (UnsafeRawBufferPointer) -> Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        if var held = partial {
            partial = nil
            held.writeBuffer(&input)
            input = held
        }
        guard let length = input.withUnsafeReadableBytes(end) else {
            if input.readableBytes > Self.maxHeadBytes {
                throw HTTPFetchError.malformed("the response head (or a chunk line) is over \(Self.maxHeadBytes >> 10) KiB")
            }
            if input.readableBytes > 0 { partial = input }
            input.moveReaderIndex(to: input.writerIndex)
            return nil
        }
        let result = try input.withUnsafeReadableBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
        input.moveReaderIndex(forwardBy: length)
        return result
    }

    /// The offset of the first `byte` of `bytes` in `range`, or nil.
    static func find(_ byte: UInt8, in bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, let base = bytes.baseAddress, let found = memchr(base + range.lowerBound, Int32(byte), range.count) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// The length of the first line of `bytes` with its LF; nil when it has none.
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        find(UInt8(ascii: "\n"), in: bytes, 0..<bytes.count).map { $0 + 1 }
    }

    /// The length of the head at the start of `bytes`, up to and with the empty line (LF or
    /// CRLF) that ends it; nil when it has not come. Empty lines before the status line (left
    /// by a server after a body) are part of it.
    private static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var from = 0
        while from < bytes.count, bytes[from] == UInt8(ascii: "\r") || bytes[from] == UInt8(ascii: "\n") { from += 1 }
        while let newline = find(UInt8(ascii: "\n"), in: bytes, from..<bytes.count) {
            if newline + 1 < bytes.count, bytes[newline + 1] == UInt8(ascii: "\n") { return newline + 2 }
            if newline + 2 < bytes.count, bytes[newline + 1] == UInt8(ascii: "\r"), bytes[newline + 2] == UInt8(ascii: "\n") { return newline + 3 }
            from = newline + 1
        }
        return nil
    }

    /// `range` of `bytes` without the spaces, tabs, CRs and LFs at its ends.
    static func trimmed(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        func isSpace(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        }
        var start = range.lowerBound
        var end = range.upperBound
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        return start..<end
    }

    /// Whether `range` of `bytes` is `lowercase` (ASCII letters compared without case).
    private static func equal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        HTTPResponseHeaders.equalIgnoringCase(
            UnsafeRawBufferPointer(rebasing: bytes[range]), UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
    }

    /// The size of a chunk from its line: hex digits (15 at most: a size far below `Int.max`),
    /// then perhaps `;` and extensions, which are ignored.
    private static func chunkSize(_ line: UnsafeRawBufferPointer) throws -> Int {
        var text = trimmed(line, 0..<line.count)
        if let semicolon = find(UInt8(ascii: ";"), in: line, text) { text = trimmed(line, text.lowerBound..<semicolon) }
        guard !text.isEmpty, text.count <= 15 else { throw HTTPFetchError.malformed("a chunk size is not a hexadecimal number") }
        var size = 0
        for byte in line[text] {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
            default: throw HTTPFetchError.malformed("a chunk size is not a hexadecimal number")
            }
            size = size << 4 | Int(value)
        }
        return size
    }

    /// The head in `bytes` (its end found by `headEnd`) and the state that reads its body (none
    /// when `noBody`: the request was a `HEAD`); nil for an interim 1xx response, which is skipped.
    private static func head(_ bytes: UnsafeRawBufferPointer, noBody: Bool) throws -> (Head, State)? {
        let lf = UInt8(ascii: "\n")
        var start = 0
        while bytes[start] == UInt8(ascii: "\r") || bytes[start] == lf { start += 1 }
        // `headEnd` found an LF after `start`.
        let statusEnd = find(lf, in: bytes, start..<bytes.count) ?? bytes.count
        let statusLine = trimmed(bytes, start..<statusEnd)
        guard let status = status(UnsafeRawBufferPointer(rebasing: bytes[statusLine])) else {
            let shown = String(decoding: bytes[statusLine].prefix(40), as: UTF8.self)
            throw HTTPFetchError.malformed("the status line '\(shown)' is not 'HTTP/1.x NNN reason'")
        }
        let http11 = bytes[statusLine.lowerBound + 7] != UInt8(ascii: "0")
        if status < 200 {
            if status == 101 { throw HTTPFetchError.malformed("the server switched protocols (101), which was not asked for") }
            return nil
        }
        var contentLength: Int?
        var transferCoding = false
        var chunked = false
        var close = false
        var keepAliveToken = false
        let headersStart = statusEnd + 1
        var headersEnd = headersStart
        var lineStart = headersStart
        while lineStart < bytes.count {
            let newline = find(lf, in: bytes, lineStart..<bytes.count) ?? bytes.count
            let line = trimmed(bytes, lineStart..<newline)
            if line.isEmpty {
                headersEnd = lineStart
                break
            }
            if bytes[lineStart] == UInt8(ascii: " ") || bytes[lineStart] == UInt8(ascii: "\t") {
                throw HTTPFetchError.malformed("a header line is folded onto the next (obsolete line folding)")
            }
            guard let colon = find(UInt8(ascii: ":"), in: bytes, line), colon > line.lowerBound else {
                throw HTTPFetchError.malformed("a header line has no 'Name:'")
            }
            let name = line.lowerBound..<colon
            if find(UInt8(ascii: " "), in: bytes, name) != nil || find(UInt8(ascii: "\t"), in: bytes, name) != nil {
                throw HTTPFetchError.malformed("a header name holds a space")
            }
            let value = trimmed(bytes, colon + 1..<line.upperBound)
            switch name.count {
            case 14 where equal(bytes, name, "content-length"):
                guard let length = decimal(UnsafeRawBufferPointer(rebasing: bytes[value])) else {
                    throw HTTPFetchError.malformed("Content-Length '\(String(decoding: bytes[value].prefix(20), as: UTF8.self))' is not a length")
                }
                if let contentLength, contentLength != length { throw HTTPFetchError.malformed("two Content-Length headers disagree") }
                contentLength = length
            case 17 where equal(bytes, name, "transfer-encoding"):
                transferCoding = true
                var last = value.upperBound
                while last > value.lowerBound && bytes[last - 1] != UInt8(ascii: ",") { last -= 1 }
                chunked = equal(bytes, trimmed(bytes, last..<value.upperBound), "chunked")
            case 10 where equal(bytes, name, "connection"):
                var tokenStart = value.lowerBound
                while tokenStart < value.upperBound {
                    let comma = find(UInt8(ascii: ","), in: bytes, tokenStart..<value.upperBound) ?? value.upperBound
                    let token = trimmed(bytes, tokenStart..<comma)
                    if equal(bytes, token, "close") { close = true }
                    if equal(bytes, token, "keep-alive") { keepAliveToken = true }
                    tokenStart = comma + 1
                }
            default:
                break
            }
            lineStart = newline + 1
        }
        var keepAlive = !close && (http11 || keepAliveToken)
        let state: State
        if noBody || status == 204 || status == 304 {
            state = .fixed(0)
        } else if transferCoding {
            state = chunked ? .chunkSize : .untilClose
            // A length beside a transfer coding may be a smuggling attempt: the connection ends.
            if !chunked || contentLength != nil { keepAlive = false }
        } else if let contentLength {
            state = .fixed(contentLength)
        } else {
            state = .untilClose
            keepAlive = false
        }
        let headers = HTTPResponseHeaders(lines: UnsafeRawBufferPointer(rebasing: bytes[headersStart..<headersEnd]))
        return (Head(status: status, headers: headers, keepAlive: keepAlive), state)
    }

    /// The status code of a status line `HTTP/1.x NNN[ reason]`, or nil when it is not one.
    private static func status(_ line: UnsafeRawBufferPointer) -> Int? {
        guard line.count >= 12, line.starts(with: "HTTP/1.".utf8) else { return nil }
        func digit(_ offset: Int) -> Int? {
            let byte = line[offset]
            return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
        }
        guard digit(7) != nil, line[8] == UInt8(ascii: " "), let a = digit(9), let b = digit(10), let c = digit(11), a > 0,
            line.count == 12 || line[12] == UInt8(ascii: " ")
        else { return nil }
        return a * 100 + b * 10 + c
    }

    /// A run of 1–18 decimal digits as a number.
    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
