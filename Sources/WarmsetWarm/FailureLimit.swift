/// `--max-failures N|P%`: when a run has failed more keys than this, it stops early.
public enum FailureLimit: Sendable, Equatable {
    /// Never stop for failures.
    case unlimited
    /// Stop when more than this many keys failed.
    case count(Int)
    /// Stop when more than this share (0…1) of the warm set failed.
    case share(Double)

    /// Parses `100`, `5%` or `none`.
    /// - Throws: `WarmError` for anything else.
    public static func parse(_ text: String) throws(WarmError) -> FailureLimit {
        if text == "none" { return .unlimited }
        if text.hasSuffix("%") {
            guard let value = Double(text.dropLast()), value >= 0, value <= 100 else {
                throw WarmError("--max-failures '\(text)'", "expected a count such as 100, a share such as 5%, or none")
            }
            return .share(value / 100)
        }
        guard let value = Int(text), value >= 0 else {
            throw WarmError("--max-failures '\(text)'", "expected a count such as 100, a share such as 5%, or none")
        }
        return .count(value)
    }

    /// Whether `failed` keys of `total` is over the limit.
    public func isExceeded(failed: Int, total: Int) -> Bool {
        switch self {
        case .unlimited: return false
        case .count(let n): return failed > n
        case .share(let s): return Double(failed) > s * Double(total)
        }
    }
}
