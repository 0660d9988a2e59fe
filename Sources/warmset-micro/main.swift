// `make microbench`: the per-line stages of `warmset analyze` one at a time, on lines held in
// memory (no file, no thread), in a release build. For each stage: nanoseconds per operation
// (the fastest and the median of the repetitions), bytes per second where the stage reads the
// line, and malloc calls (in the repetition that made the most) when run under
// scripts/malloc-count.c (LD_PRELOAD). The argument, if any, is the number of repetitions.
// Prints a Markdown table. Each stage checks its own result (the same counts in every
// repetition, what the stage before it found); a mismatch ends the run with exit status 1.
import WarmsetModel
import Foundation
import WarmsetFormat
import WarmsetGenerator
import WarmsetKeys
import WarmsetSketch

// MARK: - Measuring

/// The malloc counter of scripts/malloc-count.c when it is preloaded, else nil.
let mallocCalls: (@convention(c) () -> Int)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "warmset_malloc_calls") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)
}()

struct Row {
    var stage: String
    var operation: String
    var best: Double
    var median: Double
    var bytesPerSecond: Double?
    /// Malloc calls in the repetition (of `operations` operations) that made the most, when counted.
    var mallocsPerRepetition: Int?
    var operations: Int
}

var rows: [Row] = []
var failures: [String] = []
let repetitions = max(1, Int(CommandLine.arguments.dropFirst().first ?? "") ?? 7)

/// Runs `body` `repetitions` times; each run does `operations` operations over `bytes` bytes
/// and returns a check value, which must be the same every time.
@MainActor
func measure(_ stage: String, _ operation: String, operations: Int, bytes: Int? = nil, _ body: () -> Int) -> Int {
    var times = [Double](repeating: 0, count: repetitions)
    var check: Int?
    var mallocs = 0
    for r in 0..<repetitions {
        let mallocsBefore = mallocCalls?() ?? 0
        var value = 0
        let elapsed = ContinuousClock().measure { value = body() }
        times[r] = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        mallocs = max(mallocs, (mallocCalls?() ?? 0) - mallocsBefore)
        if let check, check != value { failures.append("\(stage): \(value) in one repetition, \(check) in another") }
        check = value
    }
    times.sort()
    let best = times[0] / Double(operations), median = times[times.count / 2] / Double(operations)
    rows.append(Row(
        stage: stage, operation: operation, best: best, median: median,
        bytesPerSecond: bytes.map { Double($0) / (times[times.count / 2] / 1e9) }, mallocsPerRepetition: mallocCalls.map { _ in mallocs }, operations: operations))
    return check ?? 0
}

@MainActor
func expect(_ condition: Bool, _ what: String) {
    if !condition { failures.append(what) }
}

// MARK: - The input: generated lines in one buffer

let lineCount = 1_000_000
// The benchmark log's shape (`make bench`: 5,000,000 lines over 1,100,000 keys), scaled down.
let generator = TrafficGenerator(lines: lineCount, keys: 220_000, zipf: 1.0, seed: 1)
var text: [UInt8] = []
text.reserveCapacity(lineCount * 200)
generator.write { text.append(contentsOf: $0) }
let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count, alignment: 64)
text.withUnsafeBytes { buffer.copyMemory(from: $0) }
let inputBytes = text.count
text = []
let base = UnsafeRawPointer(buffer.baseAddress!)

// Filled by the stages, allocated here so that no stage allocates.
let lineStart = UnsafeMutablePointer<Int>.allocate(capacity: lineCount + 1)
let lineLength = UnsafeMutablePointer<Int>.allocate(capacity: lineCount + 1)
let targetStart = UnsafeMutablePointer<Int>.allocate(capacity: lineCount)
let targetLength = UnsafeMutablePointer<Int>.allocate(capacity: lineCount)
let targetHash = UnsafeMutablePointer<Hash128>.allocate(capacity: lineCount)

// MARK: - Stages

// 1. Lines: `memchr` for each line's end, as the readers do.
let lines = measure("split lines", "line", operations: lineCount, bytes: inputBytes) {
    var at = 0, n = 0
    while at < inputBytes, n <= lineCount {
        guard let hit = memchr(base + at, 0x0A, inputBytes - at) else { break }
        let end = UnsafeRawPointer(hit) - base
        lineStart[n] = at
        lineLength[n] = end - at
        n += 1
        at = end + 1
    }
    return n
}
expect(lines == lineCount, "split lines: \(lines) lines, the generator wrote \(lineCount)")

// 2. Parse: the `combined` format's parser (the specialized one that `analyze` uses).
let parser = LogFormatParser(format: try! LogFormat("combined"))
var withTarget = 0
let parsedBytes = (0..<lines).reduce(0) { $0 + lineLength[$1] }
let parsed = measure("parse (combined)", "line", operations: lines, bytes: parsedBytes) {
    var fields = RequestFields()
    var good = 0
    var targets = 0
    for i in 0..<lines {
        let line = UnsafeRawBufferPointer(start: base + lineStart[i], count: lineLength[i])
        if parser.parse(line, into: &fields) == nil {
            good += 1
            if let target = fields.target, let start = target.baseAddress {
                targetStart[targets] = start - base
                targetLength[targets] = target.count
                targets += 1
            }
        }
    }
    withTarget = targets
    return good
}
expect(parsed == lines, "parse: \(lines - parsed) of \(lines) generated lines malformed")

@MainActor
func target(_ i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + targetStart[i], count: targetLength[i]) }

// 3. Keys: normalization and `make bench`'s rule, without and with the memo of recent targets.
let rule = try! KeyRule(#"^/products/(\d+)$ => product:$1"#)
let builder = KeyBuilder(rules: [rule])
let keyed = measure("key (normalize + 1 rule)", "target", operations: withTarget) {
    var keys = 0
    for i in 0..<withTarget {
        if case .keyed = builder.build(target: target(i), hasLogEscapes: true) { keys += 1 }
    }
    return keys
}
let memoBuilder = KeyBuilder(rules: [rule])
let keyedMemo = measure("key, memoized (KeyMemo)", "target", operations: withTarget) {
    var keys = 0
    for i in 0..<withTarget {
        if case .keyed = memoBuilder.buildMemoized(target: target(i), hasLogEscapes: true) { keys += 1 }
    }
    return keys
}
expect(keyed > 0 && keyed == keyedMemo, "key: \(keyed) keys built, \(keyedMemo) through the memo")
let early = measure("rejectsEarly (the line loop's shortcut)", "target", operations: withTarget) {
    var rejected = 0
    for i in 0..<withTarget where builder.rejectsEarly(target: target(i), hasLogEscapes: true) { rejected += 1 }
    return rejected
}
expect(early <= withTarget - keyed, "rejectsEarly: turned away \(early) targets, but only \(withTarget - keyed) have no key")

// 4. Hash: `KeyHash.hash` (128 bits) of each target, and of one 55-byte key.
let seed = SketchParameters.default.seed
_ = measure("hash (KeyHash, targets)", "target", operations: withTarget, bytes: (0..<withTarget).reduce(0) { $0 + targetLength[$1] }) {
    var mix = 0
    for i in 0..<withTarget {
        let h = KeyHash.hash(target(i), seed: seed)
        targetHash[i] = h
        mix ^= Int(truncatingIfNeeded: h.low)
    }
    return mix
}
let key55 = Array("product:1234567/variant/blue/size-42/en-GB/page-0001234".utf8)
expect(key55.count == 55, "the hash's fixed key is \(key55.count) bytes, not 55")
let hashRounds = 10_000_000
_ = key55.withUnsafeBytes { key in
    measure("hash (KeyHash, one 55-byte key)", "hash", operations: hashRounds) {
        var mix: UInt64 = 0
        for i in 0..<hashRounds {
            // The seed changes each round so that nothing is computed once and reused.
            mix ^= KeyHash.hash(key, seed: UInt64(truncatingIfNeeded: i)).high
        }
        return Int(truncatingIfNeeded: mix)
    }
}

// 5. Count: `SketchCounter` as `analyze` counts each keyed line (hash, the conservative-update
// count-min sketch of the default size, 4 rows of 2^19 cells, and the 2 × --top candidates),
// with --top 10000; a new counter per repetition. (The sketch alone is generic over its cell
// width and specialized only inside its module: called from here it would measure unspecialized
// code that `analyze` never runs.)
var counted = 0
_ = measure("SketchCounter.add (hash + sketch + top 10000)", "key", operations: withTarget) {
    let counter = SketchCounter(parameters: .default, top: 10_000)
    for i in 0..<withTarget { counter.add(key: target(i), path: target(i), bytes: 1) }
    let top = counter.ranked(limit: 1)
    counted = Int(counter.stats.total)
    return top.first.map { Int($0.count) } ?? -1
}
expect(counted == withTarget, "SketchCounter: \(counted) requests counted, \(withTarget) added")

// MARK: - Report

print("| stage | per | best | median | rate | mallocs per repetition (per op) |")
print("|---|---|---|---|---|---|")
for row in rows {
    let rate = row.bytesPerSecond.map { String(format: "%.0f MB/s", $0 / 1e6) } ?? "–"
    let mallocs = row.mallocsPerRepetition.map { String(format: "%d (%.6f)", $0, Double($0) / Double(row.operations)) } ?? "not counted"
    print("| \(row.stage) | \(row.operation) | \(String(format: "%.1f ns", row.best)) | \(String(format: "%.1f ns", row.median)) | \(rate) | \(mallocs) |")
}
print()
print("\(lines) lines (\(inputBytes / 1_000_000) MB) of `warmset generate --lines \(lineCount) --keys 220000 --zipf 1.0 --seed 1`, held in memory;")
print("\(withTarget) request targets, \(keyed) keyed by the rule; \(repetitions) repetitions of each stage.")
if !failures.isEmpty {
    for failure in failures { FileHandle.standardError.write(Data("microbench: \(failure)\n".utf8)) }
    exit(1)
}
