import WarmsetSystem

/// Why an input could not be read (a log given to analyze, or one followed by watch), with the
/// file and the byte where it went wrong. One wording per failure kind, for every reader.
public struct InputError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened (the C `errno` is kept).
        case cannotOpen(errno: Int32)
        /// `read(2)`, `pread(2)` or `fstat(2)` failed part-way.
        case readFailed(errno: Int32)
        /// The gzip stream ended before its last member was complete.
        case gzipTruncated
        /// zlib rejected the data; the message is zlib's own.
        case gzipCorrupt(message: String)
        /// Bytes after a gzip member that are neither another member nor zero padding.
        case gzipTrailingGarbage
        /// A followed log is gzip: rotated, compressed logs are not followed.
        case gzipNotFollowed
    }

    /// The input's name as the user gave it (`-` for stdin).
    public var path: String
    /// What went wrong.
    public var kind: Kind
    /// The compressed (on-disk) byte offset where it went wrong, when known.
    public var byteOffset: Int64?

    /// Creates an input error.
    public init(path: String, kind: Kind, byteOffset: Int64? = nil) {
        self.path = path
        self.kind = kind
        self.byteOffset = byteOffset
    }

    /// `open(2)` of `path` failed with `errno`.
    public static func cannotOpen(_ path: String, _ errno: Errno) -> InputError {
        InputError(path: path, kind: .cannotOpen(errno: errno.code))
    }

    /// Reading `path` at `offset` failed with `errno`.
    public static func readFailed(_ path: String, _ errno: Errno, at offset: Int64?) -> InputError {
        InputError(path: path, kind: .readFailed(errno: errno.code), byteOffset: offset)
    }

    /// One sentence naming the file, the byte and what to do.
    public var description: String {
        let name = path == "-" ? "stdin" : path
        switch kind {
        case .cannotOpen(let code):
            return "\(name): cannot open: \(Errno(code)); check the path and its permissions"
        case .readFailed(let code):
            return "\(name): read failed at byte \(byteOffset ?? 0): \(Errno(code))"
        case .gzipTruncated:
            return "\(name): gzip stream is truncated at compressed byte \(byteOffset ?? 0); the file is incomplete (still being written, or cut short when copied)"
        case .gzipCorrupt(let message):
            return "\(name): gzip stream is corrupt at compressed byte \(byteOffset ?? 0) (zlib: \(message)); the lines before it were read"
        case .gzipTrailingGarbage:
            return "\(name): unexpected bytes after the gzip data at compressed byte \(byteOffset ?? 0); they are neither another gzip member nor padding"
        case .gzipNotFollowed:
            return "\(name): is gzip-compressed; watch follows the live (plain) log, give rotated .gz files to warmset analyze"
        }
    }
}
