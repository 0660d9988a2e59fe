#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fields of one parsed line, as views into the line (or the parser's scratch space).
///
/// Valid only inside the callback that received the line: nothing here is copied, so
/// parsing allocates nothing. Text fields still hold the log's own escapes (`\xHH`, `\"`);
/// `KeyBuilder` decodes them where it matters.
public struct RequestFields {
    /// The request method (`GET`), if the format has it.
    public var method: UnsafeRawBufferPointer?
    /// The request target (`/path?query`), if the format has it.
    public var target: UnsafeRawBufferPointer?
    /// The status code, or -1 when the format has none.
    public var status: Int = -1
    /// Body bytes sent, or -1 when the format has none.
    public var bytes: Int64 = -1
    /// The raw time text and which syntax it is in.
    public var time: UnsafeRawBufferPointer?
    /// True when `time` is ISO 8601, false when it is nginx's `$time_local`.
    public var timeIsISO8601 = false
    /// The raw `$request_time` text.
    public var requestTime: UnsafeRawBufferPointer?
    /// The `$host` value.
    public var host: UnsafeRawBufferPointer?
    /// True when the request line could not be split into method and target.
    public var badRequestLine = false
    /// True when text fields still hold the log's backslash escapes (text formats); false
    /// when the parser has already decoded them (JSON).
    public var hasLogEscapes = true

    /// Empty fields.
    public init() {}

    /// The logged time as seconds since the epoch, or nil when absent or unreadable.
    public var epochSeconds: Int64? { Self.epochSeconds(time, timeIsISO8601: timeIsISO8601) }

    /// A time text as seconds since the epoch, or nil when absent or unreadable.
    public static func epochSeconds(_ time: UnsafeRawBufferPointer?, timeIsISO8601: Bool) -> Int64? {
        guard let time else { return nil }
        return timeIsISO8601 ? LogTime.parseISO8601(time) : LogTime.parseTimeLocal(time)
    }

    /// `$request_time` in seconds, or nil when absent or unreadable.
    public var requestSeconds: Double? {
        guard let requestTime else { return nil }
        return ByteScan.parseDecimal(requestTime)
    }
}

/// Why a line did not match its format. A value type: recording it allocates nothing.
public struct Malformation: Sendable, Equatable {
    /// What was wrong.
    public enum Reason: String, Sendable {
        case literalMismatch = "does not match the format"
        case truncated = "ends before the format does"
        case badStatus = "has a status that is not a 3-digit number"
        case badBytes = "has a byte count that is not a number"
        case notJSONObject = "is not a JSON object"
        case badJSON = "is not valid JSON"
        case missingField = "lacks the request field"
    }

    /// What was wrong.
    public var reason: Reason
    /// The byte offset within the line where it went wrong.
    public var byteOffset: Int

    /// Creates a malformation record.
    public init(_ reason: Reason, at byteOffset: Int) {
        self.reason = reason
        self.byteOffset = byteOffset
    }
}

/// The last time text read and its seconds since the epoch: the lines of one second share
/// their time's text, so a reader of every line's time (`warmset backtest`) parses each second
/// once and compares bytes for the rest.
public struct LogTimeMemo {
    private var text: [UInt8] = []
    private var isISO8601 = false
    private var seconds: Int64?

    /// An empty memo.
    public init() { text.reserveCapacity(64) }

    /// `fields.epochSeconds`, from the memo when the time text is the last one's.
    /// - Complexity: O(time length); allocates only for a time text longer than any before.
    @inline(__always)
    public mutating func epochSeconds(_ fields: RequestFields) -> Int64? {
        guard let time = fields.time else { return nil }
        if time.count == text.count && fields.timeIsISO8601 == isISO8601,
           let base = time.baseAddress, text.withUnsafeBytes({ $0.baseAddress.map { memcmp($0, base, time.count) == 0 } ?? false }) {
            return seconds
        }
        seconds = fields.epochSeconds
        isISO8601 = fields.timeIsISO8601
        text.removeAll(keepingCapacity: true)
        text.append(contentsOf: time)
        return seconds
    }
}
