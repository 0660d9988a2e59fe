import Foundation
import WarmsetModel
import WarmsetWarm

/// How a worker reads the copy-from source.
///
/// String values, nearly every key of a cache, are copied as their bytes: one `MGET` per batch
/// on the source and, on the target, one `MSETNX` for the keys without a TTL (`SET … PX ms NX`
/// for each key with one). That spares both servers the RDB payload that `DUMP` serializes and
/// `RESTORE` checks and decodes, one key at a time. Keys that `MGET` answers nil for (another
/// type, or absent) are read with `DUMP` and written with `RESTORE`, so every type is still
/// copied whole.
enum SourceRead {
    /// `MULTI`, `INFO keyspace`, `MGET`, `EXEC`: the values and, in the same instant, whether
    /// any key of the database has a TTL at all. `PTTL` is asked per key only if one does.
    case transaction
    /// `MGET`, then `PTTL` per key: the source refused MULTI or INFO (an ACL user for reads).
    case plain
    /// `DUMP` and `PTTL` per key: a Redis Cluster source (an MGET must stay in one hash slot),
    /// or one that refused MGET.
    case dump
}

/// What copy-from has read for one key of a batch.
enum CopiedValue {
    /// Nothing to write: not asked, or failed (and counted).
    case none
    /// A string's bytes, at `payloadSpans[i]`.
    case bytes
    /// A `DUMP` payload, at `payloadSpans[i]`.
    case dump
    /// MGET said nil: another type, or no such key; `DUMP` tells which.
    case unknown
}

extension Worker {
    /// copy-from for the keys `missing` of `batch`: read them from the source (`SourceRead`),
    /// then write each to the target without overwriting (unless `--overwrite`, or a key to
    /// refresh), keeping its remaining TTL unless `--ttl` sets one. Every key ends up counted.
    func copy(_ batch: [WarmEntry], _ missing: [Int], refresh: [Bool], source: RedisRouter) {
        // The source's remaining TTL is needed only when no --ttl (or --no-ttl) replaces it.
        let readTTL = settings.ttl == nil
        payloads.removeAll(keepingCapacity: true)
        payloadSpans = Array(repeating: 0..<0, count: batch.count)
        remaining = Array(repeating: -1, count: batch.count)
        copied = Array(repeating: .none, count: batch.count)

        var expiring: Bool
        while true {
            switch readStrings(batch, missing, source: source, readTTL: readTTL) {
            case .read(let mayExpire): expiring = mayExpire
            case .stepDown: continue  // `sourceRead` is plainer now: read again
            case .lost: return
            }
            break
        }
        readDumpsAndTTLs(batch, missing, source: source, readTTL: readTTL, stringTTLs: readTTL && expiring)
        writeCopies(batch, missing, refresh: refresh)
    }

    /// What reading a batch's strings came to.
    private enum StringRead {
        /// Read; whether the string keys may have a TTL to ask for.
        case read(mayExpire: Bool)
        /// The source refused this way of reading; `sourceRead` stepped down.
        case stepDown
        /// The connection failed: every key of the batch is counted failed.
        case lost
    }

    /// Round 1 on the source: MGET (in a transaction with INFO keyspace when TTLs are kept).
    /// Marks each key `.bytes` or `.unknown`; with `SourceRead.dump`, every key `.unknown`.
    private func readStrings(_ batch: [WarmEntry], _ missing: [Int], source: RedisRouter, readTTL: Bool) -> StringRead {
        if sourceRead == .dump {
            for i in missing { copied[i] = .unknown }
            return .read(mayExpire: readTTL)
        }
        let transaction = readTTL && sourceRead == .transaction
        let owner = missing[0]  // routing is by key only for a cluster source, which never gets here
        commands.removeAll()
        if transaction {
            commands.begin(1)
            commands.argument(Word.multi)
            commands.end(owner: owner)
            commands.begin(2)
            commands.argument(Word.info)
            commands.argument(Word.keyspace)
            commands.end(owner: owner)
        }
        commands.begin(1 + missing.count)
        commands.argument(Word.mget)
        for i in missing { commands.argument(batch[i].key) }
        commands.end(owner: owner)
        if transaction {
            commands.begin(1)
            commands.argument(Word.exec)
            commands.end(owner: owner)
        }
        var mayExpire = readTTL
        var refusal: String?
        var lost: KeyFailure?
        let database = source.settings.url.database
        source.execute(commands, slots: slots, operation: transaction ? "MULTI, INFO keyspace, MGET, EXEC" : "MGET") { c, outcome in
            let reply: ReplyView
            switch outcome {
            case .failed(let failure):
                if lost == nil { lost = failure }
                return
            case .reply(let view):
                reply = view
            }
            if case .error = reply {
                if refusal == nil { refusal = reply.shortErrorText ?? "an error" }
                return
            }
            let values: ReplyView
            if transaction {
                guard c == 3 else { return }  // +OK, +QUEUED, +QUEUED
                guard case .array(let items) = reply, items.count == 2, let info = items[0], let mget = items[1] else {
                    refusal = "EXEC answered \(reply.owned)"
                    return
                }
                mayExpire = Self.hasExpiringKeys(info, database: database)
                values = mget
            } else {
                values = reply
            }
            guard case .array(let items) = values, items.count == missing.count else {
                let count: Int
                if case .array(let items) = values { count = items.count } else { count = 0 }
                refusal = "MGET answered an array of \(count) for \(missing.count) keys"
                return
            }
            for (j, i) in missing.enumerated() {
                guard case .string(let bytes)? = items[j] else {
                    copied[i] = .unknown
                    continue
                }
                keep(bytes, for: i)
                copied[i] = .bytes
            }
        }
        if let lost {
            for i in missing {
                copied[i] = .none
                ledger.failed(key: batch[i].key, lost)
            }
            return .lost
        }
        if refusal != nil {
            payloads.removeAll(keepingCapacity: true)
            for i in missing { copied[i] = .none }
            sourceRead = transaction ? .plain : .dump  // MULTI or INFO refused, else MGET
            ledger.count(sourceRead == .plain ? "copy_reads_without_multi" : "copy_reads_with_dump")
            return .stepDown
        }
        return .read(mayExpire: mayExpire)
    }

    /// Whether `INFO keyspace` (a bulk string) says database `database` has keys with a TTL.
    /// A database it does not list is empty; a reply it cannot read counts as yes.
    static func hasExpiringKeys(_ info: ReplyView, database: Int) -> Bool {
        let bytes: UnsafeRawBufferPointer
        switch info {
        case .string(let text), .status(let text): bytes = text
        default: return true
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let prefix = "db\(database):"
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix(prefix) {
            // db0:keys=2,expires=1,avg_ttl=0
            for field in line.dropFirst(prefix.count).split(separator: ",") where field.hasPrefix("expires=") {
                guard let expires = Int(field.dropFirst("expires=".count)) else { return true }
                return expires > 0
            }
            return true
        }
        return false
    }

    /// Round 2 on the source, when needed: `DUMP` (and `PTTL`) for the `.unknown` keys, `PTTL`
    /// for the `.bytes` keys when `stringTTLs`. Keys the source does not have fail as
    /// `missing_at_source`.
    private func readDumpsAndTTLs(_ batch: [WarmEntry], _ missing: [Int], source: RedisRouter, readTTL: Bool, stringTTLs: Bool) {
        commands.removeAll()
        var isDump: [Bool] = []
        for i in missing {
            if copied[i] == .unknown {
                commands.begin(2)
                commands.argument(Word.dump)
                commands.argument(batch[i].key)
                commands.end(owner: i)
                isDump.append(true)
            }
            if (copied[i] == .unknown && readTTL) || (copied[i] == .bytes && stringTTLs) {
                commands.begin(2)
                commands.argument(Word.pttl)
                commands.argument(batch[i].key)
                commands.end(owner: i)
                isDump.append(false)
            }
        }
        if commands.isEmpty { return }
        let operation = isDump.contains(true) ? (readTTL ? "DUMP and PTTL" : "DUMP") : "PTTL"
        source.execute(commands, slots: slots, operation: operation) { c, outcome in
            let i = commands.owners[c]
            guard copied[i] != .none else { return }  // failed already (counted)
            let key = batch[i].key
            switch outcome {
            case .failed(let failure):
                copied[i] = .none
                ledger.failed(key: key, failure)
            case .reply(.string(let payload)) where isDump[c]:
                keep(payload, for: i)
                copied[i] = .dump
            case .reply(.null) where isDump[c], .reply(.integer(-2)) where !isDump[c]:
                copied[i] = .none
                ledger.failed(key: key, KeyFailure("missing_at_source", "\(settings.sourceName) has no key '\(key)'"))
            case .reply(.integer(let milliseconds)) where !isDump[c]:
                remaining[i] = milliseconds
            case .reply(let reply):
                copied[i] = .none
                fail(key, reply.owned, command: "\(operation) at the source", at: source.settings)
            }
        }
    }

    /// Appends a string reply's bytes (a value or a DUMP payload) to `payloads` as key `i`'s.
    private func keep(_ bytes: UnsafeRawBufferPointer, for i: Int) {
        let start = payloads.count
        if !bytes.isEmpty { payloads.appendBytes(bytes) }
        payloadSpans[i] = start..<payloads.count
    }

    /// The expiry to write for key `i` in milliseconds, nil for none: `--ttl`'s, else the
    /// source's remaining one (a key about to expire keeps 1 ms rather than none).
    private func expiry(_ batch: [WarmEntry], _ i: Int) -> Int64? {
        if let policy = settings.ttl { return policy.ttl(forKey: batch[i].key).map { Int64($0) * 1000 } }
        let left = remaining[i]
        return left > 0 ? left : (left == 0 ? 1 : nil)
    }

    /// Writes what was read: one MSETNX (MSET with `--overwrite`) for the strings without a TTL
    /// on a standalone target, `SET key value [PX ms] [NX]` for the other strings, `RESTORE key
    /// ms payload [REPLACE]` for DUMP payloads. When the MSETNX finds a key present (it then
    /// writes none), its keys are written one by one with `SET … NX`.
    private func writeCopies(_ batch: [WarmEntry], _ missing: [Int], refresh: [Bool]) {
        // MSETNX has no per-key answer; a cluster's keys of one batch lie in many slots; keys
        // to refresh are overwritten one by one.
        let canGroup = !job.topology.isCluster && refresh.isEmpty
        var group: [Int] = []
        var groupCommand = -1
        writes.removeAll()
        payloads.withUnsafeBytes { all in
            func value(_ i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: all[payloadSpans[i]]) }
            for i in missing where copied[i] == .bytes || copied[i] == .dump {
                let milliseconds = expiry(batch, i)
                let replace = settings.overwrite || (!refresh.isEmpty && refresh[i])
                if copied[i] == .dump {
                    writes.begin(replace ? 5 : 4)
                    writes.argument(Word.restore)
                    writes.argument(batch[i].key)
                    writes.argument(milliseconds ?? 0)
                    writes.argument(value(i))
                    if replace { writes.argument(Word.replace) }
                    writes.end(owner: i)
                } else if milliseconds == nil && canGroup {
                    group.append(i)
                } else {
                    writes.appendSet(key: batch[i].key, value: value(i), expiry: milliseconds.map { (Word.px, $0) }, nx: !replace, owner: i)
                }
            }
            if group.count == 1 {
                writes.appendSet(key: batch[group[0]].key, value: value(group[0]), expiry: nil, nx: !settings.overwrite, owner: group[0])
                group = []
            } else if group.count > 1 {
                groupCommand = writes.count
                writes.begin(1 + 2 * group.count)
                writes.argument(settings.overwrite ? Word.mset : Word.msetnx)
                for i in group {
                    writes.argument(batch[i].key)
                    writes.argument(value(i))
                }
                writes.end(owner: group[0])
            }
        }
        let bytes: (Int) -> Int = { self.payloadSpans[$0].count }
        let refused = write(batch, refresh: refresh, operation: "MSETNX, SET and RESTORE", bytes: bytes, group: group, groupCommand: groupCommand)
        guard refused else { return }
        // Some key of the group is present: MSETNX wrote none of them. One by one, then.
        writes.removeAll()
        payloads.withUnsafeBytes { all in
            for i in group {
                writes.appendSet(key: batch[i].key, value: UnsafeRawBufferPointer(rebasing: all[payloadSpans[i]]), expiry: nil, nx: true, owner: i)
            }
        }
        write(batch, refresh: refresh, operation: "SET", bytes: bytes)
    }
}
