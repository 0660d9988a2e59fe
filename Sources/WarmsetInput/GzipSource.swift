import CZlib

/// A gzip input inflated with zlib, member after member.
///
/// Concatenated members (as pigz and logrotate write them) are one stream. Zero padding
/// after the last member is ignored; any other trailing bytes, a truncated member, or data
/// zlib rejects raise an `InputError` naming the compressed byte offset.
final class GzipSource: ByteSource {
    private let file: RawFile
    private let input: UnsafeMutableRawBufferPointer
    // The z_stream must not move while zlib holds pointers into it, so it lives on the heap.
    private let stream: UnsafeMutablePointer<z_stream>
    /// On-disk offset of `input[0]`.
    private var inputFileOffset: Int64 = 0
    private var inputCount: Int
    private var inMember = false
    private var finished = false
    private var initialized = false

    init(file: RawFile, buffer: UnsafeMutableRawBufferPointer, staged: Int) {
        self.file = file
        self.input = buffer
        self.inputCount = staged
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + 15: gzip framing only, with the largest window.
        initialized = warmset_inflateInit2(stream, 16 + 15) == Z_OK
        stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(staged)
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        input.deallocate()
    }

    var path: String { file.path }
    var compressedSize: Int64? { file.size }
    var isGzip: Bool { true }
    var compressedBytesConsumed: Int64 { inputFileOffset + Int64(consumedInBuffer) }

    private var consumedInBuffer: Int {
        guard let base = input.baseAddress, let next = stream.pointee.next_in else { return 0 }
        return UnsafeRawPointer(next) - UnsafeRawPointer(base)
    }

    private var offsetOfNextInput: Int64 { compressedBytesConsumed }

    /// Refills the input buffer when zlib has used all of it; returns false at end of file.
    private func refillIfEmpty() throws(InputError) -> Bool {
        if stream.pointee.avail_in > 0 { return true }
        inputFileOffset += Int64(inputCount)
        inputCount = try file.read(into: input)
        stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(inputCount)
        return inputCount > 0
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        guard !finished, let outBase = buffer.baseAddress, buffer.count > 0 else { return 0 }
        guard initialized else {
            throw InputError(path: path, kind: .gzipCorrupt(message: "inflateInit2 failed"), byteOffset: 0)
        }
        stream.pointee.next_out = outBase.assumingMemoryBound(to: Bytef.self)
        // Safe: buffers here are far below 4 GiB, so the count fits zlib's 32-bit uInt.
        stream.pointee.avail_out = uInt(buffer.count)
        while stream.pointee.avail_out > 0 {
            if !(try refillIfEmpty()) {
                if inMember {
                    throw InputError(path: path, kind: .gzipTruncated, byteOffset: offsetOfNextInput)
                }
                finished = true
                break
            }
            if !inMember {
                // Between members: another member must start here, or only zero padding may follow.
                if try !startOfNextMember() {
                    finished = true
                    break
                }
            }
            inMember = true
            let status = inflate(stream, Z_NO_FLUSH)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                inMember = false
                inflateReset(stream)
            case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                throw InputError(path: path, kind: .gzipCorrupt(message: message), byteOffset: offsetOfNextInput)
            default:
                throw InputError(path: path, kind: .gzipCorrupt(message: "zlib error \(status)"), byteOffset: offsetOfNextInput)
            }
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }

    /// Looks at the bytes after a finished member: true when another member starts there,
    /// false when only zero bytes remain up to the end of the file.
    private func startOfNextMember() throws(InputError) -> Bool {
        guard let next = stream.pointee.next_in else { return false }
        let first = next.pointee
        if first == 0x1f { return true }  // the second magic byte is checked by zlib itself
        if first != 0 {
            throw InputError(path: path, kind: .gzipTrailingGarbage, byteOffset: offsetOfNextInput)
        }
        // Zero padding (tape and block devices add it): accept it only if it runs to the end.
        while true {
            let available = Int(stream.pointee.avail_in)
            guard let p = stream.pointee.next_in else { return false }
            for i in 0..<available where p[i] != 0 {
                stream.pointee.next_in = p + i
                stream.pointee.avail_in = uInt(available - i)
                throw InputError(path: path, kind: .gzipTrailingGarbage, byteOffset: offsetOfNextInput)
            }
            stream.pointee.next_in = p + available
            stream.pointee.avail_in = 0
            if !(try refillIfEmpty()) { return false }
        }
    }
}
