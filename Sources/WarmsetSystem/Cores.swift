import Glibc

/// The cores this process may use: the CPUs it may run on (its affinity, as `taskset` and
/// cgroup cpusets set it), fewer when a cgroup CPU quota allows less (`docker --cpus`, systemd's
/// `CPUQuota=`), at least 1.
///
/// The one answer for the whole program: the analysis sizes its parse lanes by it and the HTTP
/// fetcher its event loops (which asked NIO's `System.coreCount` before). Read from the kernel's
/// own small files, once per run. It replaced Foundation's
/// `ProcessInfo.activeProcessorCount`, whose set-up and five file reads cost about 0.3 ms of every
/// start-up (docs/benchmarks.md), and which counts differently: it ignores the affinity and cgroup
/// v2, and reads only the root cgroup's v1 quota.
public enum Cores {
    /// The cores, read at first use.
    public static let available: Int = count(
        allowed: read("/proc/self/status").flatMap(allowedList(status:)).flatMap(listCount(_:)),
        quota: quota(cgroups: read("/proc/self/cgroup") ?? "", reading: read(_:)),
        online: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// The cores from what was read: the allowed CPUs (else those online), capped by the quota
    /// (CPUs' worth of time, rounded up), at least 1.
    static func count(allowed: Int?, quota: Int?, online: Int) -> Int {
        var cores = allowed ?? online
        if let quota { cores = min(cores, quota) }
        return max(cores, 1)
    }

    /// The `Cpus_allowed_list:` value of `/proc/self/status`, e.g. `0-3,8`. On the bytes: the
    /// file is 1.5 KB of lines, and String's `split` walks it by grapheme.
    static func allowedList(status: String) -> String? {
        let bytes = Array(status.utf8)
        let label = Array("\nCpus_allowed_list:".utf8)
        guard bytes.count > label.count else { return nil }
        for start in 0...(bytes.count - label.count) where bytes[start] == 0x0A && bytes[start..<(start + label.count)].elementsEqual(label) {
            var from = start + label.count
            while from < bytes.count && (bytes[from] == 0x20 || bytes[from] == 0x09) { from += 1 }
            var end = from
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            return String(decoding: bytes[from..<end], as: UTF8.self)
        }
        return nil
    }

    /// The CPUs a kernel list names (`0-3,8` is 5); nil when it does not read.
    static func listCount(_ list: String) -> Int? {
        var total = 0
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let low = Int(bounds[0]), let high = bounds.count == 2 ? Int(bounds[1]) : low, high >= low else { return nil }
            total += high - low + 1
        }
        return total > 0 ? total : nil
    }

    /// The tightest CPU quota over the process's cgroup and its parents, as `/proc/self/cgroup`
    /// names them (`reading` reads a file): cgroup v2's `cpu.max` under `/sys/fs/cgroup`, or
    /// v1's `cpu.cfs_quota_us` over `cpu.cfs_period_us` under `/sys/fs/cgroup/cpu`; nil when none
    /// is set.
    static func quota(cgroups: String, reading: (String) -> String?) -> Int? {
        var tightest: Int?
        func consider(_ quota: Int?) {
            if let quota { tightest = Swift.min(tightest ?? quota, quota) }
        }
        for line in cgroups.split(separator: "\n") {
            // `ID:CONTROLLERS:PATH`; v2 is `0::PATH`.
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                for directory in ancestors(String(fields[2])) {
                    consider(reading("/sys/fs/cgroup\(directory)/cpu.max").flatMap(quota(cpuMax:)))
                }
            } else if fields[1].split(separator: ",").contains("cpu") {
                for directory in ancestors(String(fields[2])) {
                    let base = "/sys/fs/cgroup/cpu\(directory)/"
                    consider(quota(v1Quota: reading(base + "cpu.cfs_quota_us"), period: reading(base + "cpu.cfs_period_us")))
                }
            }
        }
        return tightest
    }

    /// A cgroup path and those above it, as suffixes of the mount point: `/a/b` gives `/a/b`,
    /// `/a` and `` (the root).
    static func ancestors(_ path: String) -> [String] {
        var parts = path.split(separator: "/")
        var found: [String] = []
        while !parts.isEmpty {
            found.append("/" + parts.joined(separator: "/"))
            parts.removeLast()
        }
        return found + [""]
    }

    /// cgroup v2's `cpu.max` (`QUOTA PERIOD`, or `max PERIOD` for none) as whole CPUs, rounded up.
    static func quota(cpuMax: String) -> Int? {
        let fields = cpuMax.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let quota = Int(fields[0]), let period = Int(fields[1]) else { return nil }
        return wholeCPUs(quota: quota, period: period)
    }

    /// cgroup v1's `cpu.cfs_quota_us` (-1 for none) over `cpu.cfs_period_us`, rounded up.
    static func quota(v1Quota: String?, period: String?) -> Int? {
        guard let q = v1Quota.flatMap({ Int($0.filter { $0 != "\n" }) }), let p = period.flatMap({ Int($0.filter { $0 != "\n" }) })
        else { return nil }
        return wholeCPUs(quota: q, period: p)
    }

    private static func wholeCPUs(quota: Int, period: Int) -> Int? {
        guard quota > 0, period > 0 else { return nil }
        return (quota + period - 1) / period
    }

    /// A small file of the kernel's, or nil when it is not there or does not read.
    private static func read(_ path: String) -> String? {
        guard let file = try? FileDescriptor.open(path, .readOnly) else { return nil }
        defer { try? file.close() }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = (try? buffer.withUnsafeMutableBytes { try file.read(into: $0) }) ?? 0
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
