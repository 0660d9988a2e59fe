#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a followed log could not be read, with the file and what was being done.
public struct FollowError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// `open(2)` failed for a reason other than the file not existing (yet).
        case cannotOpen(errno: Int32)
        /// `pread(2)` or `fstat(2)` failed.
        case readFailed(errno: Int32)
        /// The file is gzip: rotated, compressed logs are not followed.
        case gzip
    }

    /// The followed path.
    public var path: String
    /// What went wrong.
    public var kind: Kind
    /// The byte offset being read, when known.
    public var byteOffset: Int64?

    /// Creates an error.
    public init(path: String, kind: Kind, byteOffset: Int64? = nil) {
        self.path = path
        self.kind = kind
        self.byteOffset = byteOffset
    }

    /// One sentence naming the file and what to do.
    public var description: String {
        switch kind {
        case .cannotOpen(let code):
            return "\(path): cannot open: \(Self.strerror(code)); check the path and its permissions"
        case .readFailed(let code):
            return "\(path): read failed at byte \(byteOffset ?? 0): \(Self.strerror(code))"
        case .gzip:
            return "\(path): is gzip-compressed; watch follows the live (plain) log, give rotated .gz files to warmset analyze"
        }
    }

    static func strerror(_ code: Int32) -> String {
        guard let text = Glibc.strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
