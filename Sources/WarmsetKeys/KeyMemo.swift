import CPrefetch
import WarmsetSystem

/// What `KeyBuilder` made of recent request targets: a fixed table of `slotCount` slots, each
/// holding one target's bytes, its outcome, and its normalized path and key.
///
/// Web traffic repeats itself (a few thousand URLs carry most requests), and the same target
/// always gives the same path and key: the builder's work (log unescaping, percent-encoding,
/// dot segments, the rules' regexes) is a pure function of the target bytes and the escapes
/// flag. A hit costs a hash of the target, a compare and two short copies instead.
///
/// Direct-mapped, with a doorkeeper so that the long tail of one-off URLs does not evict the
/// popular ones: a miss only records its hash in the slot (`pending`); a second miss of the
/// same target while it is still recorded there takes the slot.
///
/// Memory: `slotCount` × `slotStride` bytes, allocated once (1 MiB), zero bits an empty slot:
/// mapped untouched (`ZeroedMemory`), its pages zeroed by the lane's own thread before its first
/// line (`populate`), so a memo built only to check a configuration costs none.
///
/// Owned by one `KeyBuilder`, which frees it.
struct KeyMemo {
    struct Header {
        /// The hash of the target held, and of the target that missed last (the doorkeeper).
        var tag: UInt64 = 0
        var pending: UInt64 = 0
        /// The held target's length plus one (0: an empty slot, as zeroed memory reads).
        var storedTargetCount: UInt16 = 0
        /// Lengths of the held path and key.
        var pathCount: UInt16 = 0
        var keyCount: UInt16 = 0
        var escapes = false
        /// Why the held target has no key, or nil: it has one. Read only in a slot that holds
        /// a target (zero bits need not be nil).
        var skipped: RequestFilter.Reason? = nil

        /// The held target's length (a slot that holds one).
        var targetCount: Int { Int(storedTargetCount) &- 1 }
    }

    static let slotCount = 8192
    /// Bytes per slot: its header, then the target, the path and the key together. The header
    /// sits at the start of the slot's own bytes, so a lookup touches one place in memory: two
    /// cache lines, both prefetched. 128 bytes hold nearly every target with its path and key
    /// (94% of the benchmark log's targets are 50 bytes or fewer), and twice the slots of
    /// 256-byte ones in the same 1 MiB answer more targets (57.5% → 60.4% of its requests).
    static let slotStride = 128
    /// Room for the target, the path and the key together; larger results are not held.
    static let slotBytes = slotStride - MemoryLayout<Header>.stride

    let storage: UnsafeMutableRawPointer

    init() {
        precondition(MemoryLayout<Header>.stride <= 64 && MemoryLayout<Header>.alignment <= 64)
        storage = UnsafeMutableRawPointer(ZeroedMemory.allocate(count: Self.slotCount * Self.slotStride) as UnsafeMutablePointer<UInt8>)
        // Zero bits are a valid `Header` (an empty slot); binding writes nothing.
        for slot in 0..<Self.slotCount { (storage + slot &* Self.slotStride).bindMemory(to: Header.self, capacity: 1) }
    }

    /// Maps every page of the table for writing now, from the thread that will use it
    /// (`ZeroedMemory.populate`): its lookups read a page before they write it.
    func populate() {
        ZeroedMemory.populate(storage.assumingMemoryBound(to: UInt8.self), count: Self.slotCount * Self.slotStride)
    }

    func free() {
        ZeroedMemory.free(storage.assumingMemoryBound(to: UInt8.self), count: Self.slotCount * Self.slotStride)
    }

    /// The header of slot `slot`.
    @inline(__always)
    func header(_ slot: Int) -> UnsafeMutablePointer<Header> {
        (storage + slot &* Self.slotStride).assumingMemoryBound(to: Header.self)
    }

    /// A 64-bit hash of `count` bytes at `base` and the escapes flag: a slot index and a tag,
    /// not a sketch hash (a hit is confirmed by comparing the bytes). Each 16 bytes are mixed
    /// by one 64×64→128-bit multiply of the two words (xored with constants and the offset),
    /// folded; the blocks' results are combined by xor, so they do not wait for each other (a
    /// chain of one multiply per 8 bytes cost a target of 60 bytes about 50 cycles of latency
    /// before its slot could be fetched). The last 1…15 bytes are read without a byte loop.
    @inline(__always)
    static func hash(_ base: UnsafeRawPointer, _ count: Int, escapes: Bool) -> UInt64 {
        @inline(__always) func word(_ offset: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        @inline(__always) func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let product = a.multipliedFullWidth(by: b)
            return product.high ^ product.low
        }
        let k0: UInt64 = 0xA076_1D64_78BD_642F, k1: UInt64 = 0xE703_7ED1_A0B4_28DB
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: count) &* k1 ^ (escapes ? 0x5BD1_E995 : 0)
        if count >= 16 {
            var i = 0
            // Safe: i + 16 <= count, so both loads stay within the bytes.
            while i &+ 16 <= count {
                h ^= mix(word(i) ^ (k0 &+ UInt64(truncatingIfNeeded: i)), word(i &+ 8) ^ k1)
                i &+= 16
            }
            if i < count {
                // The 16 bytes that end the target (overlapping bytes already mixed).
                h ^= mix(word(count &- 16) ^ (k1 &+ 1), word(count &- 8) ^ k0)
            }
        } else {
            // 1…15 bytes as two words: overlapping 8-byte, 4-byte or single-byte loads (as
            // `RequestFilter.pack` does), every byte inside the target.
            let a: UInt64, b: UInt64
            if count >= 8 {
                a = word(0)
                b = word(count &- 8)
            } else if count >= 4 {
                a = UInt64(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)))
                b = UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)))
            } else if count > 0 {
                a = UInt64(base.load(as: UInt8.self)) | UInt64(base.load(fromByteOffset: count >> 1, as: UInt8.self)) << 8
                b = UInt64(base.load(fromByteOffset: count &- 1, as: UInt8.self))
            } else {
                a = 0
                b = 0
            }
            h ^= mix(a ^ k0, b ^ k1)
        }
        h ^= h >> 29
        h = h &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 32)
    }

    /// The slot for `hash`.
    @inline(__always)
    static func slot(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & (slotCount - 1) }

    /// The bytes of slot `slot` (after its header).
    @inline(__always)
    func slotBase(_ slot: Int) -> UnsafeMutableRawPointer { storage + (slot &* Self.slotStride &+ MemoryLayout<Header>.stride) }

    /// The memo's hash of `target`, or nil for a target the memo does not hold (too long for a slot).
    @inline(__always)
    static func hash(of target: UnsafeRawBufferPointer, escapes: Bool) -> UInt64? {
        guard let base = target.baseAddress, target.count <= slotBytes else { return nil }
        return hash(base, target.count, escapes: escapes)
    }

    /// Starts loading the slot that `hash` names: both of its cache lines.
    @inline(__always)
    func prefetch(_ hash: UInt64) {
        let header = UnsafeRawPointer(header(Self.slot(hash)))
        warmset_prefetch(header)
        warmset_prefetch(header + 64)  // the target's bytes go on past the header's line
    }

    /// True when slot `slot` holds `target` (of hash `hash`, at most `slotBytes` long).
    /// - Complexity: O(target length); no allocation.
    @inline(__always)
    func holds(_ slot: Int, _ target: UnsafeRawBufferPointer, hash: UInt64, escapes: Bool) -> Bool {
        let header = header(slot)
        let n = target.count
        guard let base = target.baseAddress else { return false }
        return header.pointee.tag == hash && Int(header.pointee.storedTargetCount) == n &+ 1 && header.pointee.escapes == escapes
            && ShortBytes.equal(slotBase(slot), base, n)
    }

    /// The key and path held by slot `slot` (one holding a key); the key is the path when
    /// `keysArePaths` (no rules). Valid until the slot is given to another target.
    @inline(__always)
    func entry(_ slot: Int, keysArePaths: Bool) -> (key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        let header = header(slot).pointee
        let held = slotBase(slot)
        let n = header.targetCount, pathCount = Int(header.pathCount)
        let path = UnsafeRawBufferPointer(start: held + n, count: pathCount)
        let key = keysArePaths ? path : UnsafeRawBufferPointer(start: held + n + pathCount, count: Int(header.keyCount))
        return (key, path)
    }

    /// Offers slot `slot` what `target` (of hash `hash`) gave after a miss: its key and path, or
    /// why it has none. The doorkeeper: a first miss only records the hash; a second one, while
    /// it is still recorded, takes the slot when target, path and key fit. `willEvict` is called
    /// first when the slot held a key (a closure, so that the builder's weak observer is loaded
    /// only then, not on every miss).
    /// - Parameter key: empty when `keysArePaths` (the key is the path).
    /// - Complexity: O(target + path + key length); no allocation.
    @inline(__always)
    func offer(
        _ slot: Int, _ target: UnsafeRawBufferPointer, hash: UInt64, escapes: Bool, skipped: RequestFilter.Reason?,
        path: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, willEvict: (Int) -> Void
    ) {
        let header = header(slot)
        guard header.pointee.pending == hash else {
            header.pointee.pending = hash  // first miss: remember it; a second one takes the slot
            return
        }
        let n = target.count
        let pathCount = skipped == nil ? path.count : 0
        let keyCount = skipped == nil ? key.count : 0
        guard n + pathCount + keyCount <= Self.slotBytes, let base = target.baseAddress else { return }
        if header.pointee.storedTargetCount != 0 && header.pointee.skipped == nil {
            willEvict(slot)  // the old entry is still readable there
        }
        let held = slotBase(slot)
        held.copyMemory(from: base, byteCount: n)
        if pathCount > 0 { (held + n).copyMemory(from: path.baseAddress!, byteCount: pathCount) }
        if keyCount > 0 { (held + n + pathCount).copyMemory(from: key.baseAddress!, byteCount: keyCount) }
        header.pointee = Header(
            tag: hash, pending: 0, storedTargetCount: UInt16(n &+ 1), pathCount: UInt16(pathCount), keyCount: UInt16(keyCount),
            escapes: escapes, skipped: skipped)
    }
}

/// Whether a `KeyMemo` is worth asking, judged from its answers: on traffic where few targets
/// repeat within the memo's reach (a log of over a million distinct keys, each requested a few
/// times) it answers so rarely that hashing, probing and offering every target costs more than
/// its hits save, so it stands aside for a while and is then tried again.
///
/// Judged per `window` lookups: fewer than `window / 4` hits (where the memo saves about what it
/// costs: a hit saves unescaping, normalizing and the rules, about 200 instructions, and the
/// sketch's update; a lookup costs a hash, a probe and on a miss an offer, about 80) sends it to
/// rest for `restWindows` windows' worth of targets. A pure cache: whether it is asked changes no
/// key, count or result, only the work.
struct MemoDuty {
    /// Lookups judged at a time.
    static let window = 1 << 16
    /// Windows' worth of targets the memo stands aside for after a poor window.
    static let restWindows = 15
    /// Lookups and hits in the current window.
    private(set) var lookups = 0
    private(set) var hits = 0
    /// Targets still to be built without the memo; 0: it is asked.
    private(set) var resting = 0

    /// True when the memo is asked for the next target; while resting, counts that target.
    @inline(__always)
    mutating func asks() -> Bool {
        if resting == 0 { return true }
        resting &-= 1
        return false
    }

    /// The memo was asked, and answered (`hit`) or not.
    @inline(__always)
    mutating func record(hit: Bool) {
        lookups &+= 1
        if hit { hits &+= 1 }
        if lookups == Self.window { judge() }
    }

    private mutating func judge() {
        if hits < Self.window / 4 { resting = Self.window * Self.restWindows }
        lookups = 0
        hits = 0
    }
}

/// Told by a `KeyBuilder` before its memo gives a slot that holds a key to another target.
public protocol MemoEvictionObserver: AnyObject {
    /// Slot `memoSlot` is about to hold another target; `memoEntry(memoSlot)` still reads the
    /// old key and path. Must not call the builder's `build` or `buildMemoized`.
    func willEvict(memoSlot: Int)
}
