/// One key of the warm plan: the cache key, the request path it stands for, and the key rule's
/// captures, which is what a value template (`{key}`, `{path}`, `{1}`…) can use.
public struct WarmEntry: Sendable, Equatable {
    /// The cache key, written as is.
    public var key: String
    /// A representative request path (empty when the manifest did not carry one).
    public var path: String
    /// The key rule's capture groups (`{1}` is the first).
    public var captures: [String]

    /// Creates an entry.
    public init(key: String, path: String = "", captures: [String] = []) {
        self.key = key
        self.path = path
        self.captures = captures
    }

    /// The entry for a key of a fresh analysis.
    public init(_ ranked: RankedKey) {
        self.init(key: ranked.key, path: ranked.path, captures: ranked.captures)
    }
}
