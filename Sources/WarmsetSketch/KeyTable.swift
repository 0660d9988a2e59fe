import WarmsetModel
import CPrefetch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open-addressing table of keys (linear probing, backward-shift deletion) whose key and
/// path bytes live in one arena, so a lookup with bytes from a line allocates nothing.
///
/// Each entry carries its 128-bit hash, an observed count, a byte sum and a weight sum.
final class KeyTable {
    struct Entry {
        var hash: Hash128
        var keyOffset: Int
        var keyLength: Int32
        var pathLength: Int32
        var count: UInt64
        var bytesSum: UInt64
        var weight: Double = 0
    }

    /// The entries, `count` of them in `capacity` (a buffer of its own, not an array: the
    /// per-request lookup and count then pay no uniqueness check, retain or release).
    private var storage: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private(set) var count = 0
    private var slots: UnsafeMutablePointer<Int32>
    private var slotMask: Int
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity: Int
    private var arenaUsed = 0
    private var arenaDead = 0

    init(expectedCount: Int = 1024) {
        var slotCount = 16
        while slotCount < expectedCount * 2 { slotCount <<= 1 }
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: -1, count: slotCount)
        slotMask = slotCount - 1
        arenaCapacity = max(expectedCount * 48, 4096)
        arena = .allocate(capacity: arenaCapacity)
        capacity = max(expectedCount, 16)
        storage = .allocate(capacity: capacity)
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
        storage.deallocate()  // Entry is plain data: nothing to deinitialize
    }

    /// The entries in index order (for ranking, merging, snapshots: not per request). Valid
    /// until the table next changes; no copy is made.
    var entries: UnsafeBufferPointer<Entry> { UnsafeBufferPointer(start: storage, count: count) }

    /// The entry at `index` (below `count`).
    @inline(__always)
    func entry(_ index: Int) -> Entry { storage[index] }

    /// Bytes held: slots, entries and the arena.
    var memoryBytes: Int {
        (slotMask + 1) * 4 + capacity * MemoryLayout<Entry>.stride + arenaCapacity
    }

    func key(of entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena + entry.keyOffset, count: Int(entry.keyLength))
    }

    func path(of entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena + entry.keyOffset + Int(entry.keyLength), count: Int(entry.pathLength))
    }

    /// The entry index of a key, comparing its bytes.
    /// - Complexity: O(1) expected.
    @inline(__always)
    func find(_ hash: Hash128, key: UnsafeRawBufferPointer) -> Int? {
        var slot = Int(truncatingIfNeeded: hash.low) & slotMask
        while true {
            let index = Int(slots[slot])
            if index < 0 { return nil }
            let entry = storage[index]
            if entry.hash == hash && Int(entry.keyLength) == key.count
                && (key.count == 0 || Self.equal(UnsafeRawPointer(arena + entry.keyOffset), key.baseAddress!, key.count))
            {
                return index
            }
            slot = (slot + 1) & slotMask
        }
    }

    /// Byte equality, 8 bytes at a time: keys are short, and a hot key is compared on every
    /// request, where the call into `memcmp` cost more than the comparison.
    @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// How many leading bytes every key in the table shares (0 for an empty table): where keys
    /// cut from one rule (`product:…`) begin to differ.
    /// - Complexity: O(c × that length).
    func sharedKeyPrefix() -> Int {
        let entries = self.entries
        guard let first = entries.first else { return 0 }
        let head = key(of: first)
        var shared = head.count
        for entry in entries.dropFirst() where shared > 0 {
            let other = key(of: entry)
            var i = 0
            let n = Swift.min(shared, other.count)
            while i < n && other[i] == head[i] { i &+= 1 }
            shared = i
        }
        return shared
    }

    /// The 8 bytes of `key` from `offset` (zero past its end) as one big-endian integer: keys that
    /// agree before `offset` and whose words differ are ordered as `precedes` orders them (a key
    /// that ends first has zeros where the other has bytes), so a sort compares the words first
    /// and the bytes only when the words are equal.
    static func orderWord(_ key: UnsafeRawBufferPointer, from offset: Int) -> UInt64 {
        var word: UInt64 = 0
        for i in offset..<(offset &+ 8) {
            word = word << 8 | UInt64(i < key.count ? key[i] : 0)
        }
        return word
    }

    /// Byte-wise lexicographic order, as `String.UTF8View.lexicographicallyPrecedes` orders keys.
    static func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let common = Swift.min(a.count, b.count)
        if common > 0 {
            let order = memcmp(a.baseAddress!, b.baseAddress!, common)
            if order != 0 { return order < 0 }
        }
        return a.count < b.count
    }

    /// Starts loading the slot where `find` starts looking for `hash`, for a lookup a few steps
    /// later: the slots are larger than a core's cache, and the lookup waits for this load.
    @inline(__always)
    func prefetch(_ hash: Hash128) {
        warmset_prefetch(slots + (Int(truncatingIfNeeded: hash.low) & slotMask))
    }

    /// Starts loading the entry that `hash`'s first slot names, once that slot is in cache
    /// (`prefetch` a step earlier). A hint only: the slot may name another key's entry.
    @inline(__always)
    func prefetchEntry(_ hash: Hash128) {
        let index = Int(slots[Int(truncatingIfNeeded: hash.low) & slotMask])
        guard index >= 0 else { return }
        warmset_prefetch(storage + index)
    }

    /// The entry index of a hash (the 128 bits stand for the key).
    @inline(__always)
    func find(_ hash: Hash128) -> Int? {
        var slot = Int(truncatingIfNeeded: hash.low) & slotMask
        while true {
            let index = Int(slots[slot])
            if index < 0 { return nil }
            if storage[index].hash == hash { return index }
            slot = (slot + 1) & slotMask
        }
    }

    /// Adds a key that is not present; returns its entry index.
    /// - Complexity: amortized O(1 + key length).
    @discardableResult
    func insert(_ hash: Hash128, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) -> Int {
        if (count + 1) * 2 > slotMask + 1 { grow() }
        if count == capacity {
            let larger = UnsafeMutablePointer<Entry>.allocate(capacity: 2 * capacity)
            larger.moveInitialize(from: storage, count: count)
            storage.deallocate()
            storage = larger
            capacity *= 2
        }
        let needed = key.count + path.count
        if arenaUsed + needed > arenaCapacity { makeRoom(needed) }
        let offset = arenaUsed
        if let base = key.baseAddress, key.count > 0 { memcpy(arena + offset, base, key.count) }
        if let base = path.baseAddress, path.count > 0 { memcpy(arena + offset + key.count, base, path.count) }
        arenaUsed += needed
        let index = count
        (storage + index).initialize(
            to: Entry(hash: hash, keyOffset: offset, keyLength: Int32(key.count), pathLength: Int32(path.count), count: 0, bytesSum: 0))
        count += 1
        var slot = Int(truncatingIfNeeded: hash.low) & slotMask
        while slots[slot] >= 0 { slot = (slot + 1) & slotMask }
        slots[slot] = Int32(index)
        return index
    }

    @inline(__always)
    func record(_ index: Int, count: UInt64, bytes: UInt64) {
        storage[index].count &+= count
        storage[index].bytesSum &+= bytes
    }

    @inline(__always)
    func record(_ index: Int, count: UInt64, bytes: UInt64, weight: Double) {
        storage[index].count &+= count
        storage[index].bytesSum &+= bytes
        storage[index].weight += weight
    }

    /// Multiplies every entry's weight (forward decay's renormalization).
    /// - Complexity: O(n).
    func scaleWeights(by factor: Double) {
        for i in 0..<count { storage[i].weight *= factor }
    }

    /// Removes the entry at `index`; the last entry takes its index.
    /// - Complexity: O(1) expected.
    func remove(at index: Int) {
        let entry = storage[index]
        arenaDead += Int(entry.keyLength) + Int(entry.pathLength)
        // Backward-shift deletion keeps probe chains intact without tombstones.
        var hole = slotOf(entryIndex: index, hash: entry.hash)
        var probe = (hole + 1) & slotMask
        while slots[probe] >= 0 {
            let home = Int(truncatingIfNeeded: storage[Int(slots[probe])].hash.low) & slotMask
            // Move it back if its home is not cyclically within (hole, probe].
            let distanceToProbe = (probe - home) & slotMask
            let distanceToHole = (hole - home) & slotMask
            if distanceToHole < distanceToProbe {
                slots[hole] = slots[probe]
                hole = probe
            }
            probe = (probe + 1) & slotMask
        }
        slots[hole] = -1
        let last = count - 1
        if index != last {
            let moved = storage[last]
            slots[slotOf(entryIndex: last, hash: moved.hash)] = Int32(index)
            storage[index] = moved
        }
        count -= 1
    }

    private func slotOf(entryIndex: Int, hash: Hash128) -> Int {
        var slot = Int(truncatingIfNeeded: hash.low) & slotMask
        while Int(slots[slot]) != entryIndex { slot = (slot + 1) & slotMask }
        return slot
    }

    private func grow() {
        let newCount = (slotMask + 1) * 2
        slots.deallocate()
        slots = .allocate(capacity: newCount)
        slots.initialize(repeating: -1, count: newCount)
        slotMask = newCount - 1
        for index in 0..<count {
            let entry = storage[index]
            var slot = Int(truncatingIfNeeded: entry.hash.low) & slotMask
            while slots[slot] >= 0 { slot = (slot + 1) & slotMask }
            slots[slot] = Int32(index)
        }
    }

    /// Compacts the arena when most of it is dead, else doubles it.
    private func makeRoom(_ needed: Int) {
        let live = arenaUsed - arenaDead
        var newCapacity = arenaCapacity
        if arenaDead < live || live + needed > arenaCapacity / 2 {
            while live + needed > newCapacity / 2 { newCapacity *= 2 }
        }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        var used = 0
        for i in 0..<count {
            let length = Int(storage[i].keyLength) + Int(storage[i].pathLength)
            memcpy(fresh + used, arena + storage[i].keyOffset, length)
            storage[i].keyOffset = used
            used += length
        }
        arena.deallocate()
        arena = fresh
        arenaCapacity = newCapacity
        arenaUsed = used
        arenaDead = 0
    }
}
