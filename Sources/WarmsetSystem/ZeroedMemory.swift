#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zeroed memory for large tables that are read at random (the sketch's counters, the key
/// memo), on huge pages where the kernel offers them.
///
/// Every update of such a table touches a random place in it; with 4 KiB pages each of those
/// is also a TLB miss. 2 MiB pages (Linux transparent huge pages, asked for with `madvise`)
/// make the table a handful of TLB entries.
///
/// A table of `mappedFrom` bytes or more is an anonymous mapping, which the kernel hands out
/// zeroed page by page at first touch: nothing is written here, so the zeroing happens in the
/// thread that first uses the table (a parse lane), not serially at start-up, and a table
/// built only to check a configuration costs no page at all.
public enum ZeroedMemory {
    static let hugePage = 2 << 20
    /// Smaller tables come from the allocator, zeroed here.
    static let mappedFrom = 64 << 10

    /// Allocates `count` zeroed cells (all-zero bits must be a valid value of `Cell`). Free
    /// with `free(_:count:)`, passing the same count.
    public static func allocate<Cell: BitwiseCopyable>(count: Int) -> UnsafeMutablePointer<Cell> {
        let bytes = count * MemoryLayout<Cell>.stride
        if bytes >= mappedFrom {
            return mapZeroed(bytes).bindMemory(to: Cell.self, capacity: count)
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: max(MemoryLayout<Cell>.alignment, 64))
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return raw.bindMemory(to: Cell.self, capacity: count)
    }

    /// Frees memory from `allocate(count:)`.
    public static func free<Cell: BitwiseCopyable>(_ pointer: UnsafeMutablePointer<Cell>, count: Int) {
        let bytes = count * MemoryLayout<Cell>.stride
        if bytes >= mappedFrom {
            munmap(UnsafeMutableRawPointer(pointer), mappedSize(bytes))
        } else {
            pointer.deallocate()
        }
    }

    /// Gives every page of memory from `allocate(count:)` its own zeroed page now, from the thread
    /// that is about to use it: for a table whose first touch of a page is a read, then a write
    /// (the key memo's lookup, then its record). The read maps the shared zero page and the write
    /// then replaces it, which, while another thread of the process runs on another core, waits
    /// for that core to drop the old mapping (an interrupt per page). Populated for writing, each
    /// page is mapped once. Memory from the allocator is already written: nothing to do.
    /// - Precondition: nothing has been written to the memory yet: where the kernel refuses to
    ///   populate it (before Linux 5.14), a zero is written to each page.
    public static func populate<Cell: BitwiseCopyable>(_ pointer: UnsafeMutablePointer<Cell>, count: Int) {
        let bytes = count * MemoryLayout<Cell>.stride
        guard bytes >= mappedFrom else { return }
        let start = UnsafeMutableRawPointer(pointer)
        #if os(Linux)
            // Linux 5.14 and later; older kernels refuse it, and each page is written instead.
            if madvise(start, mappedSize(bytes), MADV_POPULATE_WRITE) == 0 { return }
        #endif
        let page = Int(getpagesize())
        var offset = 0
        while offset < bytes {
            // A zero over a zero: the value is unchanged, the page mapped for writing.
            start.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
            offset += page
        }
    }

    /// `bytes` rounded up to whole huge pages (2 MiB and more) or whole pages.
    private static func mappedSize(_ bytes: Int) -> Int {
        let unit = bytes >= hugePage ? hugePage : Int(getpagesize())
        return (bytes + unit - 1) / unit * unit
    }

    /// An anonymous private mapping of `bytes` (rounded up, `mappedSize`); from 2 MiB on it
    /// starts on a huge-page boundary, so every 2 MiB of it can be one huge page. Out of
    /// address space or memory it stops the program, as `allocate(capacity:)` does.
    private static func mapZeroed(_ bytes: Int) -> UnsafeMutableRawPointer {
        let size = mappedSize(bytes)
        // From 2 MiB: a huge page more than needed, then the unaligned head and the tail unmapped.
        let huge = bytes >= hugePage
        let span = huge ? size + hugePage : size
        guard let mapped = mmap(nil, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != MAP_FAILED
        else { fatalError("cannot map \(span) bytes for a table: out of memory") }
        guard huge else { return mapped }
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
