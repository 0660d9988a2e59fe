#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes output either to stdout or to a file that appears whole or not at all.
public enum OutputFile {
    /// Writes `bytes` to `path` through a temporary file in the same directory, flushed to
    /// disk and renamed into place; `-` writes to stdout. On failure the temporary file is
    /// removed and any previous file is left intact.
    ///
    /// Only regular files are replaced that way. A path that is a device, a FIFO or a socket
    /// (`-o /dev/null`, `-o /dev/stdout`, a named pipe) is written in place: renaming over it would
    /// replace the device node with a file (run as root, `-o /dev/null` would turn /dev/null into
    /// a regular file for every program on the machine). A symbolic link is followed, so the
    /// file it points to is replaced and the link stays.
    /// - Throws: `EmitError` naming the step that failed.
    public static func write(_ bytes: [UInt8], to path: String) throws(EmitError) {
        if path == "-" {
            try writeAll(fd: 1, bytes, path: "-", operation: "writing")
            return
        }
        var target = path
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK, let resolved = realpath(path, nil) {
            target = String(cString: resolved)
            free(resolved)
        }
        if stat(target, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG && (info.st_mode & S_IFMT) != S_IFDIR {
            try writeInPlace(bytes, to: target, reportedAs: path)
            return
        }
        try replace(target, with: bytes, reportedAs: path)
    }

    /// A device, FIFO or socket: opened for writing (never created or renamed over).
    static func writeInPlace(_ bytes: [UInt8], to target: String, reportedAs path: String) throws(EmitError) {
        let fd = open(target, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EmitError(path: path, operation: "opening for writing", code: errno) }
        do throws(EmitError) {
            try writeAll(fd: fd, bytes, path: path, operation: "writing")
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw EmitError(path: path, operation: "closing", code: errno) }
    }

    /// A regular file (or a new one): a temporary file beside it, flushed and renamed into place.
    static func replace(_ target: String, with bytes: [UInt8], reportedAs path: String) throws(EmitError) {
        let temporary = temporaryName(for: target)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw EmitError(path: path, operation: "creating a temporary file beside it", code: errno) }
        do throws(EmitError) {
            try writeAll(fd: fd, bytes, path: path, operation: "writing")
            guard fsync(fd) == 0 else { throw EmitError(path: path, operation: "flushing to disk", code: errno) }
            guard close(fd) == 0 else {
                let code = errno
                unlink(temporary)
                throw EmitError(path: path, operation: "closing", code: code)
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw EmitError(path: path, operation: "renaming into place", code: code)
        }
    }

    /// `dir/.name.tmp-PID` beside `path`.
    static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory).\(name).tmp-\(getpid())"
    }

    static func writeAll(fd: Int32, _ bytes: [UInt8], path: String, operation: String) throws(EmitError) {
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if failure != 0 { throw EmitError(path: path, operation: operation, code: failure) }
    }
}
