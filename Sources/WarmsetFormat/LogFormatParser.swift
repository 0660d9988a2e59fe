import CByteScan

/// The literal that ends a variable, for the finder: up to 8 bytes as a little-endian word.
private struct Terminator: Equatable {
    var word: UInt64
    var count: Int
    /// A first byte preceded by an odd number of backslashes does not end the field.
    var skipEscaped: Bool
    /// Ones over the `count` bytes of `word`.
    @inline(__always) var mask: UInt64 { count >= 8 ? ~0 : (1 << (8 &* UInt64(count))) &- 1 }

    /// Where the variable this ends ends, from `from` in the line of `count` bytes at `base`:
    /// the line's end for an empty terminator. `@_transparent` here and on `find`, not
    /// `@inline(__always)`: with the latter the optimizer kept both out of line in `parseSix`
    /// (callgrind: a call per field), and `combined`'s constants were not folded in.
    /// `wide`: `ByteScan.firstOccurrence(…wide:)`, for the request line.
    @_transparent
    func end(in base: UnsafeRawPointer, count: Int, from: Int, wide: Bool = false) -> Int? {
        self.count == 0 ? count : find(in: base, count: count, from: from, wide: wide)
    }

    /// `from + length` when a field of `length` (1…32) bytes starting at `from` ends there: this
    /// terminator (of 1…8 bytes) starts at `from + length` (not after a backslash, when it skips
    /// escaped ones) and its first byte is not among the field's bytes, so it is where `find`
    /// would find it. Nil otherwise (then `find` is asked). For fields whose length is nearly
    /// always the same (`$remote_user` `-`, `$time_local`, `$status`): a load and compare or two
    /// instead of a search.
    @_transparent
    func end(ifLength length: Int, in base: UnsafeRawPointer, count: Int, from: Int) -> Int? {
        let end = from &+ length
        // The word compare reads 8 bytes at `end`; the line's end is not needed (`find` checks it).
        guard end &+ 8 <= count,
            (UInt64(littleEndian: base.loadUnaligned(fromByteOffset: end, as: UInt64.self)) ^ word) & mask == 0,
            !skipEscaped || base.load(fromByteOffset: end &- 1, as: UInt8.self) != 0x5C,
            warmset_lacks_byte(base.assumingMemoryBound(to: UInt8.self), from, length, UInt8(truncatingIfNeeded: word)) != 0
        else { return nil }
        return end
    }

    /// The first offset ≥ `from` where this terminator (1…8 bytes) starts, skipping one preceded
    /// by an odd number of backslashes when it says so; nil when there is none.
    @_transparent
    func find(in base: UnsafeRawPointer, count: Int, from: Int, wide: Bool = false) -> Int? {
        let n = self.count
        let first = UInt8(truncatingIfNeeded: word)
        let last = count &- n
        var at = from
        while at <= last {
            guard let offset = ByteScan.firstOccurrence(of: first, Int32(first), in: base, from: at, through: last, wide: wide) else { return nil }
            var equal = true
            if n > 1 {
                if offset &+ 8 <= count {
                    equal = (UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) ^ word) & mask == 0
                } else {
                    for k in 1..<n where base.load(fromByteOffset: offset &+ k, as: UInt8.self) != UInt8(truncatingIfNeeded: word >> (8 &* UInt64(k))) {
                        equal = false
                        break
                    }
                }
            }
            if equal && skipEscaped {
                var backslashes = 0
                var back = offset &- 1
                while back >= from && base.load(fromByteOffset: back, as: UInt8.self) == 0x5C {
                    backslashes &+= 1
                    back &-= 1
                }
                if backslashes & 1 == 1 { equal = false }
            }
            if equal { return offset }
            at = offset &+ 1
        }
        return nil
    }
}

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
        /// `bytes` (up to 8 of them) as a little-endian word: a literal of a format is almost always
        /// short (`" - "`, `" ["`, `"\" "`), and one load, xor and mask compares it.
        var word: UInt64 = 0

        var terminator: Terminator { Terminator(word: word, count: bytes.count, skipEscaped: skipEscaped) }

        init(isLiteral: Bool, field: Field?, bytes: UnsafeRawBufferPointer, skipEscaped: Bool) {
            self.isLiteral = isLiteral
            self.field = field
            self.bytes = bytes
            self.skipEscaped = skipEscaped
            if bytes.count <= 8 {
                for (i, byte) in bytes.enumerated() { word |= UInt64(byte) << (8 * UInt64(i)) }
            }
        }
    }

    /// The terminators of the six variables of a `combined`-shaped format.
    fileprivate protocol SixTerminatorSet {
        var address: Terminator { get }
        var user: Terminator { get }
        var time: Terminator { get }
        var request: Terminator { get }
        var status: Terminator { get }
        var bytes: Terminator { get }
        /// The line ends with `"` (what `checkTail` checks for `combined`), as a constant.
        var endsWithQuote: Bool { get }
    }

    /// A format's own six terminators, loaded.
    private struct SixTerminators: SixTerminatorSet {
        var address, user, time, request, status, bytes: Terminator
        var endsWithQuote: Bool { false }  // `checkTail` reads the format's own final literal
    }

    /// nginx's `combined`: `$remote_addr - $remote_user [$time_local] "$request" $status
    /// $body_bytes_sent "$http_referer" "$http_user_agent"`, as constants the finder folds in.
    private struct CombinedTerminators: SixTerminatorSet {
        var address: Terminator { Terminator(word: 0x20_2D20, count: 3, skipEscaped: false) }  // " - "
        var user: Terminator { Terminator(word: 0x5B20, count: 2, skipEscaped: false) }  // " ["
        var time: Terminator { Terminator(word: 0x22_205D, count: 3, skipEscaped: false) }  // "] \""
        var request: Terminator { Terminator(word: 0x2022, count: 2, skipEscaped: true) }  // "\" "
        var status: Terminator { Terminator(word: 0x20, count: 1, skipEscaped: false) }  // " "
        var bytes: Terminator { Terminator(word: 0x2220, count: 2, skipEscaped: false) }  // " \""
        var endsWithQuote: Bool { true }  // the user agent's closing quote
    }

    /// `common`: `combined` without the referer and user agent (the byte count ends the line).
    private struct CommonTerminators: SixTerminatorSet {
        var address: Terminator { CombinedTerminators().address }
        var user: Terminator { CombinedTerminators().user }
        var time: Terminator { CombinedTerminators().time }
        var request: Terminator { CombinedTerminators().request }
        var status: Terminator { CombinedTerminators().status }
        var bytes: Terminator { Terminator(word: 0, count: 0, skipEscaped: false) }
        var endsWithQuote: Bool { false }  // nothing after the byte count
    }

    /// How lines are read (`shape`): the general loop, or the unrolled one with the terminators loaded
    /// or (for `combined` and `common` themselves) as constants.
    @usableFromInline enum Shape: Sendable { case general, six, combined, common }

    @usableFromInline nonisolated(unsafe) static let emptyLine = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
    /// The format's leading literal (empty when it starts with a variable), as a step.
    private let leading: Step?
    /// The variables up to the last one warmset needs, each with its terminator.
    private let vars: UnsafeMutablePointer<Step>
    private let neededVars: Int
    /// `.general`, or a format of the shape of `combined` and `common` (the defaults): no leading
    /// literal, then six variables, the last four `$time_local`, `$request`, `$status` and
    /// `$body_bytes_sent`, each ended by 1–8 literal bytes (the last by none, too). Such lines are
    /// read by `parseSix`, the loop below unrolled, with the same finds in the same order.
    @usableFromInline let shape: Shape
    /// The terminators of a `combined`-shaped format that is neither `combined` nor `common` (`.six`).
    private let six: SixTerminators?
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
        let combinedShape = unrolled && leading == nil && flat.count == 6
            && flat.map(\.field) == [nil, nil, .timeLocal, .request, .status, .bytes]
            && flat.dropLast().allSatisfy { (1...8).contains($0.bytes.count) } && flat[flat.count - 1].bytes.count <= 8
        if combinedShape {
            let loaded = flat.map(\.terminator)
            if loaded == CombinedTerminators().all && Array(finalLiteral) == [0x22] {
                shape = .combined  // its six terminators and its final `"` as constants
                six = nil
            } else if loaded == CommonTerminators().all {
                shape = .common
                six = nil
            } else {
                shape = .six
                six = SixTerminators(
                    address: loaded[0], user: loaded[1], time: loaded[2], request: loaded[3], status: loaded[4], bytes: loaded[5])
            }
        } else {
            shape = .general
            six = nil
        }
    }

    deinit {
        vars.deinitialize(count: neededVars)
        vars.deallocate()
        for buffer in storage { buffer.deallocate() }
    }

    /// Parses `line` into `fields`.
    /// - Returns: nil on success, or why the line does not match the format.
    /// - Complexity: O(line length).
    /// - Note: `@inlinable`, a dispatch to one out-of-line reader per shape: the per-line loop
    ///   (another module) calls the reader directly instead of calling this to call it.
    @inlinable
    public func parse(_ line: UnsafeRawBufferPointer, into fields: inout RequestFields) -> Malformation? {
        fields = RequestFields()
        // An empty line may have no address; nothing is loaded from it then (every load is bounded by `count`).
        let base = line.baseAddress ?? UnsafeRawPointer(Self.emptyLine)
        switch shape {
        case .combined: return parseCombined(line, base, into: &fields)
        case .common: return parseCommon(line, base, into: &fields)
        case .six, .general: return parseOther(line, base, into: &fields)
        }
    }

    /// `parseSix` with `combined`'s terminators as constants.
    @usableFromInline @inline(never)
    func parseCombined(_ line: UnsafeRawBufferPointer, _ base: UnsafeRawPointer, into fields: inout RequestFields) -> Malformation? {
        parseSix(line, base, line.count, CombinedTerminators(), into: &fields)
    }

    /// `parseSix` with `common`'s terminators as constants.
    @usableFromInline @inline(never)
    func parseCommon(_ line: UnsafeRawBufferPointer, _ base: UnsafeRawPointer, into fields: inout RequestFields) -> Malformation? {
        parseSix(line, base, line.count, CommonTerminators(), into: &fields)
    }

    /// A `combined`-shaped format with its own terminators, or any other format.
    @usableFromInline @inline(never)
    func parseOther(_ line: UnsafeRawBufferPointer, _ base: UnsafeRawPointer, into fields: inout RequestFields) -> Malformation? {
        if shape == .six, let six { return parseSix(line, base, line.count, six, into: &fields) }
        return parseGeneral(line, base, line.count, into: &fields)
    }

    /// A line of any other format: each variable up to its terminator, in a loop over the steps.
    /// Out of line, so that `parse` itself stays a dispatch without the loop's stack frame.
    @inline(never)
    private func parseGeneral(
        _ line: UnsafeRawBufferPointer, _ base: UnsafeRawPointer, _ count: Int, into fields: inout RequestFields
    ) -> Malformation? {
        var at = 0
        if let step = leading {
            let n = step.bytes.count
            guard n <= count else { return Malformation(.truncated, at: 0) }
            if n <= 8 && 8 <= count {
                let different = (UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)) ^ step.word) & step.terminator.mask
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
            } else if n <= 8, let found = step.terminator.find(in: base, count: count, from: at) {
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

    /// A line of a `combined`-shaped format: the general loop unrolled, the same finds, values and
    /// malformations, the field of each variable known (find the terminator, store the value, step
    /// over the terminator, six times). Inlined three times: into `parseCombined` and `parseCommon`
    /// with their terminators as constants, and into `parseOther` with a format's own loaded
    /// (`@inline(__always)`: left to itself the compiler made it one more call a line, with its
    /// own frame, from each of them).
    @inline(__always)
    private func parseSix<Six: SixTerminatorSet>(
        _ line: UnsafeRawBufferPointer, _ base: UnsafeRawPointer, _ count: Int, _ six: Six, into fields: inout RequestFields
    ) -> Malformation? {
        var at = 0
        guard let addressEnd = six.address.end(in: base, count: count, from: 0) else { return Malformation(.truncated, at: count) }
        at = addressEnd &+ six.address.count
        // `-` (no user) and a `$time_local` of 26 bytes are checked where they nearly always end.
        guard let userEnd = six.user.end(ifLength: 1, in: base, count: count, from: at) ?? six.user.end(in: base, count: count, from: at)
        else { return Malformation(.truncated, at: count) }
        at = userEnd &+ six.user.count
        guard let timeEnd = six.time.end(ifLength: 26, in: base, count: count, from: at) ?? six.time.end(in: base, count: count, from: at)
        else { return Malformation(.truncated, at: count) }
        fields.time = UnsafeRawBufferPointer(rebasing: line[at..<timeEnd])
        at = timeEnd &+ six.time.count
        guard let requestEnd = six.request.end(in: base, count: count, from: at, wide: true) else { return Malformation(.truncated, at: count) }
        RequestLine.split(UnsafeRawBufferPointer(rebasing: line[at..<requestEnd]), into: &fields)
        at = requestEnd &+ six.request.count
        guard let statusEnd = six.status.end(ifLength: 3, in: base, count: count, from: at) ?? six.status.end(in: base, count: count, from: at)
        else { return Malformation(.truncated, at: count) }
        fields.status = ByteScan.parseStatus(UnsafeRawBufferPointer(rebasing: line[at..<statusEnd]))
        if fields.status < 0 { return Malformation(.badStatus, at: at) }
        at = statusEnd &+ six.status.count
        guard let bytesEnd = six.bytes.end(in: base, count: count, from: at) else { return Malformation(.truncated, at: count) }
        // Safe: the address, time, request and status (with their terminators) are before it.
        let sent = bytesEnd >= 8
            ? ByteScan.parseCount(base, endingAt: bytesEnd, count: bytesEnd &- at)
            : ByteScan.parseCount(UnsafeRawBufferPointer(rebasing: line[at..<bytesEnd]))
        guard let sent else {
            return Malformation(.badBytes, at: at)
        }
        fields.bytes = sent
        at = bytesEnd &+ six.bytes.count
        if six.endsWithQuote {
            // `checkTail` with its one-byte literal known: a compare instead of a loop over it.
            guard count > at else { return Malformation(.truncated, at: count) }
            return base.load(fromByteOffset: count &- 1, as: UInt8.self) == 0x22 ? nil : Malformation(.literalMismatch, at: count &- 1)
        }
        return checkTail(line, at: at)
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
        if n >= 8, let base = value.baseAddress {
            // The method ends in the first 8 bytes: the lowest zero byte of word ^ spaces.
            let x = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)) ^ 0x2020_2020_2020_2020
            let zero = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
            firstSpace = zero != 0 ? zero.trailingZeroBitCount >> 3 : 8
        }
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

extension LogFormatParser.SixTerminatorSet {
    /// The six in order (to compare a format's terminators with `combined`'s and `common`'s).
    fileprivate var all: [Terminator] { [address, user, time, request, status, bytes] }
}
