import Testing
@testable import WarmsetKeys

/// `buildMemoized` (the per-line path, answered from `KeyMemo` when it can) must give exactly
/// what `build` gives, for every target, however often it repeats and whatever collides in the
/// memo: the outcome, the path and the key.
@Suite("Keys: the memo of recent targets")
struct KeyMemoTests {
    /// Builders of every kind: no rule, rules (with a capture that can hold a forbidden byte),
    /// excludes, kept query parameters, and a key limit small enough to skip some keys.
    static func builders() throws -> [(String, KeyBuilder, KeyBuilder)] {
        func pair(_ make: () throws -> KeyBuilder) rethrows -> (KeyBuilder, KeyBuilder) { (try make(), try make()) }
        let plain = pair { KeyBuilder() }
        let rules = try pair {
            KeyBuilder(rules: [
                try KeyRule(#"^/products/(\d+)$ => product:$1"#),
                try KeyRule(#"^/users/(?<id>\d+)/(?<tab>[a-z]+)$ => user:${id}:${tab}"#),
                try KeyRule(#"^/raw/(.*)$ => raw:$1"#),
            ])
        }
        let excludes = try pair {
            KeyBuilder(excludes: [try Pattern(#"^/static/"#, wholeSubject: false, what: "--exclude")], queryPolicy: .all)
        }
        let short = try pair { KeyBuilder(rules: [try KeyRule(#"^/(.*)$ => k:$1"#)], queryPolicy: try QueryPolicy(parsing: "page"), maxKeyBytes: 12) }
        return [("plain", plain.0, plain.1), ("rules", rules.0, rules.1), ("excludes+query", excludes.0, excludes.1), ("short keys", short.0, short.1)]
    }

    /// Targets with heavy repetition (so the memo fills and hits) and a long tail (so slots
    /// collide and are taken over), including escapes, bad and absolute-form targets, and
    /// targets longer than a memo slot.
    static func targets(seed: UInt64, count: Int) -> [(String, Bool)] {
        var rng = SplitMix(seed: seed)
        let pieces = ["/products/", "/users/", "/raw/", "/static/", "/a/./b/../", "/caf\\xC3\\xA9/", "/%7euser/", "//x///", "/say\\\"hi\\\"/"]
        var out: [(String, Bool)] = []
        for _ in 0..<count {
            let popular = rng.next() % 4 != 0
            let n = popular ? rng.next() % 40 : rng.next() % 100_000
            var target = pieces[Int(rng.next() % UInt64(pieces.count))] + String(n)
            switch rng.next() % 14 {
            case 0: target += "/profile"
            case 1: target += "?page=\(n % 3)&sort=x"
            case 2: target = "http://other.example" + target
            case 3: target = "nopath" + target
            case 4: target += String(repeating: "x", count: 300)  // longer than a memo slot
            case 5: target += "/\u{01}"
            // A fragment, a decoded `?` or `#` before the real one, a query holding a forbidden byte.
            case 6: target += "#frag?x=\(n % 3)"
            case 7: target += (n % 2 == 0 ? "\\x3F" : "\\x23") + "a?b=\(n % 3)"
            case 8: target += "?q=\u{01}\(n % 3)"
            default: break
            }
            out.append((target, rng.next() % 5 != 0))
        }
        return out
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func memoizedEqualsBuilt(seed: UInt64) throws {
        for (name, memoized, reference) in try Self.builders() {
            for (i, (target, escapes)) in Self.targets(seed: seed, count: 40_000).enumerated() {
                var bytes = Array(target.utf8)
                let (got, gotKey, gotPath) = bytes.withUnsafeMutableBytes { raw in
                    memoized.buildMemoized(target: UnsafeRawBufferPointer(raw), hasLogEscapes: escapes).copied
                }
                let (want, wantKey, wantPath) = bytes.withUnsafeMutableBytes { raw in
                    reference.build(target: UnsafeRawBufferPointer(raw), hasLogEscapes: escapes).copied
                }
                #expect(got == want, "seed \(seed), \(name), target \(i) '\(target)'")
                if want == .key {
                    #expect(gotKey == wantKey && gotPath == wantPath, "seed \(seed), \(name), target \(i) '\(target)'")
                }
                if got != want || (want == .key && (gotKey != wantKey || gotPath != wantPath)) { return }
            }
        }
    }

    /// The memo does hit: a repeated target is answered without building, from its slot.
    /// A new memo is zeroed memory, and zero bits are an empty slot: no slot holds any target,
    /// not even the empty one under a hash of 0 (the zero bits' own tag and length fields).
    @Test func aNewMemoHoldsNothing() {
        let memo = KeyMemo()
        defer { memo.free() }
        let one: [UInt8] = [0x2F]
        one.withUnsafeBytes { slash in
            let empty = UnsafeRawBufferPointer(rebasing: slash[0..<0])
            for slot in 0..<KeyMemo.slotCount {
                #expect(!memo.holds(slot, empty, hash: 0, escapes: false))
                #expect(!memo.holds(slot, slash, hash: 0, escapes: false))
                #expect(!memo.holds(slot, slash, hash: KeyMemo.hash(of: slash, escapes: false)!, escapes: false))
            }
        }
    }

    @Test func aRepeatedTargetIsAnsweredFromTheMemo() throws {
        let builder = KeyBuilder(rules: [try KeyRule(#"^/products/(\d+)$ => product:$1"#)])
        var bytes = Array("/products/42".utf8)
        var slots: [Int] = []
        for _ in 0..<3 {
            let result = bytes.withUnsafeMutableBytes { builder.buildMemoized(target: UnsafeRawBufferPointer($0), hasLogEscapes: true) }
            guard case .keyed(let built) = result else {
                Issue.record("no key: \(Verdict(result))")
                return
            }
            #expect(String(decoding: built.key, as: UTF8.self) == "product:42" && String(decoding: built.path, as: UTF8.self) == "/products/42")
            slots.append(built.memoSlot)
        }
        // The first two calls built the key (the second took the slot); the third was a hit.
        #expect(slots[0] == -1 && slots[1] == -1 && slots[2] >= 0)
        #expect(String(decoding: builder.memoEntry(slots[2]).key, as: UTF8.self) == "product:42")
    }

    /// Records what a slot held when the memo says it is about to hand it over.
    final class EvictionLog: MemoEvictionObserver {
        let builder: KeyBuilder
        var held: [Int: ([UInt8], [UInt8])] = [:]
        var evictions = 0
        var wrong: [String] = []
        init(_ builder: KeyBuilder) { self.builder = builder }
        func willEvict(memoSlot: Int) {
            evictions += 1
            let entry = builder.memoEntry(memoSlot)
            if let known = held.removeValue(forKey: memoSlot), known != (Array(entry.key), Array(entry.path)) {
                wrong.append("slot \(memoSlot): \(String(decoding: entry.key, as: UTF8.self))")
            }
        }
    }

    /// A hit names its slot and `memoEntry` reads the key `build` gives;
    /// the observer is told before a slot changes hands, while the slot still reads the old key.
    @Test(arguments: [UInt64(4), 5])
    func hitsInPlaceNameTheirSlot(seed: UInt64) throws {
        for (name, memoized, reference) in try Self.builders() {
            let log = EvictionLog(memoized)
            memoized.memoObserver = log
            var hits = 0
            for (i, (target, escapes)) in Self.targets(seed: seed, count: 40_000).enumerated() {
                var bytes = Array(target.utf8)
                let (got, slot, gotKey, gotPath) = bytes.withUnsafeMutableBytes { raw in
                    let result = memoized.buildMemoized(target: UnsafeRawBufferPointer(raw), hasLogEscapes: escapes)
                    guard case .keyed(let built) = result else { return (Verdict(result), -1, [UInt8](), [UInt8]()) }
                    let slot = built.memoSlot
                    let entry = slot >= 0 ? memoized.memoEntry(slot) : (key: built.key, path: built.path)
                    return (Verdict.key, slot, Array(entry.key), Array(entry.path))
                }
                let (want, wantKey, wantPath) = bytes.withUnsafeMutableBytes { raw in
                    reference.build(target: UnsafeRawBufferPointer(raw), hasLogEscapes: escapes).copied
                }
                let context = "seed \(seed), \(name), target \(i) '\(target)'"
                #expect(got == want, "\(context)")
                if slot >= 0 {
                    hits += 1
                    #expect(want == .key, "\(context)")
                    log.held[slot] = (gotKey, gotPath)
                }
                if want == .key {
                    #expect(gotKey == wantKey && gotPath == wantPath, "\(context)")
                }
                if got != want || (want == .key && (gotKey != wantKey || gotPath != wantPath)) { return }
            }
            #expect(hits > 1_000 && log.evictions > 50, "\(name): \(hits) hits, \(log.evictions) evictions")
            #expect(log.wrong.isEmpty, "\(name): \(log.wrong.prefix(3))")
        }
    }

    /// On targets that rarely repeat the memo stands aside (`MemoDuty`): after a window of
    /// lookups with fewer than a quarter answered it is not asked for `restWindows` windows'
    /// worth of targets, then asked again; the keys are `build`'s throughout. On targets that
    /// repeat it stays. Window by window, as a run of a million distinct keys then a popular
    /// page would go.
    @Test func theMemoStandsAsideWhereItRarelyAnswersAndIsAskedAgain() throws {
        let memoized = KeyBuilder(rules: [try KeyRule(#"^/products/(\d+)$ => product:$1"#)])
        let reference = KeyBuilder(rules: [try KeyRule(#"^/products/(\d+)$ => product:$1"#)])
        let window = MemoDuty.window
        var mismatches = 0
        var hits = 0
        func feed(_ target: String) {
            var bytes = Array(target.utf8)
            let (got, slot, key) = bytes.withUnsafeMutableBytes { raw -> (Verdict, Int, [UInt8]) in
                let result = memoized.buildMemoized(target: UnsafeRawBufferPointer(raw), hasLogEscapes: true)
                guard case .keyed(let built) = result else { return (Verdict(result), -1, []) }
                return (.key, built.memoSlot, Array(built.key))
            }
            let (want, wantKey, _) = bytes.withUnsafeMutableBytes { reference.build(target: UnsafeRawBufferPointer($0), hasLogEscapes: true).copied }
            if got != want || key != wantKey { mismatches += 1 }
            if slot >= 0 { hits += 1 }
        }
        // A window of distinct targets: no hit, so the memo rests.
        for i in 0..<window { feed("/products/\(i)") }
        #expect(memoized.memoDuty.resting == window * MemoDuty.restWindows)
        // While it rests, a target repeated over and over is built every time, never a hit.
        for _ in 0..<(window * MemoDuty.restWindows) { feed("/products/7") }
        #expect(hits == 0 && memoized.memoDuty.resting == 0)
        // Asked again: the repeated target is answered from the memo (after the doorkeeper's two
        // misses), a whole window of it keeps the memo asked.
        for _ in 0..<window { feed("/products/7") }
        #expect(hits >= window - 2)
        #expect(memoized.memoDuty.resting == 0 && memoized.memoDuty.lookups == 0)
        #expect(mismatches == 0)
    }

    /// The judgement at the edge: a window with exactly a quarter of its lookups answered keeps
    /// the memo asked, one hit fewer sends it to rest.
    @Test func aQuarterOfAWindowAnsweredKeepsTheMemoAsked() {
        for (hits, rests) in [(MemoDuty.window / 4, false), (MemoDuty.window / 4 - 1, true)] {
            var duty = MemoDuty()
            var asked = 0
            for i in 0..<MemoDuty.window where duty.asks() {
                asked += 1
                duty.record(hit: i < hits)
            }
            #expect(asked == MemoDuty.window, "\(hits) hits")
            #expect((duty.resting > 0) == rests, "\(hits) hits")
            let asksNext = duty.asks()
            #expect(asksNext == !rests, "\(hits) hits")
        }
    }

    /// The memo's word-at-a-time compare (the last word overlapping) agrees with `==` for every
    /// length up to 40 and a difference at every position, and the hash reads no byte outside
    /// the target (the same target between different neighbours hashes the same).
    @Test func wordCompareAndHashStayInTheTarget() {
        for length in 0...40 {
            let a = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            for position in -1..<length {
                var b = a
                if position >= 0 { b[position] ^= 0x20 }
                let got = a.withUnsafeBytes { x in b.withUnsafeBytes { y in ShortBytes.equal(x.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, y.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, length) } }
                #expect(got == (a == b), "length \(length), difference at \(position)")
            }
            guard length > 0 else { continue }
            let hashes = [UInt8(0x00), 0xFF].map { pad -> UInt64 in
                let padded = [UInt8](repeating: pad, count: 8) + a + [UInt8](repeating: pad, count: 8)
                return padded.withUnsafeBytes { KeyMemo.hash($0.baseAddress! + 8, length, escapes: false) }
            }
            #expect(hashes[0] == hashes[1], "length \(length)")
        }
    }
}
