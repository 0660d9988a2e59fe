import Foundation
import WarmsetWarm

/// What became of one command of a batch: its reply (valid only during the callback; error
/// replies included, other than redirects), or why it has none.
enum CommandOutcome {
    case reply(ReplyView)
    case failed(KeyFailure)
}

/// Sends keyed commands to the nodes that serve them, for one worker thread: one connection per
/// node, one pipeline per node and batch, `MOVED` (record the new owner, refresh the map,
/// resend) and `ASK` (`ASKING`, resend once to the importing node). A node that cannot be
/// reached after a reconnect is marked down in the shared topology and its keys fail at once.
final class RedisRouter {
    let topology: ClusterTopology
    let settings: RedisConnectionSettings
    let ledger: WarmLedger
    private var connections: [RedisEndpoint: RedisConnection] = [:]

    init(topology: ClusterTopology, settings: RedisConnectionSettings, ledger: WarmLedger) {
        self.topology = topology
        self.settings = settings
        self.ledger = ledger
    }

    /// A connection to `node`, connecting (and logging in) if needed.
    func connection(_ node: RedisEndpoint) throws(RedisError) -> RedisConnection {
        if let existing = connections[node] { return existing }
        let connection = try RedisConnection(settings.at(node))
        connections[node] = connection
        return connection
    }

    /// Runs every command of `batch` on the node serving its key and hands `handle` each
    /// command's outcome exactly once (by command index; in the batch's order unless redirects
    /// resend some): the reply, or the key's failure when its node is down or the connection
    /// broke before the reply. `slots[owner]` is the hash slot of each batch item (unused for a
    /// standalone server).
    func execute(_ batch: CommandBatch, slots: [Int], operation: String, _ handle: (Int, CommandOutcome) -> Void) {
        var pending: [Pending] = []
        if topology.isCluster {
            pending = (0..<batch.count).map { i in Pending(index: i, node: topology.node(forSlot: slots[batch.owners[i]]), asking: false) }
        } else {
            // A standalone server: the batch goes out as it is.
            run(batch, indices: nil, on: topology.seed, operation: operation, handle: handle, next: &pending)
        }
        var round = 1
        var wait = Backoff(for: settings.reconnectFor)
        while !pending.isEmpty && round <= 6 {
            if pending.allSatisfy(\.waiting) {
                // The node is loading its data (or, behind Sentinel, was turned into a replica):
                // wait without using up a redirect round, for up to --reconnect-for.
                guard wait.pause() else { break }
            } else {
                if round > 2 { Thread.sleep(forTimeInterval: 0.01 * Double(round)) }  // from the second resend on
                round += 1
            }
            var next: [Pending] = []
            var order: [RedisEndpoint] = []
            var groups: [RedisEndpoint: [Pending]] = [:]
            for item in pending {
                if groups[item.node] == nil { order.append(item.node) }
                groups[item.node, default: []].append(item)
            }
            for node in order {
                var resend = CommandBatch()
                var indices: [(index: Int, asking: Bool)] = []  // per resent command; index -1: an ASKING
                for item in groups[node] ?? [] {
                    if item.asking {
                        resend.begin(1)
                        resend.argument(Word.asking)
                        resend.end(owner: batch.owners[item.index])
                        indices.append((-1, false))
                    }
                    resend.append(command: item.index, of: batch)
                    indices.append((item.index, item.asking))
                }
                run(resend, indices: indices, on: node, operation: operation, handle: handle, next: &next)
            }
            if next.contains(where: \.moved) { refreshMap() }
            pending = next
        }
        for item in pending {
            if item.waiting {
                handle(item.index, .failed(KeyFailure(item.reason, "\(item.node) still answered \(item.reason == "loading" ? "LOADING" : "READONLY") after \(Backoff.seconds(settings.reconnectFor)) (\(operation))")))
            } else {
                handle(item.index, .failed(KeyFailure("redirect_loop", "still redirected after 6 tries (\(operation))")))
            }
        }
    }

    /// A command to send (again): MOVED, ASK and TRYAGAIN replies put it back in the queue.
    private struct Pending {
        var index: Int
        var node: RedisEndpoint
        var asking: Bool
        var moved = false
        /// Sent again after a pause, not a redirect: "loading" or "readonly" (behind Sentinel).
        var reason = ""
        var waiting: Bool { !reason.isEmpty }
    }

    /// Sends `batch` to `node` and hands out the outcomes; redirected commands go to `next`.
    /// - Parameter indices: for each command of `batch`, the original command index (-1: an
    ///   ASKING, whose reply is skipped) and whether it was sent after ASKING; nil when `batch`
    ///   is the original.
    private func run(
        _ batch: CommandBatch, indices: [(index: Int, asking: Bool)]?, on node: RedisEndpoint, operation: String,
        handle: (Int, CommandOutcome) -> Void, next: inout [Pending]
    ) {
        let original: (Int) -> (index: Int, asking: Bool) = { indices?[$0] ?? ($0, false) }
        if let reason = topology.downReason(node) {
            for i in 0..<batch.count where original(i).index >= 0 { handle(original(i).index, .failed(KeyFailure("node_down", reason))) }
            return
        }
        var position = 0
        var reason: String?  // why some commands wait: loading or readonly
        let failure = send(batch, to: node, operation: operation) { reply in
            let (index, asked) = original(position)
            position += 1
            if index < 0 { return }  // ASKING's +OK
            if let message = reply.shortErrorText {
                if let redirect = Redirect(message, defaultHost: node) {
                    if !redirect.ask {
                        ledger.count("moved")
                        topology.moved(slot: redirect.slot, to: redirect.node)
                        next.append(Pending(index: index, node: redirect.node, asking: false, moved: true))
                    } else if asked {
                        handle(index, .failed(KeyFailure("redirect_loop", "ASK to \(redirect.node) twice for slot \(redirect.slot)")))
                    } else {
                        ledger.count("ask")
                        next.append(Pending(index: index, node: redirect.node, asking: true))
                    }
                    return
                }
                switch reply.errorKind {
                case .tryAgain:
                    next.append(Pending(index: index, node: node, asking: asked))
                    return
                case .loading:
                    if reason == nil { ledger.count("loading_waits") }
                    reason = "loading"
                    next.append(Pending(index: index, node: node, asking: asked, reason: "loading"))
                    return
                case .readOnly where settings.url.sentinel != nil:
                    // The master was demoted in a failover: find the new one and send again.
                    if reason == nil { ledger.count("readonly_waits") }
                    reason = "readonly"
                    next.append(Pending(index: index, node: node, asking: asked, reason: "readonly"))
                    return
                default: break
                }
            }
            handle(index, .reply(reply))
        }
        if let failure {
            // Commands whose reply arrived keep it; the others fail with the reason.
            for i in position..<batch.count where original(i).index >= 0 { handle(original(i).index, .failed(failure)) }
        }
        if reason == "readonly" { connections[node]?.disconnect() }  // the next round asks the sentinels again
    }

    /// One pipeline to `node`, replies handed to `reply` in order. A connection that breaks is
    /// connected again (AUTH, SELECT and TLS redone; behind Sentinel, the master asked for again)
    /// with a growing pause, for up to `settings.reconnectFor` seconds, and the commands whose
    /// replies had not arrived are sent again (every write warmset makes is safe to repeat: SET
    /// and MSETNX with NX, RESTORE without REPLACE; a repeated NX write may find its own first
    /// write and count the key as present). A node still unreachable then is marked down.
    /// - Returns: nil when every reply arrived, else why the rest did not.
    private func send(_ batch: CommandBatch, to node: RedisEndpoint, operation: String, reply: (ReplyView) -> Void) -> KeyFailure? {
        var wait = Backoff(for: settings.reconnectFor)
        var received = 0
        var rest = batch
        while true {
            let failure: RedisError?
            do {
                let connection = try self.connection(node)
                if !connection.isConnected { try connection.connect() }
                failure = connection.send(rest, operation: operation) { r in
                    received += 1
                    reply(r)
                }
            } catch {
                failure = error
            }
            guard let failure else { return nil }
            switch failure.kind {
            case .auth, .permission, .reply, .url:
                // AUTH or SELECT refused on a (re)connect: every key of this node fails the same way.
                topology.markDown(node, failure.description)
                return KeyFailure(failure.kind == .auth ? "auth" : "redis_error", failure.description)
            case .connect, .io:
                guard wait.pause() else {
                    let reason = "\(node) is down: \(failure.message) (reconnecting for \(Backoff.seconds(settings.reconnectFor)))"
                    topology.markDown(node, reason)
                    return KeyFailure("node_down", reason)
                }
                ledger.count("reconnects")
                if received > 0 {
                    // Broke mid-pipeline: what was read stands; the rest goes again.
                    var remaining = CommandBatch()
                    for i in received..<batch.count { remaining.append(command: i, of: batch) }
                    rest = remaining
                }
            }
        }
    }

    /// Reads the slot map again through any node that answers.
    private func refreshMap() {
        for node in [topology.seed] + topology.masters where topology.downReason(node) == nil {
            guard let connection = try? connection(node) else { continue }
            if (try? topology.refresh(using: connection)) != nil { return }
        }
    }
}

/// A `MOVED slot host:port` or `ASK slot host:port` error reply.
struct Redirect {
    var ask: Bool
    var slot: Int
    var node: RedisEndpoint

    init?(_ message: String, defaultHost: RedisEndpoint) {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
            let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty, case .tcp(let seedHost, _) = defaultHost { host = seedHost }
        self.ask = parts[0] == "ASK"
        self.slot = slot
        self.node = .tcp(host: host, port: port)
    }
}

/// Pauses that grow (50 ms doubling to 1 s) until a time budget is spent: how a run rides out a
/// restart or a failover (`--reconnect-for`).
struct Backoff {
    private let budget: Duration
    /// Set by the first pause, so that a pipeline that never fails reads no clock.
    private var deadline: ContinuousClock.Instant?
    private var delay = 0.05

    init(for seconds: Double) {
        budget = .milliseconds(Int64(seconds * 1000))
    }

    /// Sleeps the next pause; false (without sleeping) when the budget, counted from the first
    /// pause, is spent.
    mutating func pause() -> Bool {
        let now = ContinuousClock.now
        let end = deadline ?? now + budget
        deadline = end
        guard now < end else { return false }
        let left = end - now
        let leftSeconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
        Thread.sleep(forTimeInterval: min(delay, leftSeconds))
        delay = min(delay * 2, 1)
        return true
    }

    /// `seconds` as the option takes it, e.g. "30s".
    static func seconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }
}
