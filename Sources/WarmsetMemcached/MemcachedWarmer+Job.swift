import CMemcached
import Foundation
import WarmsetModel
import WarmsetWarm

/// The per-batch work of a memcached warm run, shared (read-only) by its worker threads; each
/// thread builds its own pools and so has its own connections.
final class MemcachedJob: Sendable {
    let settings: MemcachedWarmSettings
    let origin: OriginSource?
    let ledger: WarmLedger

    init(settings: MemcachedWarmSettings, origin: OriginSource?, ledger: WarmLedger) {
        self.settings = settings
        self.origin = origin
        self.ledger = ledger
    }

    /// One worker thread: its own pools, then batches until none are left.
    func work(_ batches: WarmBatches) {
        let s = settings
        let pools: Result<(MemcachedPool, MemcachedPool?), MemcachedError> = Result { () throws(MemcachedError) in
            let target = try MemcachedPool(servers: s.servers, distribution: s.distribution, connectTimeout: s.connectTimeout, timeout: s.timeout)
            guard case .copy(let from) = s.source else { return (target, nil) }
            return (target, try MemcachedPool(servers: from, distribution: s.distribution, connectTimeout: s.connectTimeout, timeout: s.timeout))
        }
        let ttls = MemcachedTTLReader(settings: s)
        while let batch = batches.next() {
            switch pools {
            case .success(let (target, source)): process(batch, target: target, source: source, ttls: ttls)
            case .failure(let error): for entry in batch { ledger.failed(key: entry.key, KeyFailure("memcached_error", error.description)) }
            }
        }
    }

    private func process(_ batch: [WarmEntry], target: MemcachedPool, source: MemcachedPool?, ttls: MemcachedTTLReader) {
        // Keys were checked in `run`, so storageKey succeeds here.
        let keyed = batch.map { entry in (entry, (try? MemcachedKey.storageKey(entry.key, longKeys: settings.longKeys).get()) ?? entry.key) }
        var missing = keyed
        // A batch is one node's lane: its failures name that node, as the ones found down at the
        // start do (libmemcached's messages, such as CONNECTION FAILURE, do not).
        let node = keyed.first.flatMap { target.server(forKey: $0.1) }.map { "\($0): " } ?? ""
        // Stored keys to rewrite with `set` because their TTL runs low (`refreshBelowSeconds`).
        var refresh: Set<String> = []
        if !settings.overwrite, let threshold = settings.refreshBelowSeconds {
            let server = keyed.first.flatMap { target.server(forKey: $0.1) }
            switch ttls.remainingTTLs(keyed.map(\.1), on: server) {
            case .failure(let error):
                let nodeDown = error.code.map { MemcachedPool.isNodeDown(memcached_return_t($0)) } ?? false
                let failure = KeyFailure(nodeDown ? "node_down" : "memcached_error", error.description)
                for entry in batch { ledger.failed(key: entry.key, failure) }
                return
            case .success(let remaining):
                missing = []
                for (item, left) in zip(keyed, remaining) {
                    switch left {
                    case .absent: missing.append(item)
                    case .seconds(let t) where Double(t) < threshold:
                        missing.append(item)
                        refresh.insert(item.1)
                    case .seconds, .none: break  // enough TTL left, or none: someone else owns it
                    }
                }
                ledger.present(keyed.count - missing.count)
            }
        } else if !settings.overwrite {
            let (items, error) = target.get(keyed.map(\.1))
            if let error, items.isEmpty {
                let failure = KeyFailure(error.nodeDown ? "node_down" : "memcached_error", "\(node)get: \(error.message)")
                for entry in batch { ledger.failed(key: entry.key, failure) }
                return
            }
            missing = keyed.filter { items[$0.1] == nil }
            ledger.present(keyed.count - missing.count)
        }
        if missing.isEmpty { return }
        if settings.dryRun {
            ledger.wouldWarm(missing.count)
            return
        }
        if ledger.isStopped {
            for (entry, _) in missing { ledger.failed(key: entry.key, .notAttempted("the run stopped before the value was fetched")) }
            return
        }
        var values: [(WarmEntry, String, [UInt8], UInt32)] = []
        if let origin {
            for ((entry, key), value) in zip(missing, origin.fetch(missing.map(\.0))) {
                switch value {
                case .success(let bytes): values.append((entry, key, bytes, 0))
                case .failure(let failure): ledger.failed(key: entry.key, failure)
                }
            }
        } else if let source {
            let (items, error) = source.get(missing.map(\.1))
            for (entry, key) in missing {
                if let item = items[key] {
                    values.append((entry, key, item.value, item.flags))
                } else if let error {
                    ledger.failed(key: entry.key, KeyFailure(error.nodeDown ? "source_node_down" : "memcached_error", "get at the source: \(error.message)"))
                } else {
                    ledger.failed(key: entry.key, KeyFailure("missing_at_source", "the copy-from pool has no key '\(key)'"))
                }
            }
        }
        let now = Int(Date().timeIntervalSince1970)
        var warmed = (count: 0, bytes: 0)
        var refreshed = 0
        defer {
            ledger.warmed(count: warmed.count, bytes: warmed.bytes)
            if refreshed > 0 { ledger.count("refreshed", refreshed) }
        }
        for (entry, key, value, flags) in values {
            guard value.count <= settings.maxValueBytes else {
                ledger.failed(key: entry.key, KeyFailure("value_too_large", "\(value.count) bytes, over --max-value-bytes \(settings.maxValueBytes)"))
                continue
            }
            let exptime = MemcachedKey.exptime(ttl: settings.ttl.ttl(forKey: entry.key), now: now)
            let replace = settings.overwrite || refresh.contains(key)
            switch target.store(key: key, value: value, exptime: exptime, flags: flags, overwrite: replace) {
            case .stored:
                warmed = (warmed.count + 1, warmed.bytes + value.count)
                if refresh.contains(key) { refreshed += 1 }
            case .present: ledger.present()  // add: someone wrote it since the check
            case .failed(let code, let message, let nodeDown):
                let reason = nodeDown ? "node_down" : (code == MemcachedPool.tooBig ? "value_too_large" : "memcached_error")
                ledger.failed(key: entry.key, KeyFailure(reason, "\(node)\(replace ? "set" : "add"): \(message)"))
            }
        }
    }
}

/// One worker thread's meta connections, one per node, opened when first needed and dropped
/// after a failure (the next batch connects again).
final class MemcachedTTLReader {
    private let settings: MemcachedWarmSettings
    private var connections: [MemcachedServer: MemcachedMetaConnection] = [:]

    init(settings: MemcachedWarmSettings) { self.settings = settings }

    /// The remaining TTLs of `keys`, all stored on `server`.
    func remainingTTLs(_ keys: [String], on server: MemcachedServer?) -> Result<[MemcachedMetaConnection.RemainingTTL], MemcachedError> {
        guard let server else { return .failure(MemcachedError("mg", "libmemcached picked no node for the keys")) }
        do throws(MemcachedError) {
            let connection: MemcachedMetaConnection
            if let open = connections[server] {
                connection = open
            } else {
                connection = try MemcachedMetaConnection(server: server, connectTimeout: settings.connectTimeout, timeout: settings.timeout)
                connections[server] = connection
            }
            return .success(try connection.remainingTTLs(keys))
        } catch {
            connections[server] = nil
            return .failure(error)
        }
    }
}
