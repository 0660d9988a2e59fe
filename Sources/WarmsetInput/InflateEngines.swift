import CISAL
import CZlib

/// zlib's inflate with gzip framing.
final class ZlibEngine: InflateEngine {
    // The z_stream must not move while zlib holds pointers into it, so it lives on the heap.
    private let stream: UnsafeMutablePointer<z_stream>
    private let initialized: Bool

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + 15: gzip framing only, with the largest window.
        initialized = warmset_inflateInit2(stream, 16 + 15) == Z_OK
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> InflateStep {
        guard initialized else { return InflateStep(consumed: 0, produced: 0, status: .failed("inflateInit2 failed")) }
        // Safe: buffers here are far below 4 GiB, so the counts fit zlib's 32-bit uInt.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = CZlib.inflate(stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.pointee.avail_in)
        let produced = output.count - Int(stream.pointee.avail_out)
        switch status {
        case Z_OK, Z_BUF_ERROR:
            return InflateStep(consumed: consumed, produced: produced, status: .progress)
        case Z_STREAM_END:
            return InflateStep(consumed: consumed, produced: produced, status: .memberEnd)
        default:
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            return InflateStep(consumed: consumed, produced: produced, status: .failed(message))
        }
    }

    func reset() { inflateReset(stream) }
}

/// Intel ISA-L's streaming inflate with gzip framing (header parsed, CRC checked).
final class IsalEngine: InflateEngine {
    // inflate_state is large (tens of KiB) and must not move: it lives on the heap.
    private let state: UnsafeMutablePointer<inflate_state>

    init() {
        state = .allocate(capacity: 1)
        state.initialize(to: inflate_state())
        reset()
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    func reset() {
        isal_inflate_init(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
    }

    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> InflateStep {
        // Safe: buffers here are far below 4 GiB, so the counts fit ISA-L's 32-bit fields.
        state.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        state.pointee.avail_in = UInt32(input.count)
        state.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_out = UInt32(output.count)
        let status = isal_inflate(state)
        let consumed = input.count - Int(state.pointee.avail_in)
        let produced = output.count - Int(state.pointee.avail_out)
        if status < 0 {
            return InflateStep(consumed: consumed, produced: produced, status: .failed(Self.message(status)))
        }
        if state.pointee.block_state == ISAL_BLOCK_FINISH {
            return InflateStep(consumed: consumed, produced: produced, status: .memberEnd)
        }
        return InflateStep(consumed: consumed, produced: produced, status: .progress)
    }

    static func message(_ status: Int32) -> String {
        switch status {
        case ISAL_INVALID_BLOCK: return "invalid deflate block"
        case ISAL_INVALID_SYMBOL: return "invalid deflate symbol"
        case ISAL_INVALID_LOOKBACK: return "invalid lookback distance"
        case ISAL_INVALID_WRAPPER: return "invalid gzip header"
        case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method"
        case ISAL_INCORRECT_CHECKSUM: return "incorrect checksum"
        case ISAL_NEED_DICT: return "needs a dictionary"
        default: return "ISA-L error \(status)"
        }
    }
}
