#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Every POSIX call of this module goes through here: EINTR is retried and a failure
// becomes an `InputError` in exactly one place.
enum Syscalls {
    /// Opens `path` read-only.
    static func openReadOnly(_ path: String) throws(InputError) -> Int32 {
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw InputError(path: path, kind: .cannotOpen(errno: errno))
        }
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    static func read(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String, offset: Int64
    ) throws(InputError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, base, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw InputError(path: path, kind: .readFailed(errno: errno), byteOffset: offset)
        }
    }

    /// The size of a regular file, or nil for pipes, terminals and the like.
    static func regularFileSize(_ fd: Int32) -> Int64? {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
