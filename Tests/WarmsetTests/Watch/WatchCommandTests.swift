import Foundation
import Testing
import WarmsetRedis
import WarmsetWatch

/// `warmset watch` end to end: the built binary follows a log that a test writes and rotates,
/// against a real redis-server and the test HTTP origin.
@Suite("Watch mode", .serialized)
struct WatchCommandTests {
    @Test func rotationBothWaysWhileWatchingAndResumeAfterTERM() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let log = dir.appendingPathComponent("access.log").path
        let state = dir.appendingPathComponent("watch.state").path
        let metricsPort = try WarmTestKit.freePort()
        try WatchTestKit.append(WatchTestKit.lines([1: 30, 2: 20]), to: log)
        var written = 50
        let watch = try WatchProcess(
            WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 2)
                + ["--every", "1s", "--state", state, "--metrics-listen", "127.0.0.1:\(metricsPort)"],
            in: dir)

        // First cycle: the two keys, with the TTL asked for.
        #expect(try WatchTestKit.eventually { try WatchTestKit.ttls(redis, ["p:1", "p:2"]).count == 2 }, "\(watch.stderr)")
        let first = try WatchTestKit.ttls(redis, ["p:1", "p:2"])
        #expect(first.values.allSatisfy { (50...60).contains($0) }, "\(first)")
        #expect(try redis.command(["GET", "p:1"]).first?.textValue == "value-of:p:1")

        // Rotation by rename: the old file gets a last few lines after the rename.
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        try WatchTestKit.append(WatchTestKit.lines([3: 5]), to: log + ".1")
        try WatchTestKit.append(WatchTestKit.lines([3: 40]), to: log)
        written += 45
        #expect(try WatchTestKit.eventually { try WatchTestKit.ttls(redis, ["p:3"]).count == 1 }, "\(watch.stderr)")

        // Copy-and-truncate, then the writer goes on in the truncated file.
        try FileManager.default.copyItem(atPath: log, toPath: log + ".2")
        try FileHandle(forWritingTo: URL(fileURLWithPath: log)).truncate(atOffset: 0)
        try WatchTestKit.append(WatchTestKit.lines([4: 60]), to: log)
        written += 60
        #expect(try WatchTestKit.eventually { try WatchTestKit.ttls(redis, ["p:4"]).count == 1 }, "\(watch.stderr)")

        // The metrics endpoint counts every line once.
        let metricsURL = "http://127.0.0.1:\(metricsPort)/metrics"
        #expect(try WatchTestKit.eventually {
            WatchTestKit.metric("warmset_watch_lines_read_total", in: try WatchTestKit.httpGet(metricsURL) ?? "") == Double(written)
        })
        let text = try WatchTestKit.httpGet(metricsURL) ?? ""
        #expect(WatchTestKit.metric("warmset_watch_rotations_total", in: text) == 1)
        #expect(WatchTestKit.metric("warmset_watch_truncations_total", in: text) == 1)
        #expect((WatchTestKit.metric("warmset_watch_keys_warmed_total", in: text) ?? 0) >= 4)
        #expect(WatchTestKit.metric("warmset_watch_keys_failed_total", in: text) == 0)
        #expect((WatchTestKit.metric("warmset_watch_last_success_timestamp_seconds", in: text) ?? 0) > 1e9)
        #expect(text.contains("# TYPE warmset_watch_cycle_duration_seconds gauge"))

        // SIGTERM: checkpoint and exit 0; every line counted exactly once.
        watch.send(SIGTERM)
        #expect(watch.waitForExit() == 0, "\(watch.stderr)")
        #expect(watch.stderr.contains("SIGTERM: stopped"))
        let saved = try #require(try WatchState.load(state))
        #expect(saved.linesRead == written)
        #expect(saved.sketch.requests == UInt64(written))

        // Restart with the state: nothing is read again; new lines are added to the old counts.
        let again = try WarmTestKit.warmset(
            ["watch"] + WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 2) + ["--once", "--state", state])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("+0 lines (\(written) in all)"), "\(again.stderr)")
        try WatchTestKit.append(WatchTestKit.lines([5: 7]), to: log)
        let more = try WarmTestKit.warmset(
            ["watch"] + WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 2) + ["--once", "--state", state])
        #expect(more.stderr.contains("+7 lines (\(written + 7) in all)"), "\(more.stderr)")
        #expect(try WatchState.load(state)?.sketch.requests == UInt64(written + 7))
    }

    @Test func refreshBelowRewritesOnlyKeysWhoseTTLRunsLow() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let log = dir.appendingPathComponent("access.log").path
        try WatchTestKit.append(WatchTestKit.lines([1: 9, 2: 8, 3: 7]), to: log)
        // 20% of 60 s is 12 s: p:1 (5 s left) is refreshed, p:2 (50 s left) and p:3 (no TTL) are not.
        try redis.command(["SET", "p:1", "old", "EX", "5"], ["SET", "p:2", "old", "EX", "50"], ["SET", "p:3", "old"])
        let result = try WarmTestKit.warmset(
            ["watch"] + WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 3) + ["--once", "--refresh-below", "20%"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try redis.command(["GET", "p:1"], ["GET", "p:2"], ["GET", "p:3"]).map(\.textValue) == ["value-of:p:1", "old", "old"])
        let ttls = try WatchTestKit.ttls(redis, ["p:1", "p:2", "p:3"])
        #expect((55...60).contains(ttls["p:1"] ?? 0) && (40...50).contains(ttls["p:2"] ?? 0) && ttls["p:3"] == -1, "\(ttls)")
        #expect(result.stderr.contains("1 warmed (1 refreshed), 2 present, 0 failed"), "\(result.stderr)")
        #expect(try origin.requests().keys.sorted() == ["/fast/p:1"])
    }

    /// The same with values copied from another Redis: the key to refresh is overwritten (SET
    /// without NX, with the --ttl), the others are left as they are, whatever their type.
    @Test func refreshBelowWithCopyFrom() throws {
        let source = try WarmRedisServer()
        let redis = try WarmRedisServer()
        let dir = try WarmTestKit.temporaryDirectory()
        let log = dir.appendingPathComponent("access.log").path
        try WatchTestKit.append(WatchTestKit.lines([1: 9, 2: 8, 3: 7, 4: 6]), to: log)
        try source.command(["SET", "p:1", "new-1"], ["SET", "p:2", "new-2"], ["SET", "p:3", "new-3"], ["HSET", "p:4", "f", "new-4"])
        try redis.command(["SET", "p:1", "old", "EX", "5"], ["SET", "p:2", "old", "EX", "50"], ["SET", "p:3", "old"], ["HSET", "p:4", "f", "old"])
        try redis.command(["EXPIRE", "p:4", "3"])
        let result = try WarmTestKit.warmset([
            "watch", log, "--rule", "^/p/(\\d+)$ => p:$1", "--top", "4", "--sketch-memory", "64KiB",
            "--warm-redis", redis.urlString(), "--copy-from", source.urlString(), "--ttl", "60", "--once", "--refresh-below", "20%",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try redis.command(["GET", "p:1"], ["GET", "p:2"], ["GET", "p:3"], ["HGET", "p:4", "f"]).map(\.textValue) == ["new-1", "old", "old", "new-4"])
        let ttls = try WatchTestKit.ttls(redis, ["p:1", "p:2", "p:3", "p:4"])
        #expect((55...60).contains(ttls["p:1"] ?? 0) && (40...50).contains(ttls["p:2"] ?? 0) && ttls["p:3"] == -1, "\(ttls)")
        #expect((55...60).contains(ttls["p:4"] ?? 0), "the hash was restored with REPLACE and the --ttl: \(ttls)")
        #expect(result.stderr.contains("2 warmed (2 refreshed), 2 present, 0 failed"), "\(result.stderr)")
    }

    @Test func sigtermDuringAWarmFinishesTheBatchFirst() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin(slowSeconds: 1)
        let dir = try WarmTestKit.temporaryDirectory()
        let log = dir.appendingPathComponent("access.log").path
        let state = dir.appendingPathComponent("watch.state").path
        try WatchTestKit.append(WatchTestKit.lines([1: 3, 2: 2]), to: log)
        let watch = try WatchProcess(
            [log, "--rule", "^/p/(\\d+)$ => p:$1", "--top", "2", "--sketch-memory", "64KiB", "--warm-redis", redis.urlString(),
             "--origin", origin.base + "/slow/{key}", "--ttl", "60", "--every", "1h", "--state", state],
            in: dir)
        // The values are being fetched (each takes 1 s): the warm batch is in flight.
        #expect(try WatchTestKit.eventually { try origin.requests().count == 2 }, "\(watch.stderr)")
        watch.send(SIGTERM)
        #expect(watch.waitForExit() == 0, "\(watch.stderr)")
        #expect(try WatchTestKit.ttls(redis, ["p:1", "p:2"]).count == 2)
        let stderr = watch.stderr
        #expect(stderr.contains("cycle 1: +5 lines (5 in all), 2 keys: 2 warmed"), "\(stderr)")
        #expect(stderr.contains("SIGTERM: stopped after 1 cycle(s)"), "\(stderr)")
        #expect(try WatchState.load(state)?.linesRead == 5)
    }

    @Test func sighupReopensAndCountingGoesOn() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let log = dir.appendingPathComponent("access.log").path
        let state = dir.appendingPathComponent("watch.state").path
        try WatchTestKit.append(WatchTestKit.lines([1: 4]), to: log)
        let watch = try WatchProcess(
            WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 5) + ["--every", "1s", "--state", state], in: dir)
        #expect(try WatchTestKit.eventually { try WatchTestKit.ttls(redis, ["p:1"]).count == 1 }, "\(watch.stderr)")
        watch.send(SIGHUP)
        #expect(WatchTestKit.eventually { watch.stderr.contains("SIGHUP: logs reopened") }, "\(watch.stderr)")
        try WatchTestKit.append(WatchTestKit.lines([2: 3]), to: log)
        #expect(try WatchTestKit.eventually { try WatchTestKit.ttls(redis, ["p:2"]).count == 1 }, "\(watch.stderr)")
        watch.send(SIGINT)
        #expect(watch.waitForExit() == 0, "\(watch.stderr)")
        #expect(try WatchState.load(state)?.linesRead == 7)
    }

    @Test func redisDownForACycleIsReportedAndTheNextCycleWarms() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let log = dir.appendingPathComponent("access.log").path
        let state = dir.appendingPathComponent("watch.state").path
        let metricsPort = try WarmTestKit.freePort()
        let metricsURL = "http://127.0.0.1:\(metricsPort)/metrics"
        try WatchTestKit.append(WatchTestKit.lines([1: 5]), to: log)
        let watch = try WatchProcess(
            WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 5)
                + ["--every", "1s", "--state", state, "--metrics-listen", "127.0.0.1:\(metricsPort)"],
            in: dir)
        #expect(try WatchTestKit.eventually { try WatchTestKit.ttls(redis, ["p:1"]).count == 1 }, "\(watch.stderr)")

        // Redis goes away; new lines arrive; the next cycle cannot warm and says so.
        redis.kill()
        let before = watch.stderr.split(separator: "\n").count
        try WatchTestKit.append(WatchTestKit.lines([2: 4]), to: log)
        let failedCycle = WatchTestKit.eventually {
            watch.stderr.split(separator: "\n").dropFirst(before).contains { line in
                line.contains("warm step failed") || (line.contains("cycle ") && !line.contains(" 0 failed in"))
            }
        }
        #expect(failedCycle, "\(watch.stderr)")
        #expect(watch.process.isRunning, "a cycle that cannot warm does not end the watch")
        let metrics = (try? WatchTestKit.httpGet(metricsURL)) ?? ""
        let failedCount = (WatchTestKit.metric("warmset_watch_cycles_failed_total", in: metrics) ?? 0)
            + (WatchTestKit.metric("warmset_watch_keys_failed_total", in: metrics) ?? 0)
        #expect(failedCount > 0, "\(metrics)")

        // Redis is back (empty): a later cycle warms both keys again.
        try redis.start()
        let back = Date().timeIntervalSince1970
        #expect(try WatchTestKit.eventually { try WatchTestKit.ttls(redis, ["p:1", "p:2"]).count == 2 }, "\(watch.stderr)")
        #expect(try redis.command(["GET", "p:2"]).first?.textValue == "value-of:p:2")
        #expect(watch.process.isRunning)
        #expect(WatchTestKit.eventually {
            let text = (try? WatchTestKit.httpGet(metricsURL)) ?? ""
            return (WatchTestKit.metric("warmset_watch_last_success_timestamp_seconds", in: text) ?? 0) >= back
        }, "a fully successful cycle after Redis came back")

        // No line was lost while Redis was down.
        watch.send(SIGTERM)
        #expect(watch.waitForExit() == 0, "\(watch.stderr)")
        let saved = try #require(try WatchState.load(state))
        #expect(saved.linesRead == 9 && saved.sketch.requests == 9)
    }

    @Test func onceRunsOneCycleAndUsageErrorsAreCaught() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let log = dir.appendingPathComponent("access.log").path
        try WatchTestKit.append(WatchTestKit.lines([1: 3, 2: 2, 3: 1]), to: log)
        let once = try WarmTestKit.warmset(["watch"] + WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 2) + ["--once"])
        #expect(once.status == 0, "\(once.stderr)")
        #expect(once.stderr.contains("cycle 1: +6 lines (6 in all), 2 keys: 2 warmed"), "\(once.stderr)")
        #expect(once.stderr.split(separator: "\n").count == 1)  // one line per cycle
        #expect(try WatchTestKit.ttls(redis, ["p:1", "p:2", "p:3"]).keys.sorted() == ["p:1", "p:2"])

        // Decayed counting checkpoints too: the second run reads nothing again.
        let state = dir.appendingPathComponent("decayed.state").path
        for expected in ["+6 lines (6 in all)", "+0 lines (6 in all)"] {
            let decayed = try WarmTestKit.warmset(
                ["watch"] + WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 2) + ["--once", "--half-life", "10m", "--state", state])
            #expect(decayed.status == 0 && decayed.stderr.contains(expected), "\(decayed.stderr)")
        }
        #expect(try WatchState.load(state)?.sketch.halfLifeSeconds == 600)
        let otherSettings = try WarmTestKit.warmset(
            ["watch"] + WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 2) + ["--once", "--state", state])
        #expect(otherSettings.status == 1 && otherSettings.stderr.contains("--half-life"), "\(otherSettings.stderr)")

        let noTarget = try WarmTestKit.warmset(["watch", log, "--once"])
        #expect(noTarget.status == 64 && noTarget.stderr.contains("--warm-redis"))
        let stdin = try WarmTestKit.warmset(["watch", "-", "--warm-redis", redis.urlString(), "--origin", origin.base + "/fast/{key}", "--ttl", "5"])
        #expect(stdin.status == 64 && stdin.stderr.contains("stdin cannot be followed"))
        let badEvery = try WarmTestKit.warmset(["watch"] + WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 2) + ["--every", "soon"])
        #expect(badEvery.status == 64 && badEvery.stderr.contains("--every 'soon'"))
        let exactState = try WarmTestKit.warmset(
            ["watch"] + WatchTestKit.arguments(log: log, redis: redis, origin: origin, top: 2) + ["--exact", "--state", dir.appendingPathComponent("s").path])
        #expect(exactState.status == 64 && exactState.stderr.contains("drop --exact"))
    }
}
