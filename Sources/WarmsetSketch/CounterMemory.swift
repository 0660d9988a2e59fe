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

    /// Allocates `count` zeroed `UInt32`s. Free with `free(_:)`.
    static func allocate(count: Int) -> UnsafeMutablePointer<UInt32> {
        let bytes = count * MemoryLayout<UInt32>.stride
        if bytes >= hugePage {
            var raw: UnsafeMutableRawPointer?
            let rounded = (bytes + hugePage - 1) / hugePage * hugePage
            if posix_memalign(&raw, hugePage, rounded) == 0, let raw {
                #if os(Linux)
                    _ = madvise(raw, rounded, MADV_HUGEPAGE)  // advice only: ignored where unsupported
                #endif
                memset(raw, 0, rounded)
                return raw.bindMemory(to: UInt32.self, capacity: count)
            }
        }
        let pointer = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
        return pointer
    }

    /// Frees memory from `allocate(count:)`.
    static func free(_ pointer: UnsafeMutablePointer<UInt32>) {
        Glibc.free(pointer)
    }
}
