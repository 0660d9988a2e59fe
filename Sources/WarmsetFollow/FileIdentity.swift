import WarmsetInput
import WarmsetSystem

/// A file's identity: the device and inode it lives on.
public struct FileIdentity: Codable, Sendable, Equatable, Hashable {
    /// `st_dev`.
    public var device: UInt64
    /// `st_ino`.
    public var inode: UInt64

    /// Creates an identity.
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

// The follower's file calls, on the system layer (WarmsetSystem): its `Errno` becomes the
// follower's `FollowError` here, with the path and offset.
enum FollowFiles {
    /// What `stat`/`fstat` tells the follower.
    struct Status {
        var identity: FileIdentity
        var size: Int64

        init(_ status: FileStatus) {
            identity = FileIdentity(device: status.device, inode: status.inode)
            size = status.size
        }
    }

    /// Opens `path` read-only; nil when it does not exist (yet).
    static func open(_ path: String) throws(FollowError) -> FileDescriptor? {
        do {
            return try FileDescriptor.open(path, .readOnly)
        } catch {
            if error.isNoSuchFile { return nil }
            throw FollowError.cannotOpen(path, error)
        }
    }

    /// The identity and size of an open file.
    static func status(_ fd: FileDescriptor, path: String) throws(FollowError) -> Status {
        do {
            return Status(try fd.status())
        } catch {
            throw FollowError.readFailed(path, error, at: nil)
        }
    }

    /// The identity and size of the file at `path` now; nil when there is none.
    static func status(path: String) -> Status? {
        (try? FileSystem.status(path)).map(Status.init)
    }

    /// Reads up to `buffer.count` bytes at `offset`; 0 at end of file.
    static func pread(
        _ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String
    ) throws(FollowError) -> Int {
        do {
            return try fd.read(into: buffer, at: offset)
        } catch {
            throw FollowError.readFailed(path, error, at: offset)
        }
    }
}
