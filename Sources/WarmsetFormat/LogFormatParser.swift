/// Reads lines of one compiled `LogFormat`, in place and without allocating.
public final class LogFormatParser {
    /// A segment flattened for the hot loop. For a variable, `bytes` is the literal that ends it:
    /// segments alternate (literal, variable, literal…), so after the format's leading literal a
    /// line is read as one variable after another, each ending where its terminator starts and
    /// the next starting right after that terminator.
    private struct Step {
        var isLiteral: Bool
        var field: Field?
        /// For a literal: its bytes. For a variable: the literal that ends it (empty at the end of the format).
        var bytes: UnsafeRawBufferPointer
        var skipEscaped: Bool
        /// `bytes` (up to 8 of them) as a little-endian word, and ones over those bytes: a literal of a
        /// format is almost always short (`" - "`, `" ["`, `"\" "`), and one load, xor and mask compares it.
        var word: UInt64 = 0
        var mask: UInt64 = 0

        init(isLiteral: Bool, field: Field?, bytes: UnsafeRawBufferPointer, skipEscaped: Bool) {
            self.isLiteral = isLiteral
            self.field = field
            self.bytes = bytes
            self.skipEscaped = skipEscaped
            if bytes.count <= 8 {
                for (i, byte) in bytes.enumerated() {
                    word |= UInt64(byte) << (8 * UInt64(i))
                    mask |= 0xFF << (8 * UInt64(i))
                }
            }
        }
    }

    nonisolated(unsafe) private static let emptyLine = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
    /// The format's leading literal (empty when it starts with a variable), as a step.
    private let leading: Step?
    /// The variables up to the last one warmset needs, each with its terminator.
    private let vars: UnsafeMutablePointer<Step>
    private let neededVars: Int
    /// The format has the shape of `combined` and `common` (the defaults): no leading literal, then
    /// six variables, the last four `$time_local`, `$request`, `$status` and `$body_bytes_sent`,
    /// each ended by 1–8 literal bytes (the last by none, too). Its lines are read by `parseSixFields`,
    /// the loop below unrolled, with the same steps in the same order.
    private let combinedShape: Bool
    /// What the line must end with when the tail is skipped (the format's last literal).
    private let finalLiteral: UnsafeRawBufferPointer
    private let storage: [UnsafeMutableRawBufferPointer]
    /// The format this parser reads.
    public let format: LogFormat

    /// Prepares a parser for `format`.
    public convenience init(format: LogFormat) {
        self.init(format: format, unrolled: true)
    }

    /// Prepares a parser for `format`; `unrolled: false` keeps `combined`-shaped formats on the
    /// general loop (for tests that compare the two).
    init(format: LogFormat, unrolled: Bool) {
        self.format = format
        var storage: [UnsafeMutableRawBufferPointer] = []
        func keep(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            storage.append(buffer)
            return UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count])
        }
        var steps: [Step] = []
        let segments = format.segments
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .literal(let bytes):
                steps.append(Step(isLiteral: true, field: nil, bytes: keep(bytes), skipEscaped: false))
            case .variable(_, let field):
                var terminator: [UInt8] = []
                if index + 1 < segments.count, case .literal(let next) = segments[index + 1] { terminator = next }
                // Inside quotes, an escaped quote (`\"`, as Apache writes it) does not end the field.
                let quoted = terminator.first == 0x22
                steps.append(Step(isLiteral: false, field: field, bytes: keep(terminator), skipEscaped: quoted))
            }
        }
        // Read up to the last needed field and the literal that ends it; of the rest, only
        // check that the line ends as the format does. The user agent and referer are the
        // longest fields of a combined line, and nothing in them is needed.
        var last = steps.count - 1
        if let lastField = steps.lastIndex(where: { !$0.isLiteral && $0.field != nil }) {
            last = min(lastField + 1, steps.count - 1)
        }
        if last < steps.count - 1, let final = steps.last, final.isLiteral {
            finalLiteral = final.bytes
        } else {
            finalLiteral = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        self.storage = storage
        leading = steps.first.flatMap { $0.isLiteral ? $0 : nil }
        let flat = steps.enumerated().filter { $0.offset <= last && !$0.element.isLiteral }.map(\.element)
        neededVars = flat.count
        vars = .allocate(capacity: max(flat.count, 1))
        vars.initialize(from: flat, count: flat.count)
        combinedShape = unrolled && leading == nil && flat.count == 6
            && flat.map(\.field) == [nil, nil, .timeLocal, .request, .status, .bytes]
            && flat.dropLast().allSatisfy { (1...8).contains($0.bytes.count) } && flat[flat.count - 1].bytes.count <= 8
    }

    deinit {
        vars.deinitialize(count: neededVars)
        vars.deallocate()
        for buffer in storage { buffer.deallocate() }
    }

    /// Parses `line` into `fields`.
    /// - Returns: nil on success, or why the line does not match the format.
    /// - Complexity: O(line length).
    public func parse(_ line: UnsafeRawBufferPointer, into fields: inout RequestFields) -> Malformation? {
        fields = RequestFields()
        // An empty line may have no address; nothing is loaded from it then (every load is bounded by `count`).
        let base = line.baseAddress ?? UnsafeRawPointer(Self.emptyLine)
        let count = line.count
        var at = 0
        if combinedShape {
            if let problem = parseSixFields(line, base, count, at: &at, into: &fields) { return problem }
            return checkTail(line, at: at)
        }
        if let step = leading {
            let n = step.bytes.count
            guard n <= count else { return Malformation(.truncated, at: 0) }
            if n <= 8 && 8 <= count {
                let different = (UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)) ^ step.word) & step.mask
                if different != 0 { return Malformation(.literalMismatch, at: different.trailingZeroBitCount >> 3) }
            } else {
                for k in 0..<n where line[k] != step.bytes[k] { return Malformation(.literalMismatch, at: k) }
            }
            at = n
        }
        var v = 0
        while v < neededVars {
            let step = vars[v]
            v &+= 1
            let n = step.bytes.count
            let end: Int
            if n == 0 {
                end = count
            } else if n <= 8, let found = Self.terminator(step, in: base, count: count, from: at) {
                end = found
            } else if n > 8, let found = ByteScan.find(step.bytes, in: line, from: at, skipEscaped: step.skipEscaped) {
                end = found
            } else {
                return Malformation(.truncated, at: count)
            }
            if let field = step.field {
                let value = UnsafeRawBufferPointer(rebasing: line[at..<end])
                if let problem = store(value, as: field, at: at, into: &fields) { return problem }
            }
            // The terminator was just found whole at `end`: the next variable starts after it.
            at = end &+ n
        }
        return checkTail(line, at: at)
    }

    /// The line's end, when the fields warmset needs ended before the format does: it must end
    /// with the format's last literal.
    @inline(__always)
    private func checkTail(_ line: UnsafeRawBufferPointer, at: Int) -> Malformation? {
        let tail = finalLiteral.count
        if tail > 0 {
            guard line.count - at >= tail else { return Malformation(.truncated, at: line.count) }
            for k in 0..<tail where line[line.count - tail + k] != finalLiteral[k] {
                return Malformation(.literalMismatch, at: line.count - tail + k)
            }
        }
        return nil
    }

    /// The loop of `parse` unrolled for the `combined` shape (see `combinedShape`): the same finds,
    /// stores and malformations, with the steps held in registers instead of reloaded per field.
    @inline(__always)
    private func parseSixFields(
        _ line: UnsafeRawBufferPointer, _ base: UnsafeRawPointer, _ count: Int, at: inout Int, into fields: inout RequestFields
    ) -> Malformation? {
        @inline(__always)
        func end(_ step: Step, from: Int) -> Int? {
            step.bytes.count == 0 ? count : Self.terminator(step, in: base, count: count, from: from)
        }
        // The loop's body six times over, each with its field known (so `store` folds to it):
        // find the terminator, store the value, step over the terminator.
        let address = vars[0], user = vars[1], time = vars[2], request = vars[3], status = vars[4], bytes = vars[5]
        guard let addressEnd = end(address, from: 0) else { return Malformation(.truncated, at: count) }
        at = addressEnd &+ address.bytes.count
        guard let userEnd = end(user, from: at) else { return Malformation(.truncated, at: count) }
        at = userEnd &+ user.bytes.count
        guard let timeEnd = end(time, from: at) else { return Malformation(.truncated, at: count) }
        if let problem = store(UnsafeRawBufferPointer(rebasing: line[at..<timeEnd]), as: .timeLocal, at: at, into: &fields) { return problem }
        at = timeEnd &+ time.bytes.count
        guard let requestEnd = end(request, from: at) else { return Malformation(.truncated, at: count) }
        if let problem = store(UnsafeRawBufferPointer(rebasing: line[at..<requestEnd]), as: .request, at: at, into: &fields) { return problem }
        at = requestEnd &+ request.bytes.count
        guard let statusEnd = end(status, from: at) else { return Malformation(.truncated, at: count) }
        if let problem = store(UnsafeRawBufferPointer(rebasing: line[at..<statusEnd]), as: .status, at: at, into: &fields) { return problem }
        at = statusEnd &+ status.bytes.count
        guard let bytesEnd = end(bytes, from: at) else { return Malformation(.truncated, at: count) }
        if let problem = store(UnsafeRawBufferPointer(rebasing: line[at..<bytesEnd]), as: .bytes, at: at, into: &fields) { return problem }
        at = bytesEnd &+ bytes.bytes.count
        return nil
    }

    /// The first offset ≥ `from` where the step's terminator (1…8 bytes) starts, skipping one
    /// preceded by an odd number of backslashes when the step says so; nil when there is none.
    @inline(__always)
    private static func terminator(_ step: Step, in base: UnsafeRawPointer, count: Int, from: Int) -> Int? {
        let n = step.bytes.count
        let first = UInt8(truncatingIfNeeded: step.word)
        let last = count - n
        var at = from
        while at <= last {
            guard let offset = ByteScan.firstOccurrence(of: first, Int32(first), in: base, from: at, through: last) else { return nil }
            var equal = true
            if n > 1 {
                if offset + 8 <= count {
                    equal = (UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) ^ step.word) & step.mask == 0
                } else {
                    for k in 1..<n where base.load(fromByteOffset: offset + k, as: UInt8.self) != step.bytes[k] {
                        equal = false
                        break
                    }
                }
            }
            if equal && step.skipEscaped {
                var backslashes = 0
                var back = offset - 1
                while back >= from && base.load(fromByteOffset: back, as: UInt8.self) == 0x5C {
                    backslashes += 1
                    back -= 1
                }
                if backslashes & 1 == 1 { equal = false }
            }
            if equal { return offset }
            at = offset + 1
        }
        return nil
    }

    @inline(__always)
    private func store(_ value: UnsafeRawBufferPointer, as field: Field, at: Int, into fields: inout RequestFields) -> Malformation? {
        switch field {
        case .request:
            RequestLine.split(value, into: &fields)
        case .method:
            fields.method = value
        case .requestURI:
            fields.target = value
        case .uri:
            // $uri has no query; `$args` may add it, but the path alone is the target here.
            if fields.target == nil { fields.target = value }
        case .args:
            break
        case .status:
            fields.status = ByteScan.parseStatus(value)
            if fields.status < 0 { return Malformation(.badStatus, at: at) }
        case .bytes:
            guard let count = ByteScan.parseCount(value) else { return Malformation(.badBytes, at: at) }
            fields.bytes = count
        case .timeLocal:
            fields.time = value
            fields.timeIsISO8601 = false
        case .timeISO8601:
            fields.time = value
            fields.timeIsISO8601 = true
        case .requestTime:
            fields.requestTime = value
        case .host:
            fields.host = value
        }
        return nil
    }
}

/// Splitting `$request` (`METHOD target PROTOCOL`).
public enum RequestLine {
    /// `HTTP/1.1`, `HTTP/1.0` and `HTTP/2.0` as little-endian words (literals: no lazy global per line).
    static let http11: UInt64 = 0x312E_312F_5054_5448
    static let http10: UInt64 = 0x302E_312F_5054_5448
    static let http20: UInt64 = 0x302E_322F_5054_5448

    /// Fills method and target from a request line; marks lines that have no target.
    @inline(__always)
    public static func split(_ value: UnsafeRawBufferPointer, into fields: inout RequestFields) {
        let n = value.count
        var firstSpace = 0
        while firstSpace < n && value[firstSpace] != 0x20 { firstSpace += 1 }
        guard firstSpace < n, firstSpace > 0 else {
            fields.badRequestLine = true
            return
        }
        fields.method = UnsafeRawBufferPointer(rebasing: value[0..<firstSpace])
        // Nearly every request line ends in ` HTTP/1.1` (or 1.0, 2.0): then its last space is
        // 9 bytes from the end, found without the backward scan below.
        if n - firstSpace > 10, let base = value.baseAddress, base.load(fromByteOffset: n - 9, as: UInt8.self) == 0x20 {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
            if word == Self.http11 || word == Self.http10 || word == Self.http20 {
                fields.target = UnsafeRawBufferPointer(rebasing: value[(firstSpace + 1)..<(n - 9)])
                return
            }
        }
        var targetEnd = n
        var lastSpace = n - 1
        while lastSpace > firstSpace && value[lastSpace] != 0x20 { lastSpace -= 1 }
        if lastSpace > firstSpace && n - lastSpace > 5 && value[lastSpace + 1] == 0x48 && value[lastSpace + 2] == 0x54
            && value[lastSpace + 3] == 0x54 && value[lastSpace + 4] == 0x50 && value[lastSpace + 5] == 0x2F
        {
            targetEnd = lastSpace  // drop " HTTP/x.y"
        }
        guard targetEnd > firstSpace + 1 else {
            fields.badRequestLine = true
            return
        }
        fields.target = UnsafeRawBufferPointer(rebasing: value[(firstSpace + 1)..<targetEnd])
    }
}
