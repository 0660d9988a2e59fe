import WarmsetModel
import ArgumentParser
import WarmsetEmit
import WarmsetRedis
import WarmsetWarm

/// `warmset warm`: a manifest in, a warm cache out.
struct Warm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warm",
        abstract: "Load a warm set into Redis (standalone or Cluster) or a memcached pool, or fill HTTP caches, before the application takes traffic.",
        discussion: """
            Examples:
              # values from the application's API; skip keys already present; expire in 1 h ± 10%
              warmset warm warm.jsonl --redis redis://cache:6379/0 --origin 'http://api.internal/products/{1}' --ttl 3600 --ttl-jitter 10%

              # straight from the old cache (keeps each key's remaining TTL)
              warmset warm warm.keys --redis redis://new-cache:6379 --copy-from redis://old-cache:6379

              # an ACL user; the password from the environment, never on the command line
              REDISCLI_AUTH=secret warmset warm warm.jsonl --redis redis://warmer@cache:6379/2 --origin 'http://app{path}' --ttl 600

              # a Redis Cluster (detected; any node will do), gently: 200 requests/s, stop after 5% failures
              warmset warm warm.jsonl --redis redis://node1:7000 --origin 'http://api/p/{key}' --ttl 900 --rate 200/s --max-failures 5% --report warm-report.json

              # a managed Redis over TLS (the server's certificate and name are checked; --tls-cert/--tls-key for mutual TLS)
              warmset warm warm.keys --redis rediss://warmer@cache.example.com:6380 --tls-ca ca.pem --copy-from rediss://warmer@old.example.com:6380

              # the master that Sentinel names; a failover mid-run is ridden out (reconnects for up to --reconnect-for 30s)
              warmset warm warm.jsonl --redis 'redis-sentinel://warmer@sentinel1:26379,sentinel2:26379/0#cache' --origin 'http://api/p/{1}' --ttl 3600

              # a memcached pool, keys on the node the application's ketama client picks; add skips present keys
              warmset warm warm.jsonl --memcached cache1:11211,cache2:11211 --origin 'http://api/p/{1}' --ttl 3600

              # fill the caches behind a URL (nginx proxy_cache, Varnish, a CDN, the application): GET URL + each key's path
              warmset warm warm.jsonl --http https://shop.example.com --rate 50/s --concurrency 8 --header 'Accept-Encoding: gzip'

              # what would happen: checks existence, fetches and writes nothing
              warmset warm warm.jsonl --redis redis://cache:6379 --origin 'http://api/p/{key}' --ttl 60 --dry-run

            The manifest is the output of warmset analyze (keys, tsv or jsonl, detected; {path} and {1}… need jsonl). \
            By default keys already present are left alone: a batch is checked with pipelined EXISTS, only the missing \
            keys are fetched, then written with SET key value EX ttl NX (memcached: add with the exptime). With --copy-from \
            Redis, strings are read with one MGET per batch and written with one MSETNX (SET PX NX with a TTL; other \
            types DUMP and RESTORE); these writes never overwrite, so EXISTS is asked only while batches turn out \
            mostly present. --overwrite writes every key (memcached: set).

            A Redis that goes away mid-run (a restart, a failover) is reconnected to with growing pauses for up to \
            --reconnect-for (30s): AUTH, SELECT and TLS are redone, commands without a reply are sent again, and a \
            server answering LOADING is waited for. Behind Sentinel, the master is asked for again; after a failover \
            every key is checked once more on the new master (writes the old master took last are lost in any \
            failover) and the missing ones are warmed again.

            Exit status: 0 every key warmed or already present; 2 some keys failed (the summary and --report say \
            which and why); 1 the run stopped early (--max-failures, NOPERM, a read-only replica) or could not \
            start (connection refused, wrong password); 64 usage error.
            """)

    @Argument(help: ArgumentHelp("The manifest: a file of keys, tsv or jsonl as warmset analyze writes it; '-' reads stdin.", valueName: "manifest"))
    var manifest: String

    @Option(help: ArgumentHelp(
        "The Redis to warm: redis://[user[:password]@]host[:port][/db], rediss://… (TLS, see --tls-ca), redis-sentinel://[user[:password]@]host[:port][,host[:port]…][/db]#MASTER (the sentinels name the master) or unix:///path/redis.sock[?db=N]. The password may come from REDISCLI_AUTH.",
        valueName: "url"))
    var redis: String?

    @Option(help: ArgumentHelp(
        "The memcached pool to warm: host:port[,host:port…]; keys go to the node the application's client picks (--distribution).",
        valueName: "servers"))
    var memcached: String?

    @Option(help: ArgumentHelp(
        "Warm the HTTP caches behind this URL (an application, nginx proxy_cache, Varnish, a CDN): request URL + each key's path. Requests never leave its host.",
        valueName: "base-url"))
    var http: String?

    @Option(help: ArgumentHelp("The manifest's format: keys, tsv or jsonl. (default: detected from the first line)", valueName: "format"))
    var manifestFormat: ManifestFormatArgument?

    @OptionGroup(title: "Warming") var warm: WarmOptions
    @OptionGroup(title: "memcached (with --memcached)") var memcachedOptions: MemcachedOptions
    @OptionGroup(title: "HTTP (with --http)") var httpOptions: HTTPWarmOptions

    @Option(help: ArgumentHelp("Write a JSON report listing every key that was not warmed, with why.", valueName: "file.json"))
    var report: String?

    @Flag(name: .shortAndLong, help: "Print no progress and no summary; errors still go to stderr.")
    var quiet = false

    /// The one cache to warm.
    var target: WarmTarget {
        get throws {
            let given = [redis.map(WarmTarget.redis), memcached.map(WarmTarget.memcached), http.map(WarmTarget.http)].compactMap { $0 }
            guard given.count == 1, let target = given.first else {
                throw ValidationError("give one cache to warm: --redis URL, --memcached HOST:PORT[,…] or --http BASE_URL")
            }
            return target
        }
    }

    func validate() throws {
        try WarmTarget.check(try target, options: warm, memcached: memcachedOptions, http: httpOptions)
    }

    func run() throws {
        let entries: [WarmEntry]
        do {
            entries = try ManifestReader.read(path: manifest, format: manifestFormat?.manifestFormat, make: WarmEntry.init)
        } catch {
            Terminal.error("\(error.description); nothing was warmed")
            throw ExitCode.failure
        }
        let plan = WarmPlan(entries)
        if plan.duplicatesDropped > 0 && !quiet {
            Terminal.error("note: \(plan.duplicatesDropped) repeated keys in the manifest are warmed once")
        }
        let status = try WarmRun.run(plan: plan, target: try target, options: warm, memcached: memcachedOptions, http: httpOptions, reportPath: report,
            quiet: quiet)
        if status != 0 { throw ExitCode(status) }
    }
}
