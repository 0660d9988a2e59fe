import Glibc

/// xoshiro256**: small, fast and the same on every platform, so a seed names one log.
public struct SeededRandom {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the four words with splitmix64.
    public init(seed: UInt64) {
        var x = seed
        func next() -> UInt64 {
            x &+= 0x9e37_79b9_7f4a_7c15
            var z = x
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        s = (next(), next(), next(), next())
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// A uniform double in [0, 1).
    @inline(__always)
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A uniform integer in 0..<n.
    @inline(__always)
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Samples ranks 0..<n with probability ∝ 1/(rank+1)^s, by inverting a cumulative table.
public struct ZipfSampler {
    private let cumulative: [Double]

    /// Builds the table for `n` ranks and exponent `s`.
    /// - Complexity: O(n) time and memory.
    public init(count n: Int, exponent s: Double) {
        var cumulative = [Double](repeating: 0, count: n)
        var sum = 0.0
        for i in 0..<n {
            sum += 1 / pow(Double(i + 1), s)
            cumulative[i] = sum
        }
        for i in 0..<n { cumulative[i] /= sum }
        self.cumulative = cumulative
    }

    /// A rank.
    /// - Complexity: O(log n).
    public func sample(_ random: inout SeededRandom) -> Int {
        let u = random.unit()
        var lo = 0
        var hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// Writes realistic, deterministic access-log traffic: Zipf-distributed product, profile
/// and category pages, static assets, API calls, POSTs, scanner probes, errors, 304s and
/// query strings (campaign tags and session tokens).
public struct TrafficGenerator {
    /// The output syntax.
    public enum Format: String, CaseIterable, Sendable {
        case combined, common, json
    }

    /// Lines to write.
    public var lines: Int
    /// Distinct warmable pages.
    public var keys: Int
    /// Zipf exponent of page popularity.
    public var zipf: Double
    /// The seed.
    public var seed: UInt64
    /// The syntax.
    public var format: Format
    /// The logged time of the first line (seconds since the epoch); lines span one day.
    public var startTime: Int64 = 1_795_737_600  // 2026-11-27T00:00:00Z

    /// Creates a generator.
    public init(lines: Int, keys: Int, zipf: Double, seed: UInt64, format: Format = .combined) {
        self.lines = lines
        self.keys = max(keys, 1)
        self.zipf = zipf
        self.seed = seed
        self.format = format
    }

    static let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "curl/8.5.0",
        "okhttp/4.12.0",
    ]
    static let probes = [
        "/wp-login.php", "/.env", "/phpmyadmin/index.php", "/xmlrpc.php", "/.git/config", "/admin/login.asp",
        "/cgi-bin/luci", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    ]
    static let categories = ["shoes", "shirts", "jackets", "bags", "watches", "hats", "socks", "belts"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The request path of page `rank` (stable for a given rank).
    public static func pagePath(_ rank: Int) -> String {
        switch rank % 10 {
        case 0...5: return "/products/\(100_000 + rank)"
        case 6, 7: return "/users/\(rank * 7 + 3)/profile"
        case 8: return "/category/\(categories[rank % categories.count])/\(rank / 10)"
        default: return "/api/v1/items/\(rank)"
        }
    }

    /// Writes the log through `sink`, in chunks of about 1 MiB.
    public func write(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var random = SeededRandom(seed: seed)
        let pages = ZipfSampler(count: keys, exponent: zipf)
        let assets = ZipfSampler(count: 64, exponent: 1.1)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20 + 4096)
        let step = max(86_400.0 / Double(max(lines, 1)), 0.0)
        var pathScratch: [UInt8] = []
        for i in 0..<lines {
            var method = "GET"
            var status = 200
            var bytes = 0
            pathScratch.removeAll(keepingCapacity: true)
            let roll = random.below(1000)
            if roll < 720 {
                let rank = pages.sample(&random)
                pathScratch.append(contentsOf: Self.pagePath(rank).utf8)
                bytes = 4_000 + Int(UInt64(rank) &* 2_654_435_761 % 60_000)
                let extra = random.below(100)
                if extra < 8 {
                    pathScratch.append(contentsOf: "?utm_source=newsletter&utm_campaign=w\(random.below(52))".utf8)
                } else if extra < 12 {
                    pathScratch.append(contentsOf: "?session=\(String(random.next(), radix: 16))".utf8)
                } else if extra < 15, rank % 10 == 8 {
                    pathScratch.append(contentsOf: "?page=\(1 + random.below(5))&sort=price".utf8)
                }
                let s = random.below(100)
                if s < 6 { status = 304; bytes = 0 } else if s < 8 { status = [500, 502, 503][random.below(3)]; bytes = 150 } else if s < 9 { status = 404; bytes = 120 }
            } else if roll < 840 {
                let asset = assets.sample(&random)
                let kind = asset % 3
                let name = ["js/app", "css/site", "img/banner"][kind]
                let ext = ["js", "css", "webp"][kind]
                pathScratch.append(contentsOf: "/static/\(name).\(String(UInt64(asset) &* 0x9e37_79b9 & 0xffff_ffff, radix: 16)).\(ext)".utf8)
                bytes = 20_000 + asset * 1_000
                if random.below(10) < 3 { status = 304; bytes = 0 }
            } else if roll < 890 {
                method = "POST"
                pathScratch.append(contentsOf: ["/cart/add", "/login", "/checkout", "/api/v1/events"][random.below(4)].utf8)
                status = [200, 302, 201][random.below(3)]
                bytes = 300
            } else if roll < 930 {
                pathScratch.append(contentsOf: Self.probes[random.below(Self.probes.count)].utf8)
                status = 404
                bytes = 162
                if random.below(4) == 0 { method = "POST" }
            } else if roll < 950 {
                method = "HEAD"
                pathScratch.append(contentsOf: Self.pagePath(pages.sample(&random)).utf8)
            } else if roll < 980 {
                pathScratch.append(contentsOf: ["/robots.txt", "/favicon.ico", "/health", "/sitemap.xml"][random.below(4)].utf8)
                bytes = 500
            } else {
                // Search with a free-text query: percent-encoded bytes, plus signs and spaces escaped.
                pathScratch.append(contentsOf: "/search?q=\(["red+shoes", "caf%C3%A9", "50%25+off", "bags"][random.below(4)])".utf8)
                bytes = 9_000
            }
            let time = startTime + Int64(Double(i) * step)
            let ip = "\(1 + random.below(223)).\(random.below(256)).\(random.below(256)).\(1 + random.below(254))"
            let agent = Self.agents[random.below(Self.agents.count)]
            let requestTime = Double(5 + random.below(400)) / 1000
            appendLine(
                to: &out, ip: ip, time: time, method: method, path: pathScratch, status: status, bytes: bytes,
                agent: agent, requestTime: requestTime)
            if out.count >= 1 << 20 {
                try out.withUnsafeBytes { try sink($0) }
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { try out.withUnsafeBytes { try sink($0) } }
    }

    private func appendLine(
        to out: inout [UInt8], ip: String, time: Int64, method: String, path: [UInt8], status: Int, bytes: Int,
        agent: String, requestTime: Double
    ) {
        switch format {
        case .combined, .common:
            out.append(contentsOf: ip.utf8)
            out.append(contentsOf: " - - [".utf8)
            out.append(contentsOf: Self.timeLocal(time).utf8)
            out.append(contentsOf: "] \"".utf8)
            out.append(contentsOf: method.utf8)
            out.append(0x20)
            out.append(contentsOf: path)
            out.append(contentsOf: " HTTP/1.1\" \(status) \(bytes)".utf8)
            if format == .combined {
                out.append(contentsOf: " \"https://shop.example.com/\" \"".utf8)
                out.append(contentsOf: agent.utf8)
                out.append(0x22)
            }
        case .json:
            out.append(contentsOf: "{\"time_iso8601\":\"\(Self.timeISO(time))\",\"remote_addr\":\"\(ip)\",\"request\":\"\(method) ".utf8)
            out.append(contentsOf: path)
            out.append(contentsOf: " HTTP/1.1\",\"status\":\(status),\"body_bytes_sent\":\(bytes),\"request_time\":\(requestTime),\"host\":\"shop.example.com\",\"http_user_agent\":\"\(agent)\"}".utf8)
        }
        out.append(0x0A)
    }

    static func civil(_ t: Int64) -> (y: Int, m: Int, d: Int, hh: Int, mm: Int, ss: Int) {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = Int(t - days * 86400)
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        let y = Int(yoe + era * 400) + (m <= 2 ? 1 : 0)
        return (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// `27/Nov/2026:00:00:00 +0000`.
    public static func timeLocal(_ t: Int64) -> String {
        let c = civil(t)
        return "\(two(c.d))/\(months[c.m - 1])/\(c.y):\(two(c.hh)):\(two(c.mm)):\(two(c.ss)) +0000"
    }

    /// `2026-11-27T00:00:00+00:00`.
    public static func timeISO(_ t: Int64) -> String {
        let c = civil(t)
        return "\(c.y)-\(two(c.m))-\(two(c.d))T\(two(c.hh)):\(two(c.mm)):\(two(c.ss))+00:00"
    }
}
