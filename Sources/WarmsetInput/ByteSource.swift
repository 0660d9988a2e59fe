/// A stream of decoded bytes: a plain file as it is, or a gzip file inflated.
public protocol ByteSource: AnyObject {
    /// The input's name as the user gave it.
    var path: String { get }
    /// On-disk bytes consumed so far, for progress.
    var compressedBytesConsumed: Int64 { get }
    /// The on-disk size, when known.
    var compressedSize: Int64? { get }
    /// Whether the input was detected as gzip.
    var isGzip: Bool { get }
    /// Decodes up to `buffer.count` bytes into `buffer`; returns 0 at the end of the input.
    /// - Throws: `InputError` for read failures and damaged gzip data.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
}

/// Opens inputs and picks the decoder by their first bytes, never by their names.
public enum InputOpener {
    /// The size of the first read, which is also where the magic bytes are looked for.
    static let stagingSize = 256 * 1024

    /// Opens `path` (or stdin for `-`) and returns a source of its decoded bytes.
    ///
    /// gzip is recognised by the magic bytes `1f 8b`; anything else is read as it is.
    /// - Parameter inflater: ISA-L (default) or zlib for gzip input.
    /// - Throws: `InputError.cannotOpen` or a read failure.
    /// - Parameter readAhead: read a gzip file ahead on a thread of its own once its inflation
    ///   has used up the first buffer (`GzipSource`); for runs that decode in the background.
    public static func open(_ path: String, inflater: Inflater = .isal, readAhead: Bool = false) throws(InputError) -> any ByteSource {
        let file = try RawFile(path: path)
        // 64-byte aligned: the kernel copies into a destination 1–31 bytes past a boundary five times slower.
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: stagingSize, alignment: 64)
        let staged: Int
        do {
            // Fill enough to see the magic bytes even when a pipe hands them over one at a time.
            var filled = 0
            while filled < 2 {
                let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: staging[filled...]))
                if n == 0 { break }
                filled += n
            }
            staged = filled
        } catch {
            staging.deallocate()
            throw error
        }
        if staged >= 2 && staging[0] == 0x1f && staging[1] == 0x8b {
            return GzipSource(file: file, buffer: staging, staged: staged, inflater: inflater, readsAhead: readAhead)
        }
        return PlainSource(file: file, buffer: staging, staged: staged)
    }
}

/// A plain (uncompressed) input: the first staged bytes, then straight reads into the caller's buffer.
final class PlainSource: ByteSource {
    private let file: RawFile
    private let staging: UnsafeMutableRawBufferPointer
    private var stagedStart = 0
    private var stagedEnd: Int

    init(file: RawFile, buffer: UnsafeMutableRawBufferPointer, staged: Int) {
        self.file = file
        self.staging = buffer
        self.stagedEnd = staged
    }

    /// The file's bytes from where it stands, nothing staged (`GzipSource` reading ahead).
    convenience init(file: RawFile) {
        self.init(file: file, buffer: .allocate(byteCount: 0, alignment: 1), staged: 0)
    }

    deinit { staging.deallocate() }

    var path: String { file.path }
    var compressedBytesConsumed: Int64 { file.offset - Int64(stagedEnd - stagedStart) }
    var compressedSize: Int64? { file.size }
    var isGzip: Bool { false }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if stagedStart < stagedEnd {
            let n = min(buffer.count, stagedEnd - stagedStart)
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: staging[stagedStart..<(stagedStart + n)]))
            stagedStart += n
            return n
        }
        return try file.read(into: buffer)
    }
}
