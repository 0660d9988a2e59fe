#if canImport(Glibc)
import Glibc
#endif
import Testing
import WarmsetSystem

/// `ZeroedMemory` hands out zeroed, writable memory at every size it treats differently: from
/// the allocator (small), a plain mapping (64 KiB up) and a mapping on huge-page boundaries
/// (2 MiB up), and takes it back.
@Suite("System: zeroed memory for large tables")
struct ZeroedMemoryTests {
    @Test(arguments: [1, 1_000, 16_383, 16_384, 300_000, 524_288, 524_289, 2_000_000])
    func zeroedWritableAndFreed(count: Int) {
        let cells: UnsafeMutablePointer<UInt32> = ZeroedMemory.allocate(count: count)
        #expect(Int(bitPattern: cells) % 64 == 0)
        if count * 4 >= 2 << 20 { #expect(Int(bitPattern: cells) % (2 << 20) == 0, "a table of 2 MiB or more starts on a huge page") }
        var nonZero = 0
        for i in 0..<count where cells[i] != 0 { nonZero += 1 }
        #expect(nonZero == 0)
        // Every cell writable, the last included.
        for i in 0..<count { cells[i] = UInt32(truncatingIfNeeded: i) &+ 1 }
        #expect(cells[count - 1] == UInt32(truncatingIfNeeded: count))
        ZeroedMemory.free(cells, count: count)
    }

    /// Memory freed and asked for again is zeroed again (a mapping's pages come back from the kernel).
    @Test func reallocatedIsZeroedAgain() {
        for count in [1_000, 300_000] {
            for _ in 0..<3 {
                let bytes: UnsafeMutablePointer<UInt8> = ZeroedMemory.allocate(count: count)
                #expect((0..<count).allSatisfy { bytes[$0] == 0 })
                bytes.update(repeating: 0xAB, count: count)
                ZeroedMemory.free(bytes, count: count)
            }
        }
    }

    /// `populate` maps every page of a mapped table before it is used (`mincore` reports the
    /// pages resident; none were before), leaves the cells zero and writable, and leaves memory
    /// from the allocator as it is.
    @Test func populateMapsEveryPageBeforeUse() {
        let page = Int(getpagesize())
        for count in [64 << 10, 1 << 20] {
            let bytes: UnsafeMutablePointer<UInt8> = ZeroedMemory.allocate(count: count)
            func resident() -> Int {
                var vector = [UInt8](repeating: 0, count: (count + page - 1) / page)
                #expect(mincore(UnsafeMutableRawPointer(bytes), count, &vector) == 0)
                return vector.filter { $0 & 1 == 1 }.count
            }
            #expect(resident() == 0, "\(count) bytes: no page mapped before first use")
            ZeroedMemory.populate(bytes, count: count)
            #expect(resident() == (count + page - 1) / page, "\(count) bytes: every page mapped")
            #expect((0..<count).allSatisfy { bytes[$0] == 0 })
            bytes[count - 1] = 7
            #expect(bytes[count - 1] == 7)
            ZeroedMemory.free(bytes, count: count)
        }
        let small: UnsafeMutablePointer<UInt8> = ZeroedMemory.allocate(count: 100)
        small[5] = 9
        ZeroedMemory.populate(small, count: 100)
        #expect(small[5] == 9, "memory from the allocator is left as it is")
        ZeroedMemory.free(small, count: 100)
    }
}
