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
enum CounterMemory {
    static let hugePage = 2 << 20

    /// Allocates `count` zeroed cells (all-zero bits are `.zero` for both cell types). Free
    /// with `free(_:)`.
    static func allocate<Cell: SketchCell>(count: Int) -> UnsafeMutablePointer<Cell> {
        let bytes = count * MemoryLayout<Cell>.stride
        if bytes >= hugePage {
            var raw: UnsafeMutableRawPointer?
            let rounded = (bytes + hugePage - 1) / hugePage * hugePage
            if posix_memalign(&raw, hugePage, rounded) == 0, let raw {
                #if os(Linux)
                    _ = madvise(raw, rounded, MADV_HUGEPAGE)  // advice only: ignored where unsupported
                #endif
                memset(raw, 0, rounded)
                return raw.bindMemory(to: Cell.self, capacity: count)
            }
        }
        let pointer = UnsafeMutablePointer<Cell>.allocate(capacity: count)
        pointer.initialize(repeating: .zero, count: count)
        return pointer
    }

    /// Frees memory from `allocate(count:)`.
    static func free<Cell: SketchCell>(_ pointer: UnsafeMutablePointer<Cell>) {
        Glibc.free(pointer)
    }
}
