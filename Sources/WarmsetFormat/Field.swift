/// The parts of a request line that warmset reads; everything else in a log line is skipped.
public enum Field: String, CaseIterable, Sendable, Hashable {
    /// `$request`: `GET /path?q HTTP/1.1`.
    case request
    /// `$request_method`.
    case method
    /// `$request_uri`: the request target, with its query string.
    case requestURI
    /// `$uri`: the (already normalized by nginx) path, without the query string.
    case uri
    /// `$args` / `$query_string`.
    case args
    /// `$status`.
    case status
    /// `$body_bytes_sent` or `$bytes_sent`.
    case bytes
    /// `$time_local`: `10/Oct/2000:13:55:36 -0700`.
    case timeLocal
    /// `$time_iso8601`: `2000-10-10T13:55:36-07:00`.
    case timeISO8601
    /// `$request_time`: seconds with a millisecond fraction.
    case requestTime
    /// `$host`.
    case host
}
