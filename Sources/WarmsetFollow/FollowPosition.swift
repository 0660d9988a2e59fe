/// Where a followed log has been read to: the file (by device and inode, since its name
/// changes when it is rotated) and the offset just after the last complete line counted.
///
/// A partial last line is not part of the offset: after a restart it is read again, whole.
public struct FollowPosition: Codable, Sendable, Equatable {
    /// The followed path, as given.
    public var path: String
    /// The file read: the one at `path`, or (when `retired`) one rotated away from it.
    public var identity: FileIdentity
    /// The byte after the last complete line counted.
    public var offset: Int64
    /// True when inside a line longer than the limit, whose bytes are dropped up to its newline.
    public var skipping: Bool
    /// True for a file rotated away from `path` that is still being read to its end.
    public var retired: Bool

    /// Creates a position.
    public init(path: String, identity: FileIdentity, offset: Int64, skipping: Bool = false, retired: Bool = false) {
        self.path = path
        self.identity = identity
        self.offset = offset
        self.skipping = skipping
        self.retired = retired
    }
}
