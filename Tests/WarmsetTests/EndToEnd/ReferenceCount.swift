import Foundation

/// An independent exact count of a combined-format log under warmset's defaults (GET,
/// 2xx and 304, query dropped, path normalized), written without any of warmset's code:
/// a regular expression per line and string operations.
enum ReferenceCount {
    static let line = try! NSRegularExpression(
        pattern: #"^\S+ - .*? \[[^\]]*\] "((?:[^"\\]|\\.)*)" (\d{3}) (?:\d+|-)(?: "(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*")?\r?$"#)

    static func counts(of text: [UInt8]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for raw in text.split(separator: 0x0A) {
            let s = String(raw.map { Character(Unicode.Scalar($0)) })  // Latin-1: one character per byte
            let ns = s as NSString
            guard let m = line.firstMatch(in: s, range: NSRange(location: 0, length: ns.length)) else { continue }
            let request = ns.substring(with: m.range(at: 1))
            let status = Int(ns.substring(with: m.range(at: 2))) ?? 0
            guard status / 100 == 2 || status == 304 else { continue }
            var parts = request.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2, parts[0] == "GET" else { continue }
            if parts.count >= 3, parts.last!.hasPrefix("HTTP/") { parts.removeLast() }
            let target = parts.dropFirst().joined(separator: " ")
            if let key = normalize(target) { counts[key, default: 0] += 1 }
        }
        return counts
    }

    /// The normalized path of a logged request target, or nil when it yields no key.
    static func normalize(_ target: String) -> String? {
        // 1. The log's escapes back to bytes.
        var bytes: [UInt8] = []
        let t = Array(target.unicodeScalars.map { UInt8($0.value) })
        var i = 0
        while i < t.count {
            if t[i] == UInt8(ascii: "\\"), i + 3 < t.count, t[i + 1] == UInt8(ascii: "x"),
                let v = UInt8(String(decoding: t[(i + 2)...(i + 3)], as: UTF8.self), radix: 16)
            {
                bytes.append(v); i += 4
            } else if t[i] == UInt8(ascii: "\\"), i + 1 < t.count, t[i + 1] == UInt8(ascii: "\"") || t[i + 1] == UInt8(ascii: "\\") {
                bytes.append(t[i + 1]); i += 2
            } else {
                bytes.append(t[i]); i += 1
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.lowercased().hasPrefix("http://") || text.lowercased().hasPrefix("https://") { return nil }
        guard bytes.first == UInt8(ascii: "/") else { return nil }
        // 2. Path only.
        if let cut = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { bytes = Array(bytes[..<cut]) }
        // 3. Percent-encoding.
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let plain = unreserved.union("!$&'()*+,;=:@/?[]".utf8)
        var out = ""
        i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b <= 0x20 || b == 0x7F { return nil }
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let v = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out += unreserved.contains(v) ? String(UnicodeScalar(v)) : String(format: "%%%02X", v)
                i += 3
                continue
            }
            out += plain.contains(b) ? String(UnicodeScalar(b)) : String(format: "%%%02X", b)
            i += 1
        }
        // 4. Dot segments and repeated slashes.
        var stack: [String] = []
        let segments = out.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            let last = index == segments.count - 1
            switch segment {
            case "", ".": if last { stack.append("") }
            case "..":
                if !stack.isEmpty, stack.last == "" { stack.removeLast() }
                if !stack.isEmpty { stack.removeLast() }
                if last { stack.append("") }
            default: stack.append(String(segment))
            }
        }
        // collapse empty markers that are not at the end
        stack = stack.enumerated().filter { $0.element != "" || $0.offset == stack.count - 1 }.map(\.element)
        return "/" + stack.joined(separator: "/")
    }
}
