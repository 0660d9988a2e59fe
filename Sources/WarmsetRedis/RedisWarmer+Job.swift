import Foundation
import WarmsetModel
import WarmsetWarm

/// The per-batch work of a Redis warm run, shared (read-only) by its worker threads; each
/// thread has its own `Worker` (routers, so connections, and reusable buffers).
final class Job: Sendable {
    let settings: RedisWarmSettings
    let topology: ClusterTopology
    let sourceTopology: ClusterTopology?
    let origin: OriginSource?
    let ledger: WarmLedger

    init(settings: RedisWarmSettings, topology: ClusterTopology, sourceTopology: ClusterTopology?, origin: OriginSource?, ledger: WarmLedger) {
        self.settings = settings
        self.topology = topology
        self.sourceTopology = sourceTopology
        self.origin = origin
        self.ledger = ledger
    }

    /// One worker thread: its own routers (connections), then batches until none are left.
    func work(_ batches: WarmBatches) {
        let target = RedisRouter(topology: topology, settings: settings.target, ledger: ledger)
        var source: RedisRouter?
        if let sourceTopology, case .copy(let from) = settings.source {
            source = RedisRouter(topology: sourceTopology, settings: from, ledger: ledger)
        }
        let worker = Worker(job: self, target: target, source: source)
        while let batch = batches.next() {
            worker.process(batch)
        }
    }
}

/// One worker thread's state: its routers and the buffers its batches reuse, so that a batch
/// allocates little beyond the values it carries.
final class Worker {
    let job: Job
    let target: RedisRouter
    let source: RedisRouter?
    var settings: RedisWarmSettings { job.settings }
    var ledger: WarmLedger { job.ledger }

    var commands = CommandBatch()
    var writes = CommandBatch()
    var slots: [Int] = []
    /// copy-from: the values (or DUMP payloads) read from the source, back to back, and each
    /// key's span, TTL and what was read for it.
    var payloads: [UInt8] = []
    var payloadSpans: [Range<Int>] = []
    var remaining: [Int64] = []
    var copied: [CopiedValue] = []
    /// copy-from: whether to ask EXISTS before reading the source. Writes without NX or REPLACE
    /// never overwrite (NX's nil, MSETNX's 0 and RESTORE's BUSYKEY mean present), so the check
    /// only saves source reads; it is made while the last batch found at least half of its keys present.
    var checkFirst = false
    /// copy-from: how this worker reads the source (`SourceRead`); it steps down to a plainer
    /// way when the source refuses one (an ACL without MULTI, a proxy without MGET).
    var sourceRead: SourceRead

    init(job: Job, target: RedisRouter, source: RedisRouter?) {
        self.job = job
        self.target = target
        self.source = source
        sourceRead = job.sourceTopology?.isCluster == false ? .transaction : .dump
    }

    func process(_ batch: [WarmEntry]) {
        slots.removeAll(keepingCapacity: true)
        if job.topology.isCluster || job.sourceTopology?.isCluster == true {
            for entry in batch { slots.append(ClusterSlot.of(entry.key)) }
        }
        var missing: [Int] = []  // indexes into batch
        // Present keys to rewrite because their TTL runs low (`refreshBelowMilliseconds`).
        var refresh: [Bool] = []
        if settings.overwrite {
            missing = Array(batch.indices)
        } else if let threshold = settings.refreshBelowMilliseconds {
            refresh = Array(repeating: false, count: batch.count)
            check(batch, word: Word.pttl, operation: "PTTL") { i, left in
                if left == -2 {
                    missing.append(i)
                } else if left >= 0 && left < threshold {
                    missing.append(i)
                    refresh[i] = true
                } else {
                    return true  // enough TTL left, or none (-1)
                }
                return false
            }
        } else if source != nil && !settings.dryRun && !checkFirst {
            missing = Array(batch.indices)  // RESTORE finds the present ones (BUSYKEY)
        } else {
            check(batch, word: Word.exists, operation: "EXISTS") { i, n in
                if n > 0 { return true }
                missing.append(i)
                return false
            }
            if source != nil { checkFirst = 2 * missing.count <= batch.count }
        }
        missing.sort()
        if missing.isEmpty { return }
        if settings.dryRun {
            ledger.wouldWarm(missing.count)
            return
        }
        if ledger.isStopped {
            for i in missing { ledger.failed(key: batch[i].key, .notAttempted("the run stopped before the value was fetched")) }
            return
        }
        if let origin = job.origin {
            writeFromOrigin(batch, missing, refresh: refresh, origin: origin)
        } else if let source {
            copy(batch, missing, refresh: refresh, source: source)
        }
    }

    /// Pipelined `word key` (EXISTS or PTTL) for every key; `present(i, integer)` says whether
    /// key `i` counts as present (and records it otherwise). Present keys are counted here.
    private func check(_ batch: [WarmEntry], word: [UInt8], operation: String, present: (Int, Int64) -> Bool) {
        commands.removeAll()
        for (i, entry) in batch.enumerated() {
            commands.begin(2)
            commands.argument(word)
            commands.argument(entry.key)
            commands.end(owner: i)
        }
        var presentCount = 0
        target.execute(commands, slots: slots, operation: operation) { i, outcome in
            switch outcome {
            case .reply(.integer(let n)):
                if present(i, n) { presentCount += 1 }
            case .reply(let reply): fail(batch[i].key, reply.owned, command: operation, at: settings.target)
            case .failed(let failure): ledger.failed(key: batch[i].key, failure)
            }
        }
        ledger.present(presentCount)
    }

    /// The TTL to write for `key`: the policy's, else the source's remaining one (copy-from).
    private func ttlSeconds(_ key: String) -> Int? { settings.ttl?.ttl(forKey: key) }

    private func writeFromOrigin(_ batch: [WarmEntry], _ missing: [Int], refresh: [Bool], origin: OriginSource) {
        let values = origin.fetch(missing.map { batch[$0] })
        writes.removeAll()
        var sizes: [Int] = Array(repeating: 0, count: batch.count)
        for (i, value) in zip(missing, values) {
            let entry = batch[i]
            switch value {
            case .failure(let failure):
                ledger.failed(key: entry.key, failure)
            case .success(let bytes):
                let nx = !settings.overwrite && !(refresh.isEmpty ? false : refresh[i])
                bytes.withUnsafeBytes { value in
                    writes.appendSet(
                        key: entry.key, value: value, expiry: ttlSeconds(entry.key).map { (Word.ex, Int64($0)) }, nx: nx, owner: i)
                }
                sizes[i] = bytes.count
            }
        }
        write(batch, refresh: refresh, operation: "SET", bytes: { sizes[$0] })
    }

    /// Sends `writes` (SET or RESTORE, one per key; with `group`, one MSET or MSETNX at
    /// command index `groupCommand` for the keys of `group`) and counts each key: warmed (`+OK`,
    /// MSETNX's 1), present (SET NX's nil, RESTORE's BUSYKEY: written by someone else since the
    /// check, or never checked), or failed.
    /// - Returns: true when the MSETNX of `group` found a key present and wrote none of them
    ///   (the caller writes them one by one), else false.
    @discardableResult
    func write(
        _ batch: [WarmEntry], refresh: [Bool], operation: String, bytes: (Int) -> Int, group: [Int] = [], groupCommand: Int = -1
    ) -> Bool {
        if writes.isEmpty { return false }
        var warmed = (count: 0, bytes: 0)
        var refreshed = 0
        var present = 0
        var groupRefused = false
        target.execute(writes, slots: slots, operation: operation) { c, outcome in
            if c == groupCommand {
                switch outcome {
                case .reply(.status), .reply(.integer(1)):
                    for i in group { warmed = (warmed.count + 1, warmed.bytes + bytes(i)) }
                case .reply(.integer):
                    groupRefused = true  // MSETNX: some key is present, none was written
                case .reply(let reply):
                    let answer = reply.owned
                    for i in group { fail(batch[i].key, answer, command: settings.overwrite ? "MSET" : "MSETNX", at: settings.target) }
                case .failed(let failure):
                    for i in group { ledger.failed(key: batch[i].key, failure) }
                }
                return
            }
            let i = writes.owners[c]
            switch outcome {
            case .reply(.status):
                warmed = (warmed.count + 1, warmed.bytes + bytes(i))
                if !refresh.isEmpty && refresh[i] { refreshed += 1 }
            case .reply(.null):
                present += 1  // NX: someone wrote it since EXISTS
            case .reply(let reply) where reply.errorKind == .busyKey:
                present += 1  // RESTORE without REPLACE: the key is there
            case .reply(let reply):
                fail(batch[i].key, reply.owned, command: operation, at: settings.target)
            case .failed(let failure):
                ledger.failed(key: batch[i].key, failure)
            }
        }
        ledger.warmed(count: warmed.count, bytes: warmed.bytes)
        ledger.present(present)
        if refreshed > 0 { ledger.count("refreshed", refreshed) }
        if source != nil && !settings.overwrite && settings.refreshBelowMilliseconds == nil && !checkFirst && !groupRefused {
            checkFirst = 2 * present > writes.count
        }
        return groupRefused
    }

    /// An unexpected reply: an error reply fails the key; NOPERM and READONLY stop the run,
    /// since every other key would fail the same way.
    func fail(_ key: String, _ reply: RedisReply, command: String, at server: RedisConnectionSettings) {
        guard case .error(let message) = reply else {
            ledger.failed(key: key, KeyFailure("redis_error", "\(command) answered \(reply)"))
            return
        }
        if message.hasPrefix("NOPERM") {
            let user = server.url.user ?? "default"
            let detail = "\(server.url): the ACL user '\(user)' may not run \(command) on '\(key)' (\(message)); grant it, e.g. ACL SETUSER \(user) +@write +exists ~*"
            ledger.failed(key: key, KeyFailure("noperm", detail))
            ledger.stop(detail)
        } else if message.hasPrefix("READONLY") {
            let detail = "\(server.url) is a read-only replica (\(message)); give the master's URL"
            ledger.failed(key: key, KeyFailure("readonly", detail))
            ledger.stop(detail)
        } else {
            let code = message.split(separator: " ").first.map(String.init) ?? "ERR"
            ledger.failed(key: key, KeyFailure("redis_\(code.lowercased())", "\(command) '\(key)': \(message)"))
        }
    }
}

extension RedisWarmSettings {
    var sourceName: String {
        if case .copy(let from) = source { return from.url.description }
        return "the source"
    }
}
