import Foundation
import Yams

/// Rules and filters from a YAML file (`--rules FILE`).
///
/// ```yaml
/// rules:                       # first match wins; a rule is 'REGEX => TEMPLATE'
///   - '^/products/(\d+)$ => product:$1'
///   - match: '^/users/(?<id>\d+)$'
///     key: 'user:${id}'
/// exclude: ['^/static/', '\.php$']
/// methods: [GET, HEAD]
/// status: [2xx, 304]
/// keep_query: [page, sort]     # or none, all
/// host: shop.example.com
/// since: 2026-11-27T00:00:00Z
/// until: 2026-11-28T00:00:00Z
/// format: combined
/// ```
public struct RulesFile: Sendable, Equatable {
    /// Key rules, in order.
    public var rules: [String] = []
    /// Exclude patterns.
    public var excludes: [String] = []
    /// Methods, comma-separated.
    public var methods: String?
    /// Statuses, comma-separated.
    public var status: String?
    /// The query policy text.
    public var keepQuery: String?
    /// The host filter.
    public var host: String?
    /// Time window.
    public var since: String?
    /// Time window end.
    public var until: String?
    /// The log format.
    public var format: String?

    static let knownKeys: Set<String> = ["rules", "exclude", "methods", "status", "keep_query", "host", "since", "until", "format"]

    /// Parses YAML text; `name` is used in error messages.
    /// - Throws: `ConfigurationError` naming the file and the setting.
    public init(yaml: String, name: String) throws(ConfigurationError) {
        let document: Any?
        do {
            document = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigurationError("\(name): not valid YAML (\(error)); check indentation and quote regexes with single quotes")
        }
        guard let map = document as? [String: Any] else {
            if document == nil { return }
            throw ConfigurationError("\(name): expected a mapping with keys such as rules, exclude, methods, status")
        }
        for key in map.keys where !Self.knownKeys.contains(key) {
            throw ConfigurationError("\(name): unknown setting '\(key)'; known settings are \(Self.knownKeys.sorted().joined(separator: ", "))")
        }
        func list(_ key: String) throws(ConfigurationError) -> [String]? {
            guard let value = map[key] else { return nil }
            if let text = Self.scalar(value) { return [text] }
            if let items = value as? [Any] {
                var out: [String] = []
                for item in items {
                    guard let text = Self.scalar(item) else {
                        throw ConfigurationError("\(name): '\(key)' must be a list of strings")
                    }
                    out.append(text)
                }
                return out
            }
            throw ConfigurationError("\(name): '\(key)' must be a string or a list of strings")
        }
        func text(_ key: String) throws(ConfigurationError) -> String? {
            guard let value = map[key] else { return nil }
            guard let text = Self.scalar(value) else { throw ConfigurationError("\(name): '\(key)' must be a single value") }
            return text
        }
        if let items = map["rules"] as? [Any] {
            for (index, item) in items.enumerated() {
                if let line = item as? String {
                    rules.append(line)
                } else if let entry = item as? [String: Any], let match = entry["match"] as? String, let key = entry["key"] as? String {
                    rules.append("\(match) => \(key)")
                } else {
                    throw ConfigurationError("\(name): rule \(index + 1) must be 'REGEX => TEMPLATE' or a mapping with match and key")
                }
            }
        } else if map["rules"] != nil {
            throw ConfigurationError("\(name): 'rules' must be a list")
        }
        excludes = try list("exclude") ?? []
        methods = try list("methods")?.joined(separator: ",")
        status = try list("status")?.joined(separator: ",")
        keepQuery = try list("keep_query")?.joined(separator: ",")
        host = try text("host")
        since = try text("since")
        until = try text("until")
        format = try text("format")
    }

    static func scalar(_ value: Any) -> String? {
        switch value {
        case let s as String: return s
        case let i as Int: return String(i)
        case let d as Double: return String(d)
        case let b as Bool: return String(b)
        case let date as Date: return ISO8601DateFormatter().string(from: date)  // YAML reads timestamps as dates
        default:
            return nil
        }
    }

    /// Applies the file to `configuration`: its rules come before any from the command
    /// line; its other settings apply where the command line left the default.
    public func apply(to configuration: inout AnalysisConfiguration, explicit: Set<String>) {
        configuration.rules = rules + configuration.rules
        configuration.excludes = excludes + configuration.excludes
        if let methods, !explicit.contains("methods") { configuration.methods = methods }
        if let status, !explicit.contains("status") { configuration.status = status }
        if let keepQuery, !explicit.contains("keep-query") { configuration.keepQuery = keepQuery }
        if let host, !explicit.contains("host") { configuration.host = host }
        if let since, !explicit.contains("since") { configuration.since = since }
        if let until, !explicit.contains("until") { configuration.until = until }
        if let format, !explicit.contains("format") { configuration.format = format }
    }
}
