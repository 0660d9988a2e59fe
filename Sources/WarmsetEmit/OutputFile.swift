import WarmsetSystem

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
            try writeAll(.standardOutput, bytes, path: "-")
            return
        }
        var target = path
        if (try? FileSystem.status(path, followingLinks: false))?.kind == .symbolicLink, let resolved = FileSystem.resolvingLinks(path) {
            target = resolved
        }
        if let kind = (try? FileSystem.status(target))?.kind, kind != .regular && kind != .directory {
            try writeInPlace(bytes, to: target, reportedAs: path)
            return
        }
        try replace(target, with: bytes, reportedAs: path)
    }

    /// A device, FIFO or socket: opened for writing (never created or renamed over).
    static func writeInPlace(_ bytes: [UInt8], to target: String, reportedAs path: String) throws(EmitError) {
        let fd = try step(path, "opening for writing") { () throws(Errno) in try FileDescriptor.open(target, .writeExisting) }
        do throws(EmitError) {
            try writeAll(fd, bytes, path: path)
        } catch {
            try? fd.close()
            throw error
        }
        try step(path, "closing") { () throws(Errno) in try fd.close() }
    }

    /// A regular file (or a new one): a temporary file beside it, flushed and renamed into place.
    static func replace(_ target: String, with bytes: [UInt8], reportedAs path: String) throws(EmitError) {
        let temporary = temporaryName(for: target)
        let fd = try step(path, "creating a temporary file beside it") { () throws(Errno) in
            try FileDescriptor.open(temporary, .createNew(permissions: 0o644))
        }
        do throws(EmitError) {
            try writeAll(fd, bytes, path: path)
            try step(path, "flushing to disk") { () throws(Errno) in try fd.sync() }
        } catch {
            try? fd.close()
            FileSystem.removeQuietly(temporary)
            throw error
        }
        do throws(EmitError) {
            try step(path, "closing") { () throws(Errno) in try fd.close() }
            try step(path, "renaming into place") { () throws(Errno) in try FileSystem.rename(temporary, to: target) }
        } catch {
            FileSystem.removeQuietly(temporary)
            throw error
        }
    }

    /// `dir/.name.tmp-PID` beside `path`.
    static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory).\(name).tmp-\(FileSystem.processID)"
    }

    static func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8], path: String) throws(EmitError) {
        try step(path, "writing") { () throws(Errno) in
            // Array's withUnsafeBytes rethrows an untyped error: the failure is carried out of it.
            let failure: Errno? = bytes.withUnsafeBytes { buffer in
                do throws(Errno) {
                    try fd.writeAll(buffer)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
        }
    }

    /// Runs one step of writing `path`; a failure becomes an `EmitError` naming the step.
    private static func step<Result>(_ path: String, _ operation: String, _ body: () throws(Errno) -> Result) throws(EmitError) -> Result {
        do {
            return try body()
        } catch {
            throw EmitError(path: path, operation: operation, code: error.code)
        }
    }
}
