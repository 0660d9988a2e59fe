import WarmsetFormat

/// Which requests count: method, status, logged time and host.
public struct RequestFilter: Sendable {
    /// Why a request was filtered out.
    public enum Reason: String, CaseIterable, Sendable, Codable {
        case method, status, time, host
        case badRequest = "bad_request"
        case absoluteForm = "absolute_form"
        case excluded
        case noRule = "no_rule"
        case forbiddenByte = "forbidden_byte"
        case keyTooLong = "key_too_long"

        /// The position in `allCases`, for counting per reason in a plain array.
        @inline(__always)
        public var index: Int {
            switch self {
            case .method: return 0
            case .status: return 1
            case .time: return 2
            case .host: return 3
            case .badRequest: return 4
            case .absoluteForm: return 5
            case .excluded: return 6
            case .noRule: return 7
            case .forbiddenByte: return 8
            case .keyTooLong: return 9
            }
        }

        /// Words for the summary.
        public var explanation: String {
            switch self {
            case .method: return "method not selected (--methods)"
            case .status: return "status not selected (--status)"
            case .time: return "outside --since/--until or no readable time"
            case .host: return "other host (--host)"
            case .badRequest: return "request line without a path"
            case .absoluteForm: return "absolute URL as target (proxy request)"
            case .excluded: return "path matched --exclude"
            case .noRule: return "path matched no --rule"
            case .forbiddenByte: return "key would hold a control byte or space"
            case .keyTooLong: return "key longer than --max-key-bytes"
            }
        }
    }

    /// Methods that count, upper case (`GET`). Empty means any.
    public private(set) var methods: [[UInt8]]
    /// Up to four methods of at most 7 bytes, each packed into a word (`pack`), so the check per
    /// line compares integers; `methodWords` is -1 when `methods` does not fit (then the list is
    /// walked) and 0 when any method counts.
    @usableFromInline var packedMethods: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline var methodWords = 0

    private mutating func rebuildMethodTable() {
        packedMethods = (0, 0, 0, 0)
        guard methods.count <= 4, methods.allSatisfy({ (1...7).contains($0.count) }) else {
            methodWords = -1
            return
        }
        methodWords = methods.count
        var words: [UInt64] = methods.map { method in method.withUnsafeBytes { Self.pack($0) } }
        while words.count < 4 { words.append(0) }
        packedMethods = (words[0], words[1], words[2], words[3])
    }

    /// A method of 1 to 7 bytes as one word: the bytes and, in the top byte, the length; 0 for
    /// any other length.
    @inlinable @inline(__always)
    static func pack(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let n = bytes.count
        guard n >= 1 && n <= 7, let base = bytes.baseAddress else { return 0 }
        var word = UInt64(n) << 56
        // Without a loop: two 4-byte loads that overlap for 4…7 bytes (the shared bytes are the
        // same bytes, so or-ing them is harmless); first, middle and last byte for 1…3.
        if n >= 4 {
            let low = UInt64(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)))
            let high = UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)))
            word |= low | high << (8 &* UInt64(n &- 4))
        } else {
            let middle = n >> 1
            word |= UInt64(base.load(as: UInt8.self)) | UInt64(base.load(fromByteOffset: middle, as: UInt8.self)) << (8 &* UInt64(middle))
                | UInt64(base.load(fromByteOffset: n &- 1, as: UInt8.self)) << (8 &* UInt64(n &- 1))
        }
        return word
    }
    /// Status classes that count: `classes[2]` for 2xx.
    public var statusClasses: [Bool] { didSet { rebuildStatusTable() } }
    /// Single status codes that count.
    public var statusCodes: Set<Int> { didSet { rebuildStatusTable() } }
    /// Statuses that count, indexed by code (0…999), so the check per line is one load.
    @usableFromInline var statusAllowed: [Bool] = []

    private mutating func rebuildStatusTable() {
        statusAllowed = (0..<1000).map { code in
            (code / 100 < statusClasses.count && statusClasses[code / 100]) || statusCodes.contains(code)
        }
    }
    /// Earliest logged time counted, in seconds since the epoch.
    public var since: Int64?
    /// Logged times at or after this are not counted.
    public var until: Int64?
    /// The host that counts (compared without case), or nil for any.
    public var host: [UInt8]?

    /// The defaults: GET, status 2xx and 304, any time, any host.
    public init() {
        methods = [Array("GET".utf8)]
        statusClasses = [false, false, true, false, false, false]
        statusCodes = [304]
        rebuildStatusTable()
        rebuildMethodTable()
    }

    /// Sets methods from `GET,HEAD`.
    /// - Throws: `KeyError` on an empty or lower-case-only list.
    public mutating func setMethods(_ list: String) throws(KeyError) {
        let names = list.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw KeyError("--methods '\(list)': name at least one method, e.g. GET or GET,HEAD") }
        methods = names.map { Array($0.uppercased().utf8) }
        rebuildMethodTable()
    }

    /// Sets statuses from `2xx,304`.
    /// - Throws: `KeyError` on anything but `Nxx` classes and 3-digit codes.
    public mutating func setStatus(_ list: String) throws(KeyError) {
        var classes = [Bool](repeating: false, count: 6)
        var codes = Set<Int>()
        for item in list.split(separator: ",").map({ $0.trimmingSpaces.lowercased() }) where !item.isEmpty {
            if item.count == 3, item.hasSuffix("xx"), let digit = Int(item.prefix(1)), (1...5).contains(digit) {
                classes[digit] = true
            } else if item.count == 3, let code = Int(item), (100...599).contains(code) {
                codes.insert(code)
            } else {
                throw KeyError("--status '\(list)': '\(item)' is neither a class like 2xx nor a code like 304")
            }
        }
        guard classes.contains(true) || !codes.isEmpty else {
            throw KeyError("--status '\(list)': name at least one class or code, e.g. 2xx,304")
        }
        statusClasses = classes
        statusCodes = codes
    }

    /// Checks the method, status, host and time of `fields`.
    /// - Returns: nil when the request counts, or why it does not.
    /// - Note: `@inlinable`: called for every line from the analysis module, where a call
    ///   (this struct and the fields passed by reference) cost about as much as the checks.
    @inlinable @inline(__always)
    public func check(_ fields: RequestFields) -> Reason? {
        if let method = fields.method, methodWords != 0 {
            if methodWords > 0 {
                let word = Self.pack(method)
                let m = packedMethods
                guard word != 0
                    && (word == m.0 || (methodWords > 1 && word == m.1) || (methodWords > 2 && word == m.2) || (methodWords > 3 && word == m.3))
                else { return .method }
            } else if !listed(method) {
                return .method
            }
        }
        if fields.status >= 0 && !(fields.status < statusAllowed.count && statusAllowed[fields.status]) {
            return .status
        }
        // Out of line and asked only when set: inlined, the host and time checks made the caller
        // load and keep every field of `fields` for each line (about 30 instructions).
        // (The fields it needs are passed one by one: `fields` whole was copied for each line.)
        if host != nil || since != nil || until != nil {
            return checkHostAndTime(host: fields.host, time: fields.time, timeIsISO8601: fields.timeIsISO8601)
        }
        return nil
    }

    /// Whether `method` is one of `methods` (more of them, or longer, than `packedMethods` holds).
    @usableFromInline @inline(never)
    func listed(_ method: UnsafeRawBufferPointer) -> Bool {
        for wanted in methods where wanted.count == method.count {
            if wanted.withUnsafeBytes({ $0.elementsEqual(method) }) { return true }
        }
        return false
    }

    /// The host and time checks of `check`, given the request's `host`, `time` and
    /// `timeIsISO8601` fields.
    @usableFromInline @inline(never)
    func checkHostAndTime(host value: UnsafeRawBufferPointer?, time text: UnsafeRawBufferPointer?, timeIsISO8601: Bool) -> Reason? {
        if let host {
            guard let value, value.count == host.count else { return .host }
            for i in 0..<host.count where value[i] | 0x20 != host[i] | 0x20 { return .host }
        }
        if since != nil || until != nil {
            guard let time = RequestFields.epochSeconds(text, timeIsISO8601: timeIsISO8601) else { return .time }
            if let since, time < since { return .time }
            if let until, time >= until { return .time }
        }
        return nil
    }
}
