/// An nginx `log_format` string compiled into a sequence of literals and variables.
///
/// Compile once; `LogFormatParser` then reads lines with byte scans only (no regular
/// expression per line). Variables warmset does not need are skipped, but each is checked
/// against nginx's variable names so that a typo (`$staus`) is an error, not a silent skip.
public struct LogFormat: Sendable {
    /// One piece of a format.
    enum Segment: Sendable {
        /// Bytes that appear as they are.
        case literal([UInt8])
        /// A variable (or a run of adjacent variables read as one), and the field it fills.
        case variable(name: String, field: Field?)
    }

    let segments: [Segment]
    /// The text the format was compiled from.
    public let source: String
    /// The fields lines of this format carry.
    public let fields: Set<Field>

    /// The predefined format names and their `log_format` strings.
    public static let named: [String: String] = [
        "combined":
            #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
        "common": #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent"#,
    ]

    /// nginx's own variable names (ngx_http_variables.c and the common modules).
    static let knownVariables: Set<String> = [
        "remote_addr", "remote_user", "remote_port", "binary_remote_addr", "time_local", "time_iso8601",
        "msec", "request", "request_method", "request_uri", "uri", "document_uri", "args", "query_string",
        "is_args", "status", "body_bytes_sent", "bytes_sent", "request_length", "request_time",
        "http_referer", "http_user_agent", "http_x_forwarded_for", "host", "hostname", "server_name",
        "server_addr", "server_port", "server_protocol", "scheme", "https", "connection",
        "connection_requests", "connection_time", "pipe", "gzip_ratio", "content_type", "content_length",
        "document_root", "realpath_root", "request_filename", "request_id", "request_completion",
        "request_body", "nginx_version", "pid", "proxy_protocol_addr", "proxy_protocol_port",
        "proxy_add_x_forwarded_for", "realip_remote_addr", "realip_remote_port", "limit_rate",
        "sent_http_content_type", "tcpinfo_rtt", "tcpinfo_rttvar", "tcpinfo_snd_cwnd",
        "tcpinfo_rcv_space", "geoip_country_code", "geoip_country_name", "ssl_protocol", "ssl_cipher",
        "bytes_received", "session_time", "protocol", "upstream_addr", "upstream_status",
        "upstream_response_time", "upstream_connect_time", "upstream_header_time",
        "upstream_cache_status", "upstream_response_length", "upstream_bytes_received",
        "upstream_bytes_sent", "remote_host",
    ]
    /// Families of nginx variables named by prefix.
    static let knownPrefixes = [
        "http_", "sent_http_", "sent_trailer_", "cookie_", "arg_", "upstream_", "ssl_", "geoip_",
        "geoip2_", "jwt_", "proxy_protocol_", "realip_", "limit_", "secure_link", "invalid_referer",
        "fastcgi_", "memcached_", "spdy", "http2", "http3", "quic", "binary_", "tcpinfo_", "server_",
        "time_", "request_", "connection_", "msie",
    ]

    static func field(for name: String) -> Field? {
        switch name {
        case "request": return .request
        case "request_method": return .method
        case "request_uri": return .requestURI
        case "uri", "document_uri": return .uri
        case "args", "query_string": return .args
        case "status": return .status
        case "body_bytes_sent", "bytes_sent": return .bytes
        case "time_local": return .timeLocal
        case "time_iso8601": return .timeISO8601
        case "request_time": return .requestTime
        case "host": return .host
        default: return nil
        }
    }

    /// Compiles `text`: a predefined name (`combined`, `common`) or a `log_format` string.
    /// - Throws: `FormatError` for an unknown variable, adjacent variables warmset needs
    ///   but cannot separate, or a format with no request path at all.
    public init(_ text: String) throws(FormatError) {
        let formatText = Self.named[text] ?? text
        source = formatText
        let bytes = Array(formatText.utf8)
        guard !bytes.isEmpty else { throw FormatError("the log format is empty; use combined, common, json or an nginx log_format string") }
        // Pass 1: tokens.
        var tokens: [(isVariable: Bool, text: [UInt8])] = []
        var literal: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 0x24 {  // $
                var nameStart = i + 1
                var nameEnd = nameStart
                if nameStart < bytes.count && bytes[nameStart] == 0x7B {  // ${name}
                    nameStart += 1
                    nameEnd = nameStart
                    while nameEnd < bytes.count && bytes[nameEnd] != 0x7D { nameEnd += 1 }
                    guard nameEnd < bytes.count else {
                        throw FormatError("log format: '${' at column \(i + 1) is not closed with '}'")
                    }
                } else {
                    while nameEnd < bytes.count && Self.isNameByte(bytes[nameEnd]) { nameEnd += 1 }
                }
                guard nameEnd > nameStart else {
                    throw FormatError("log format: '$' at column \(i + 1) is not followed by a variable name (write a literal dollar as part of a word, not alone)")
                }
                if !literal.isEmpty { tokens.append((false, literal)); literal = [] }
                tokens.append((true, Array(bytes[nameStart..<nameEnd])))
                i = nameEnd + (bytes[nameStart - 1] == 0x7B ? 1 : 0)
            } else {
                literal.append(byte)
                i += 1
            }
        }
        if !literal.isEmpty { tokens.append((false, literal)) }

        // Pass 2: check names and group runs of adjacent variables.
        var segments: [Segment] = []
        var fields = Set<Field>()
        var run: [String] = []
        func flushRun() throws(FormatError) {
            guard !run.isEmpty else { return }
            defer { run = [] }
            if run.count == 1 {
                let field = Self.field(for: run[0])
                if let field { fields.insert(field) }
                segments.append(.variable(name: run[0], field: field))
                return
            }
            // `$uri$is_args$args` is nginx's spelling of the request target.
            if run == ["uri", "is_args", "args"] || run == ["document_uri", "is_args", "args"] {
                fields.insert(.requestURI)
                segments.append(.variable(name: run.joined(separator: "+"), field: .requestURI))
                return
            }
            let needed = run.filter { Self.field(for: $0) != nil }
            if !needed.isEmpty {
                throw FormatError("log format: $\(run.joined(separator: " and $")) are written with nothing between them, so warmset cannot tell where $\(needed[0]) ends; put a separator between them")
            }
            segments.append(.variable(name: run.joined(separator: "+"), field: nil))
        }
        for token in tokens {
            if token.isVariable {
                let name = String(decoding: token.text, as: UTF8.self)
                guard Self.knownVariables.contains(name) || Self.knownPrefixes.contains(where: { name.hasPrefix($0) }) else {
                    throw FormatError("log format: unknown variable $\(name); check its spelling against nginx's variables (e.g. $status, $request, $http_user_agent)")
                }
                run.append(name)
            } else {
                try flushRun()
                segments.append(.literal(token.text))
            }
        }
        try flushRun()
        guard fields.contains(.request) || fields.contains(.requestURI) || fields.contains(.uri) else {
            throw FormatError("log format has no $request, $request_uri or $uri, so it holds no path to count; add one of them")
        }
        self.segments = segments
        self.fields = fields
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F
    }
}
