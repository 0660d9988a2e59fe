import WarmsetFormat

/// Which query parameters become part of the key.
public enum QueryPolicy: Sendable, Equatable {
    /// Drop the query string (the default: tokens and secrets travel there).
    case none
    /// Keep every parameter, sorted.
    case all
    /// Keep only these parameters (by normalized name), sorted.
    case only(Set<String>)

    /// Parses `none`, `all` or `a,b`.
    public init(parsing text: String) throws(KeyError) {
        switch text {
        case "none", "": self = .none
        case "all": self = .all
        default:
            let names = text.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw KeyError("--keep-query '\(text)': use none, all, or a list of parameter names") }
            self = .only(Set(names))
        }
    }
}

/// Applies a `QueryPolicy` to a request's query: the kept parameters, each normalized as a path
/// is, sorted by name then value, in reused buffers.
///
/// Owned by one `KeyBuilder`, which frees it.
struct QueryFilter {
    let policy: QueryPolicy
    /// `policy == .none`, as a flag (the enum holds a set).
    let dropsQuery: Bool
    /// The names `.only` keeps, as bytes.
    private let keptNames: [[UInt8]]
    /// The normalized parameters, one after another.
    private var buffer: ByteScratch
    /// The kept parameters' places in `buffer`.
    private var params: [(start: Int, nameEnd: Int, end: Int)] = []

    /// - Parameter maxTargetBytes: the longest target it will see (the longest line).
    init(_ policy: QueryPolicy, maxTargetBytes: Int) {
        self.policy = policy
        dropsQuery = policy == .none
        if case .only(let names) = policy {
            keptNames = names.map { Array($0.utf8) }
        } else {
            keptNames = []
        }
        // Percent-encoding at most triples a byte.
        buffer = ByteScratch(capacity: 3 * maxTargetBytes + 4)
        params.reserveCapacity(64)
    }

    func free() { buffer.free() }

    /// Appends `?` and the kept, normalized, sorted parameters of the query `raw` (after its `?`)
    /// to `path`; nothing when none is kept.
    /// - Returns: why the request has no key (`.forbiddenByte`, `.keyTooLong`), or nil.
    /// - Complexity: O(q + k log k) for a query of q bytes and k kept parameters; no allocation
    ///   while a query holds at most 64 kept parameters.
    mutating func append(_ raw: UnsafeRawBufferPointer, to path: inout ByteScratch) -> RequestFilter.Reason? {
        buffer.reset()
        params.removeAll(keepingCapacity: true)
        var start = 0
        while start <= raw.count {
            var end = start
            while end < raw.count && raw[end] != 0x26 { end += 1 }
            if end > start {
                let paramStart = buffer.count
                let param = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                var eq = param.count
                for i in 0..<param.count where param[i] == 0x3D { eq = i; break }
                if let reason = PathNormalizer.appendNormalized(UnsafeRawBufferPointer(rebasing: param[0..<eq]), to: &buffer) {
                    return reason
                }
                let nameEnd = buffer.count
                if eq < param.count {
                    if !buffer.append(0x3D) { return .keyTooLong }
                    if let reason = PathNormalizer.appendNormalized(UnsafeRawBufferPointer(rebasing: param[(eq + 1)...]), to: &buffer) {
                        return reason
                    }
                }
                if keep(name: UnsafeRawBufferPointer(start: buffer.base + paramStart, count: nameEnd - paramStart)) {
                    params.append((paramStart, nameEnd, buffer.count))
                }
            }
            start = end + 1
        }
        guard !params.isEmpty else { return nil }
        let q = buffer.base
        params.sort { a, b in
            let an = UnsafeRawBufferPointer(start: q + a.start, count: a.nameEnd - a.start)
            let bn = UnsafeRawBufferPointer(start: q + b.start, count: b.nameEnd - b.start)
            if !an.elementsEqual(bn) { return an.lexicographicallyPrecedes(bn) }
            let av = UnsafeRawBufferPointer(start: q + a.nameEnd, count: a.end - a.nameEnd)
            let bv = UnsafeRawBufferPointer(start: q + b.nameEnd, count: b.end - b.nameEnd)
            return av.lexicographicallyPrecedes(bv)
        }
        for (index, param) in params.enumerated() {
            if !path.append(index == 0 ? 0x3F : 0x26) { return .keyTooLong }
            if !path.append(UnsafeRawBufferPointer(start: q + param.start, count: param.end - param.start)) {
                return .keyTooLong
            }
        }
        return nil
    }

    @inline(__always)
    private func keep(name: UnsafeRawBufferPointer) -> Bool {
        switch policy {
        case .none: return false
        case .all: return true
        case .only:
            for wanted in keptNames where wanted.count == name.count {
                if wanted.withUnsafeBytes({ $0.elementsEqual(name) }) { return true }
            }
            return false
        }
    }
}
