/// Which inflate implementation decodes gzip input.
public enum Inflater: String, CaseIterable, Sendable {
    /// Intel ISA-L (the default): about twice as fast as zlib.
    case isal
    /// zlib: the reference, kept as a cross-check and a fallback.
    case zlib
}

/// One call's worth of inflating.
struct InflateStep {
    enum Status {
        /// Progress (or a request for more input or output space).
        case progress
        /// A gzip member ended here (its trailer checked).
        case memberEnd
        /// The library rejected the data.
        case failed(String)
    }

    var consumed: Int
    var produced: Int
    var status: Status
}

/// A gzip inflater: ISA-L or zlib behind one small interface.
protocol InflateEngine: AnyObject {
    /// Inflates from `input` into `output`.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> InflateStep
    /// Prepares for the next member.
    func reset()
}

/// A gzip input, member after member.
///
/// Concatenated members (as pigz and logrotate write them) are one stream. Zero padding
/// after the last member is ignored; any other trailing bytes, a truncated member, or data
/// the inflater rejects raise an `InputError` naming the compressed byte offset. The bytes
/// decoded before such an error are returned first, and the error comes with the next read:
/// nothing that could be decoded is lost.
///
/// With `readsAhead`, the compressed file is read on a thread of its own once the first buffer
/// (the bytes read when the input was opened and sniffed) is used up, into a small ring
/// (`PrefetchedChunks`), and inflated from there in place: the inflating thread, the one a
/// `.gz` analysis waits for, no longer spends its time in `read` copying the file out of the
/// page cache. Opening many inputs starts no thread; each starts when its inflation gets past
/// the first buffer and ends at the end of its file. On 2 cores it cost 1–2% (the reading thread
/// preempts the inflater); an analysis asks for it only where a core is spare for that thread
/// (`AnalysisConfiguration.readsAhead`), which no benchmark here has measured.
final class GzipSource: ByteSource {
    private let file: RawFile
    /// The bytes read when the input was opened, then the synchronous reads' buffer.
    private let staging: UnsafeMutableRawBufferPointer
    /// The bytes being inflated: `staging`'s, or a chunk of `ahead` (valid until its next chunk).
    private var input: UnsafeRawBufferPointer
    private let engine: any InflateEngine
    /// Read the file ahead on a thread of its own after the first buffer.
    private let readsAhead: Bool
    private var ahead: PrefetchedChunks?
    /// On-disk offset of `input[0]`.
    private var inputFileOffset: Int64 = 0
    private var inputStart = 0
    private var inputEnd: Int { input.count }
    private var inMember = false
    private var finished = false
    /// An error met after some bytes of a read were decoded: thrown by the next read.
    private var deferredError: InputError?

    init(file: RawFile, buffer: UnsafeMutableRawBufferPointer, staged: Int, inflater: Inflater, readsAhead: Bool = false) {
        self.file = file
        staging = buffer
        input = UnsafeRawBufferPointer(rebasing: buffer[0..<staged])
        self.readsAhead = readsAhead
        switch inflater {
        case .isal: engine = IsalEngine()
        case .zlib: engine = ZlibEngine()
        }
    }

    deinit {
        ahead = nil  // stops the reading thread before the file goes
        staging.deallocate()
    }

    var path: String { file.path }
    var compressedSize: Int64? { file.size }
    var isGzip: Bool { true }
    var compressedBytesConsumed: Int64 { inputFileOffset + Int64(inputStart) }

    /// Refills the input buffer when it is used up; returns false at end of file.
    private func refillIfEmpty() throws(InputError) -> Bool {
        if inputStart < inputEnd { return true }
        inputFileOffset += Int64(inputEnd)
        inputStart = 0
        input = UnsafeRawBufferPointer(start: nil, count: 0)
        if readsAhead {
            if ahead == nil { ahead = PrefetchedChunks(PlainSource(file: file), chunkSize: staging.count, count: 3, threadName: "warmset-read") }
            if let chunk = try ahead?.nextChunk() { input = chunk }
        } else {
            input = UnsafeRawBufferPointer(rebasing: staging[0..<(try file.read(into: staging))])
        }
        return inputEnd > 0
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if let error = deferredError {
            deferredError = nil
            finished = true
            throw error
        }
        guard !finished, buffer.count > 0 else { return 0 }
        var produced = 0
        do {
            return try inflate(into: buffer, produced: &produced)
        } catch {
            guard produced > 0 else { throw error }
            deferredError = error
            return produced
        }
    }

    /// Fills `buffer` from the start, counting the bytes decoded in `produced` as it goes.
    private func inflate(into buffer: UnsafeMutableRawBufferPointer, produced: inout Int) throws(InputError) -> Int {
        while produced < buffer.count {
            if !(try refillIfEmpty()) {
                if inMember {
                    throw InputError(path: path, kind: .gzipTruncated, byteOffset: compressedBytesConsumed)
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
                inMember = true
            }
            let step = engine.inflate(
                UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd]),
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[produced...]))
            inputStart += step.consumed
            produced += step.produced
            switch step.status {
            case .progress:
                if step.consumed == 0 && step.produced == 0 && inputStart < inputEnd {
                    throw InputError(path: path, kind: .gzipCorrupt(message: "no progress"), byteOffset: compressedBytesConsumed)
                }
            case .memberEnd:
                inMember = false
                engine.reset()
            case .failed(let message):
                throw InputError(path: path, kind: .gzipCorrupt(message: message), byteOffset: compressedBytesConsumed)
            }
        }
        return produced
    }

    /// Looks at the bytes after a finished member: true when another member starts there,
    /// false when only zero bytes remain up to the end of the file.
    private func startOfNextMember() throws(InputError) -> Bool {
        let first = input[inputStart]
        if first == 0x1f { return true }  // the rest of the header is checked by the inflater
        if first != 0 {
            throw InputError(path: path, kind: .gzipTrailingGarbage, byteOffset: compressedBytesConsumed)
        }
        // Zero padding (tape and block devices add it): accept it only if it runs to the end.
        while true {
            while inputStart < inputEnd {
                if input[inputStart] != 0 {
                    throw InputError(path: path, kind: .gzipTrailingGarbage, byteOffset: compressedBytesConsumed)
                }
                inputStart += 1
            }
            if !(try refillIfEmpty()) { return false }
        }
    }
}
