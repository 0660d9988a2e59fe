import WarmsetFormat
import WarmsetKeys
import WarmsetSketch

/// The per-line steps every analysis shares: parse → filter → key → count.
///
/// Used by the batch analyzer, each parallel parse worker and watch mode's live analysis,
/// so the steps exist once. A value type held in a local `var` by the loop that owns it.
struct LineSteps {
    let parser: AccessLogParser
    let filter: RequestFilter
    let keys: KeyBuilder
    let counter: any KeyCounter
    let weigher: RequestWeigher?
    private var fields = RequestFields()
    /// Requests not counted, indexed by `RequestFilter.Reason.index`.
    var filtered = [Int](repeating: 0, count: RequestFilter.Reason.allCases.count)

    init(_ compiled: CompiledAnalysis, counter: any KeyCounter, weigher: RequestWeigher? = nil) {
        parser = compiled.parser
        filter = compiled.filter
        keys = compiled.keys
        self.counter = counter
        self.weigher = weigher
    }

    /// Requests filtered out or without a key, over all reasons.
    var filteredTotal: Int { filtered.reduce(0, +) }

    /// Parses, filters, keys and counts one line (without its newline).
    /// - Returns: why the line does not match the format, or nil (counted or filtered).
    /// - Complexity: O(line length) plus the counter's add; no allocation.
    @inline(__always)
    mutating func process(_ line: UnsafeRawBufferPointer) -> Malformation? {
        if let problem = parser.parse(line, into: &fields) { return problem }
        if let reason = filter.check(fields) {
            filtered[reason.index] += 1
            return nil
        }
        guard let target = fields.target, !fields.badRequestLine else {
            filtered[RequestFilter.Reason.badRequest.index] += 1
            return nil
        }
        switch keys.buildMemoized(target: target, hasLogEscapes: fields.hasLogEscapes) {
        case .key:
            if let weigher {
                weigher.add(fields, key: keys.key, path: keys.path)
            } else {
                counter.add(key: keys.key, path: keys.path, bytes: fields.bytes)
            }
        case .skipped(let reason):
            filtered[reason.index] += 1
        }
        return nil
    }
}
