import WarmsetSystem

/// Why a manifest could not be written, or read back (`ManifestReader`).
public struct EmitError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file being written (`-` for stdout).
    public var path: String
    /// What was being done.
    public var operation: String
    /// The C `errno`.
    public var code: Int32
    /// Reading a manifest: the 1-based line that is wrong (nil for I/O errors).
    public var line: Int? = nil
    /// Reading a keys manifest: the 1-based byte of the line that no key can hold (a space or a
    /// control byte); the description then reads "FILE: line N DETAIL".
    public var column: Int? = nil
    /// Reading a manifest: what is wrong with the line (nil for I/O errors, which use `code`).
    public var detail: String? = nil

    /// One sentence naming the file, the step and the cause.
    public var description: String {
        if let detail {
            let name = path == "-" ? "stdin" : path
            if let line, column != nil { return "\(name): line \(line) \(detail)" }
            return line.map { "\(name):\($0): \(detail)" } ?? "\(name): \(detail)"
        }
        let reason = Errno(code).description
        if path == "-" { return "stdout: \(operation) failed: \(reason)" }
        return "\(path): \(operation) failed: \(reason); the previous file, if any, is left as it was"
    }
}
