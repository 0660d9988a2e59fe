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
    /// - Throws: `EmitError` naming the step that failed.
    public static func write(_ bytes: [UInt8], to path: String) throws(EmitError) {
        if path == "-" {
            try writeAll(fd: 1, bytes, path: "-", operation: "writing")
            return
        }
        let temporary = temporaryName(for: path)
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
        guard rename(temporary, path) == 0 else {
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
