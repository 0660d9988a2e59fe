#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zeroed memory for the sketch's counters, on huge pages where the kernel offers them.
///
/// Every update touches one random counter per row; with 4 KiB pages each of those is also
/// a TLB miss. 2 MiB pages (Linux transparent huge pages, asked for with `madvise`) make
/// the table a handful of TLB entries.
///
/// A table of 2 MiB or more is an anonymous mapping, which the kernel hands out zeroed page by
/// page at first touch: nothing is written here, so the zeroing (8 MiB and more per sketch)
/// happens in the thread that first counts into the table, not serially at start-up.
enum CounterMemory {
    static let hugePage = 2 << 20

    /// Allocates `count` zeroed cells (all-zero bits are zero for every cell type: `UInt16`,
    /// `UInt32`, `Double`). Free with `free(_:count:)`, passing the same count.
    static func allocate<Cell: BitwiseCopyable>(count: Int) -> UnsafeMutablePointer<Cell> {
        let bytes = count * MemoryLayout<Cell>.stride
        if bytes >= hugePage {
            return mapZeroed(bytes).bindMemory(to: Cell.self, capacity: count)
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: MemoryLayout<Cell>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return raw.bindMemory(to: Cell.self, capacity: count)
    }

    /// Frees memory from `allocate(count:)`.
    static func free<Cell: BitwiseCopyable>(_ pointer: UnsafeMutablePointer<Cell>, count: Int) {
        let bytes = count * MemoryLayout<Cell>.stride
        if bytes >= hugePage {
            munmap(UnsafeMutableRawPointer(pointer), mappedSize(bytes))
        } else {
            pointer.deallocate()
        }
    }

    /// `bytes` rounded up to whole huge pages.
    private static func mappedSize(_ bytes: Int) -> Int { (bytes + hugePage - 1) / hugePage * hugePage }

    /// An anonymous private mapping of `bytes` (rounded up to huge pages) that starts on a
    /// huge-page boundary, so every 2 MiB of it can be one huge page. Out of address space or
    /// memory it stops the program, as `allocate(capacity:)` does.
    private static func mapZeroed(_ bytes: Int) -> UnsafeMutableRawPointer {
        let size = mappedSize(bytes)
        // Map a huge page more than needed, then unmap the unaligned head and the tail.
        let span = size + hugePage
        guard let mapped = mmap(nil, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != MAP_FAILED
        else { fatalError("cannot map \(span) bytes for a sketch's counters: out of memory") }
        let address = Int(bitPattern: mapped)
        let aligned = (address + hugePage - 1) / hugePage * hugePage
        let head = aligned - address
        if head > 0 { munmap(mapped, head) }
        let tail = span - head - size
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + size), tail) }
        let start = UnsafeMutableRawPointer(bitPattern: aligned)!
        #if os(Linux)
            _ = madvise(start, size, MADV_HUGEPAGE)  // advice only: ignored where unsupported
        #endif
        return start
    }
}
