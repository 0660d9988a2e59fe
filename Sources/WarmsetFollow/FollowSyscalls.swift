#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

// Every POSIX call of this module goes through here: EINTR is retried and a failure becomes
// a `FollowError` in exactly one place.
enum FollowSyscalls {
    /// What `stat`/`fstat` tells the follower.
    struct Status {
        var identity: FileIdentity
        var size: Int64
    }

    /// Opens `path` read-only; nil when it does not exist (yet).
    static func open(_ path: String) throws(FollowError) -> Int32? {
        while true {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FollowError(path: path, kind: .cannotOpen(errno: errno))
        }
    }

    /// The identity and size of an open file.
    static func status(_ fd: Int32, path: String) throws(FollowError) -> Status {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FollowError(path: path, kind: .readFailed(errno: errno)) }
        return Status(identity: FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)), size: Int64(info.st_size))
    }

    /// The identity and size of the file at `path` now; nil when there is none.
    static func status(path: String) -> Status? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Status(identity: FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)), size: Int64(info.st_size))
    }

    /// Reads up to `buffer.count` bytes at `offset`; 0 at end of file.
    static func pread(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String
    ) throws(FollowError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.pread(fd, base, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FollowError(path: path, kind: .readFailed(errno: errno), byteOffset: offset)
        }
    }

    /// The names in a directory (empty when it cannot be read).
    static func names(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }
}
