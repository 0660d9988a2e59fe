import WarmsetSystem

/// An open file or stdin, read front to back with `read(2)`.
///
/// Owns its descriptor (except stdin) and closes it on `deinit`.
public final class RawFile {
    /// The name as the user gave it; `-` is stdin.
    public let path: String
    /// Bytes read so far: the on-disk offset of the next byte.
    public private(set) var offset: Int64 = 0
    /// The file's size when it is a regular file.
    public let size: Int64?
    private let descriptor: FileDescriptor
    private let ownsDescriptor: Bool

    /// Opens `path`, or stdin for `-`.
    /// - Throws: `InputError` when the file cannot be opened.
    public init(path: String) throws(InputError) {
        self.path = path
        if path == "-" {
            descriptor = .standardInput
            ownsDescriptor = false
        } else {
            do {
                descriptor = try FileDescriptor.open(path, .readOnly)
            } catch {
                throw InputError.cannotOpen(path, error)
            }
            ownsDescriptor = true
        }
        // nil for pipes, terminals and the like
        size = (try? descriptor.status()).flatMap { $0.kind == .regular ? $0.size : nil }
    }

    deinit {
        if ownsDescriptor { try? descriptor.close() }
    }

    /// Reads up to `buffer.count` bytes; returns 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n: Int
        do {
            n = try descriptor.read(into: buffer)
        } catch {
            throw InputError.readFailed(path, error, at: offset)
        }
        offset += Int64(n)
        return n
    }

    /// Fills as much of `buffer` as the file allows (short only at end of file).
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }
}
