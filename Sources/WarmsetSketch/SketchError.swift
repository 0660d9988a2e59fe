/// Why a sketch file cannot be used, naming the file and, where it applies, the byte.
public struct SketchError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The first bytes are not a warmset sketch's magic number.
        case notASketch
        /// A format version this build does not read.
        case unsupportedVersion(UInt16)
        /// The file ends before the length its header states.
        case truncated(expected: Int, actual: Int)
        /// Bytes after the end the header states.
        case trailingBytes(expected: Int, actual: Int)
        /// A header field holds an impossible value.
        case badField(String)
        /// A section's checksum does not match its bytes.
        case checksumMismatch(section: String, end: Int)
        /// The sketch cannot be merged with the others.
        case incompatible(String)
    }

    /// The file as the user named it (`-` is stdin).
    public var path: String
    /// What went wrong.
    public var kind: Kind
    /// The byte offset where it went wrong, when known.
    public var byteOffset: Int?

    /// Creates an error.
    public init(path: String, kind: Kind, byteOffset: Int? = nil) {
        self.path = path
        self.kind = kind
        self.byteOffset = byteOffset
    }

    /// One sentence naming the file, the byte and what to do.
    public var description: String {
        let name = path == "-" ? "stdin" : path
        let at = byteOffset ?? 0
        switch kind {
        case .notASketch:
            return "\(name): not a warmset sketch file (no magic number at byte 0)"
        case .unsupportedVersion(let version):
            return "\(name): sketch format version \(version) at byte 8 is not one this warmset reads (it reads version \(SketchFile.version)); use a matching warmset"
        case .truncated(let expected, let actual):
            return "\(name): sketch file is truncated at byte \(actual) (its header says \(expected) bytes); it is incomplete (still being written, or cut short when copied)"
        case .trailingBytes(let expected, let actual):
            return "\(name): sketch file has \(actual - expected) unexpected bytes after its end at byte \(expected)"
        case .badField(let what):
            return "\(name): sketch file is corrupt at byte \(at): \(what)"
        case .checksumMismatch(let section, let end):
            return "\(name): sketch file is corrupt between byte \(at) and byte \(end) (\(section) checksum does not match)"
        case .incompatible(let why):
            return "\(name): cannot merge this sketch: \(why)"
        }
    }
}
