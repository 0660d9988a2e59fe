import Glibc

// The one layer between warmset and the C library's file calls (the manner of apple/swift-system:
// each call wrapped once, EINTR retried here, and a failed call's `errno` turned into a Swift
// error in exactly one place, `Errno.check`). The modules that read and write files (input,
// follow, emit, the generator, the command line) call these instead of Glibc.

/// A failed C call's `errno`, as a Swift error.
public struct Errno: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The C `errno` value.
    public var code: Int32

    /// Wraps a C `errno` value.
    public init(_ code: Int32) { self.code = code }

    /// The C library's text for the code (`strerror`), e.g. "No such file or directory".
    public var description: String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    /// `ENOENT` or `ENOTDIR`: nothing is at the path (yet).
    public var isNoSuchFile: Bool { code == ENOENT || code == ENOTDIR }
    /// `EPIPE`: the reader of a pipe went away.
    public var isBrokenPipe: Bool { code == EPIPE }

    /// Runs a C call that reports failure as a negative result and `errno`: retried while it is
    /// interrupted (`EINTR`), its result returned, or its `errno` thrown. The only place a C
    /// error becomes a Swift error.
    @inline(__always)
    static func check<Result: BinaryInteger>(_ call: () -> Result) throws(Errno) -> Result {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = errno
            if code != EINTR { throw Errno(code) }
        }
    }
}

/// An open file's descriptor: a plain `Int32`, closed only by `close()` (its owner decides when).
public struct FileDescriptor: Sendable, Equatable, Hashable {
    /// The C descriptor.
    public let rawValue: Int32

    /// Wraps a C descriptor.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Standard input (0).
    public static let standardInput = FileDescriptor(rawValue: 0)
    /// Standard output (1).
    public static let standardOutput = FileDescriptor(rawValue: 1)

    /// How a file is opened; every descriptor is close-on-exec.
    public enum Access: Sendable {
        /// `O_RDONLY`.
        case readOnly
        /// `O_WRONLY` on a file that exists (a device, a FIFO): never created.
        case writeExisting
        /// `O_WRONLY | O_CREAT | O_EXCL`: a new file, failing when the name is taken.
        case createNew(permissions: mode_t)
        /// `O_WRONLY | O_CREAT | O_TRUNC`: a new file, or an existing one emptied.
        case createOrTruncate(permissions: mode_t)

        var flags: Int32 {
            switch self {
            case .readOnly: O_RDONLY | O_CLOEXEC
            case .writeExisting: O_WRONLY | O_CLOEXEC
            case .createNew: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
            case .createOrTruncate: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
            }
        }

        var permissions: mode_t {
            switch self {
            case .readOnly, .writeExisting: 0
            case .createNew(let permissions), .createOrTruncate(let permissions): permissions
            }
        }
    }

    /// Opens `path` (`open(2)`).
    /// - Throws: `Errno`.
    public static func open(_ path: String, _ access: Access) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try Errno.check { Glibc.open(path, access.flags, access.permissions) })
    }

    /// Reads up to `buffer.count` bytes (`read(2)`); 0 at the end of the file.
    /// - Throws: `Errno`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try Errno.check { Glibc.read(rawValue, base, buffer.count) }
    }

    /// Reads up to `buffer.count` bytes at `offset` (`pread(2)`), leaving the file offset alone.
    /// - Throws: `Errno`.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try Errno.check { Glibc.pread(rawValue, base, buffer.count, off_t(offset)) }
    }

    /// Writes all of `bytes` (`write(2)` until done).
    /// - Throws: `Errno`; part of the bytes may have been written.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            // Safe: offset < bytes.count, so the pointer and count stay inside `bytes`.
            offset += try Errno.check { Glibc.write(rawValue, base + offset, bytes.count - offset) }
        }
    }

    /// Flushes the file's data to disk (`fsync(2)`).
    /// - Throws: `Errno`.
    public func sync() throws(Errno) {
        _ = try Errno.check { Glibc.fsync(rawValue) }
    }

    /// Closes the descriptor (`close(2)`, never retried: the descriptor is gone either way).
    /// - Throws: `Errno`, e.g. a delayed write error on NFS.
    public func close() throws(Errno) {
        if Glibc.close(rawValue) != 0 { throw Errno(errno) }
    }

    /// What `fstat(2)` says of the open file.
    /// - Throws: `Errno`.
    public func status() throws(Errno) -> FileStatus {
        var info = stat()
        _ = try Errno.check { fstat(rawValue, &info) }
        return FileStatus(info)
    }
}

/// What `stat(2)` tells of a file.
public struct FileStatus: Sendable, Equatable {
    /// The kinds of file warmset tells apart.
    public enum Kind: Sendable, Equatable {
        case regular, directory, symbolicLink, other
    }

    /// The file's kind.
    public var kind: Kind
    /// `st_dev`.
    public var device: UInt64
    /// `st_ino`.
    public var inode: UInt64
    /// `st_size` in bytes.
    public var size: Int64

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
    }
}

/// Calls on paths rather than descriptors.
public enum FileSystem {
    /// What `stat(2)` (or, with `followingLinks: false`, `lstat(2)`) says of `path`.
    /// - Throws: `Errno` (`isNoSuchFile` when nothing is there).
    public static func status(_ path: String, followingLinks: Bool = true) throws(Errno) -> FileStatus {
        var info = stat()
        _ = try Errno.check { followingLinks ? stat(path, &info) : lstat(path, &info) }
        return FileStatus(info)
    }

    /// Renames `source` to `target`, replacing it atomically (`rename(2)`).
    /// - Throws: `Errno`.
    public static func rename(_ source: String, to target: String) throws(Errno) {
        _ = try Errno.check { Glibc.rename(source, target) }
    }

    /// Removes `path` (`unlink(2)`); a cleanup whose failure changes nothing for the caller.
    public static func removeQuietly(_ path: String) {
        _ = unlink(path)
    }

    /// The absolute path with every symbolic link resolved (`realpath(3)`), or nil.
    public static func resolvingLinks(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The names in a directory, without `.` and `..` (empty when it cannot be read).
    public static func names(in directory: String) -> [String] {
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

    /// This process's id, for temporary names.
    public static var processID: Int32 { getpid() }
}
