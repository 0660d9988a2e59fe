import Foundation

/// Secrets out of messages: every URL warmset prints goes through here first.
public enum Redaction {
    /// `url` with the password of its userinfo replaced by `***`
    /// (`redis://user:secret@host` → `redis://user:***@host`, `redis://:secret@host` →
    /// `redis://:***@host`). Other text is returned as is.
    public static func url(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userinfo = authority[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<rest.startIndex]) + userinfo[..<colon] + ":***" + String(url[at...])
    }

    /// `text` with every occurrence of `secret` replaced by `***` (for messages that might echo
    /// a password given elsewhere, such as `REDISCLI_AUTH`).
    public static func secret(_ secret: String?, in text: String) -> String {
        guard let secret, !secret.isEmpty else { return text }
        return text.replacingOccurrences(of: secret, with: "***")
    }
}
