import Foundation
import WarmsetWarm

/// The per-batch work of a Redis warm run, shared (read-only) by its worker threads; each
/// thread has its own routers and so its own connections.
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
        while let batch = batches.next() {
            process(batch, target: target, source: source)
        }
    }

    private func process(_ batch: [WarmEntry], target: RedisRouter, source: RedisRouter?) {
        var missing: [WarmEntry] = []
        // Present keys to rewrite because their TTL runs low (`refreshBelowMilliseconds`).
        var refresh = Set<String>()
        if settings.overwrite {
            missing = batch
        } else if let threshold = settings.refreshBelowMilliseconds {
            let results = target.execute(batch.map { KeyedCommand(key: $0.key, command: [Word.pttl, Array($0.key.utf8)]) }, operation: "PTTL")
            var present = 0
            for (entry, result) in zip(batch, results) {
                switch result {
                case .success(.integer(-2)): missing.append(entry)
                case .success(.integer(let left)) where left >= 0 && left < threshold:
                    missing.append(entry)
                    refresh.insert(entry.key)
                case .success(.integer): present += 1  // enough TTL left, or none (-1)
                case .success(let other): fail(entry.key, other, command: "PTTL")
                case .failure(let failure): ledger.failed(key: entry.key, failure)
                }
            }
            ledger.present(present)
        } else {
            let results = target.execute(batch.map { KeyedCommand(key: $0.key, command: [Word.exists, Array($0.key.utf8)]) }, operation: "EXISTS")
            var present = 0
            for (entry, result) in zip(batch, results) {
                switch result {
                case .success(.integer(let n)) where n > 0: present += 1
                case .success(.integer): missing.append(entry)
                case .success(let other): fail(entry.key, other, command: "EXISTS")
                case .failure(let failure): ledger.failed(key: entry.key, failure)
                }
            }
            ledger.present(present)
        }
        if missing.isEmpty { return }
        if settings.dryRun {
            ledger.wouldWarm(missing.count)
            return
        }
        if ledger.isStopped {
            for entry in missing { ledger.failed(key: entry.key, .notAttempted("the run stopped before the value was fetched")) }
            return
        }
        if let origin {
            writeFromOrigin(missing, replacing: refresh, origin: origin, target: target)
        } else if let source {
            copy(missing, replacing: refresh, source: source, target: target)
        }
    }

    /// - Parameter replacing: keys present whose TTL runs low: written without NX.
    private func writeFromOrigin(_ entries: [WarmEntry], replacing: Set<String>, origin: OriginSource, target: RedisRouter) {
        let values = origin.fetch(entries)
        var writes: [KeyedCommand] = []
        var written: [(WarmEntry, Int)] = []
        for (entry, value) in zip(entries, values) {
            switch value {
            case .failure(let failure):
                ledger.failed(key: entry.key, failure)
            case .success(let bytes):
                var command: RedisCommand = [Word.set, Array(entry.key.utf8), bytes]
                if let seconds = settings.ttl?.ttl(forKey: entry.key) {
                    command.append(Word.ex)
                    command.append(Array(String(seconds).utf8))
                }
                if !settings.overwrite && !replacing.contains(entry.key) { command.append(Word.nx) }
                writes.append(KeyedCommand(key: entry.key, command: command))
                written.append((entry, bytes.count))
            }
        }
        let results = target.execute(writes, operation: "SET")
        var warmed = (count: 0, bytes: 0)
        var refreshed = 0
        defer {
            ledger.warmed(count: warmed.count, bytes: warmed.bytes)
            if refreshed > 0 { ledger.count("refreshed", refreshed) }
        }
        for ((entry, bytes), result) in zip(written, results) {
            switch result {
            case .success(.status(let s)) where s == "OK":
                warmed = (warmed.count + 1, warmed.bytes + bytes)
                if replacing.contains(entry.key) { refreshed += 1 }
            case .success(.null): ledger.present()  // NX: someone wrote it since EXISTS
            case .success(let other): fail(entry.key, other, command: "SET")
            case .failure(let failure): ledger.failed(key: entry.key, failure)
            }
        }
    }

    /// - Parameter replacing: keys present whose TTL runs low: restored with REPLACE.
    private func copy(_ entries: [WarmEntry], replacing: Set<String>, source: RedisRouter, target: RedisRouter) {
        var reads: [KeyedCommand] = []
        for entry in entries {
            let key = Array(entry.key.utf8)
            reads.append(KeyedCommand(key: entry.key, command: [Word.dump, key]))
            reads.append(KeyedCommand(key: entry.key, command: [Word.pttl, key]))
        }
        let results = source.execute(reads, operation: "DUMP and PTTL")
        var writes: [KeyedCommand] = []
        var written: [(WarmEntry, Int)] = []
        for (i, entry) in entries.enumerated() {
            let dump = results[2 * i]
            let pttl = results[2 * i + 1]
            switch (dump, pttl) {
            case (.failure(let failure), _), (_, .failure(let failure)):
                ledger.failed(key: entry.key, failure)
            case (.success(.null), _), (_, .success(.integer(-2))):
                ledger.failed(key: entry.key, KeyFailure("missing_at_source", "\(settings.sourceName) has no key '\(entry.key)'"))
            case (.success(.string(let payload)), .success(.integer(let remaining))):
                var milliseconds: Int64
                if let policy = settings.ttl {
                    milliseconds = policy.ttl(forKey: entry.key).map { Int64($0) * 1000 } ?? 0
                } else {
                    milliseconds = remaining > 0 ? remaining : 0
                }
                if milliseconds < 0 { milliseconds = 0 }
                var command: RedisCommand = [Word.restore, Array(entry.key.utf8), Array(String(milliseconds).utf8), payload]
                if settings.overwrite || replacing.contains(entry.key) { command.append(Word.replace) }
                writes.append(KeyedCommand(key: entry.key, command: command))
                written.append((entry, payload.count))
            case (.success(let other), .success(.integer)), (.success, .success(let other)):
                fail(entry.key, other, command: "DUMP/PTTL at the source")
            }
        }
        let restored = target.execute(writes, operation: "RESTORE")
        var warmed = (count: 0, bytes: 0)
        var refreshed = 0
        defer {
            ledger.warmed(count: warmed.count, bytes: warmed.bytes)
            if refreshed > 0 { ledger.count("refreshed", refreshed) }
        }
        for ((entry, bytes), result) in zip(written, restored) {
            switch result {
            case .success(.status(let s)) where s == "OK":
                warmed = (warmed.count + 1, warmed.bytes + bytes)
                if replacing.contains(entry.key) { refreshed += 1 }
            case .success(.error(let message)) where message.hasPrefix("BUSYKEY"): ledger.present()
            case .success(let other): fail(entry.key, other, command: "RESTORE")
            case .failure(let failure): ledger.failed(key: entry.key, failure)
            }
        }
    }

    /// An unexpected reply: an error reply fails the key; NOPERM and READONLY stop the run,
    /// since every other key would fail the same way.
    private func fail(_ key: String, _ reply: RedisReply, command: String) {
        guard case .error(let message) = reply else {
            ledger.failed(key: key, KeyFailure("redis_error", "\(command) answered \(reply)"))
            return
        }
        if message.hasPrefix("NOPERM") {
            let user = settings.target.url.user ?? "default"
            let detail = "\(settings.target.url): the ACL user '\(user)' may not run \(command) on '\(key)' (\(message)); grant it, e.g. ACL SETUSER \(user) +@write +exists ~*"
            ledger.failed(key: key, KeyFailure("noperm", detail))
            ledger.stop(detail)
        } else if message.hasPrefix("READONLY") {
            let detail = "\(settings.target.url) is a read-only replica (\(message)); give the master's URL"
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

/// Command words, made once (arrays are copy-on-write, so a command shares them).
enum Word {
    static let exists = Array("EXISTS".utf8)
    static let set = Array("SET".utf8)
    static let ex = Array("EX".utf8)
    static let nx = Array("NX".utf8)
    static let dump = Array("DUMP".utf8)
    static let pttl = Array("PTTL".utf8)
    static let restore = Array("RESTORE".utf8)
    static let replace = Array("REPLACE".utf8)
}
