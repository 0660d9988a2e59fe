#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the manifest could not be written.
public struct EmitError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file being written (`-` for stdout).
    public var path: String
    /// What was being done.
    public var operation: String
    /// The C `errno`.
    public var code: Int32

    /// One sentence naming the file, the step and the cause.
    public var description: String {
        let reason = String(cString: strerror(code))
        if path == "-" { return "stdout: \(operation) failed: \(reason)" }
        return "\(path): \(operation) failed: \(reason); the previous file, if any, is left as it was"
    }
}
