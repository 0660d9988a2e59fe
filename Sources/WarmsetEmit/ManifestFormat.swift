import WarmsetModel

/// The manifest formats of `--output-format`.
public enum ManifestFormat: String, CaseIterable, Sendable {
    /// One key per line.
    case keys
    /// `key<TAB>count`.
    case tsv
    /// One JSON object per line: rank, key, count, path, the rule's captures (when rules
    /// made the key) and the error bound (sketch mode).
    case jsonl
}

/// Renders ranked keys as a manifest.
public enum ManifestRenderer {
    /// The manifest bytes for `entries`, in rank order.
    /// - Parameter errorBound: the sketch's ε·N, written into each jsonl line; nil when exact.
    /// - Parameter scoreBound: in weighted or decayed mode, ε·N in score units; written instead
    ///   of `errorBound`.
    public static func render(_ entries: [RankedKey], format: ManifestFormat, errorBound: UInt64?, scoreBound: Double? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * 64)
        for (index, entry) in entries.enumerated() {
            switch format {
            case .keys:
                out.append(contentsOf: entry.key.utf8)
            case .tsv:
                out.append(contentsOf: entry.key.utf8)
                out.append(0x09)
                out.append(contentsOf: (entry.score.map(scoreText) ?? String(entry.count)).utf8)
            case .jsonl:
                out.append(contentsOf: #"{"rank":"#.utf8)
                out.append(contentsOf: String(index + 1).utf8)
                out.append(contentsOf: #","key":"#.utf8)
                JSONText.appendString(entry.key, to: &out)
                out.append(contentsOf: #","count":"#.utf8)
                out.append(contentsOf: String(entry.count).utf8)
                out.append(contentsOf: #","path":"#.utf8)
                JSONText.appendString(entry.path, to: &out)
                if !entry.captures.isEmpty {
                    out.append(contentsOf: #","captures":["#.utf8)
                    for (i, capture) in entry.captures.enumerated() {
                        if i > 0 { out.append(0x2C) }
                        JSONText.appendString(capture, to: &out)
                    }
                    out.append(0x5D)
                }
                if let score = entry.score {
                    out.append(contentsOf: #","score":"#.utf8)
                    out.append(contentsOf: scoreText(score).utf8)
                }
                if let scoreBound, errorBound != nil {
                    out.append(contentsOf: #","error_bound":"#.utf8)
                    out.append(contentsOf: scoreText(scoreBound).utf8)
                } else if let errorBound {
                    out.append(contentsOf: #","error_bound":"#.utf8)
                    out.append(contentsOf: String(errorBound).utf8)
                }
                out.append(0x7D)
            }
            out.append(0x0A)
        }
        return out
    }

    /// One absolute URL per line, `baseURL` + each key's representative path, in rank order:
    /// the list a CDN's prefetch feature or a crawler reads (`--output-format urls --base-url`).
    /// A trailing `/` of `baseURL` is dropped so that the URL has one slash; an entry whose path
    /// does not start with exactly one `/` (never one from the analysis, which normalizes paths)
    /// is left out rather than allowed to change the URL's host.
    /// - Complexity: O(total length of the paths).
    public static func renderURLs(_ entries: [RankedKey], baseURL: String) -> [UInt8] {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * (base.utf8.count + 32))
        for entry in entries {
            let path = entry.path.isEmpty ? entry.key : entry.path
            guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { continue }
            out.append(contentsOf: base.utf8)
            out.append(contentsOf: path.utf8)
            out.append(0x0A)
        }
        return out
    }

    /// A weighted or decayed score: integers as integers, otherwise six significant digits.
    static func scoreText(_ score: Double) -> String {
        guard score.isFinite else { return "0" }
        if score == score.rounded() && abs(score) < 1e15 { return String(Int64(score)) }
        var text = String(score)
        if text.contains("e") { return text }
        // Trim to 6 significant digits without Foundation.
        let magnitude = abs(score) >= 1 ? Int(log10Floor(abs(score))) + 1 : 0
        let decimals = max(0, 6 - magnitude)
        let factor = pow10(decimals)
        let rounded = (score * factor).rounded() / factor
        text = String(rounded)
        return text
    }

    static func log10Floor(_ x: Double) -> Double {
        var n = 0.0
        var v = x
        while v >= 10 { v /= 10; n += 1 }
        return n
    }

    static func pow10(_ n: Int) -> Double {
        var v = 1.0
        for _ in 0..<n { v *= 10 }
        return v
    }
}

/// JSON string escaping.
public enum JSONText {
    /// Appends `text` as a quoted JSON string.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20, 0x7F:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }

    /// `text` as a quoted JSON string.
    public static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        appendString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
