import Foundation
import Testing

@testable import WarmsetSystem

/// `Cores` reads the kernel's lists and cgroup quotas as they are written: the affinity list the
/// kernel writes for a process under `taskset`, and quotas on the process's own cgroup and on
/// those above it.
@Suite("System: the cores a run may use")
struct CoresTests {
    @Test func kernelCPUListsAreCounted() {
        #expect(Cores.listCount("0") == 1)
        #expect(Cores.listCount("0-1") == 2)
        #expect(Cores.listCount("0-3,8") == 5)
        #expect(Cores.listCount("0,2,4-5") == 4)
        #expect(Cores.listCount("") == nil)
        #expect(Cores.listCount("3-1") == nil)
        #expect(Cores.listCount("x") == nil)
        #expect(Cores.listCount("-") == nil)
        #expect(Cores.listCount("3-") == nil)
        #expect(Cores.listCount("-3") == nil)
    }

    @Test func theAllowedListIsFoundInProcStatus() {
        let status = "Name:\twarmset\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n"
        #expect(Cores.allowedList(status: status) == "0-1")
        #expect(Cores.allowedList(status: "Name:\tx\n") == nil)
    }

    @Test func cgroupQuotasBecomeWholeCPUsRoundedUp() {
        #expect(Cores.quota(cpuMax: "max 100000\n") == nil)
        #expect(Cores.quota(cpuMax: "150000 100000\n") == 2)
        #expect(Cores.quota(cpuMax: "100000 100000") == 1)
        #expect(Cores.quota(cpuMax: "50000 100000") == 1)
        #expect(Cores.quota(v1Quota: "-1\n", period: "100000\n") == nil)
        #expect(Cores.quota(v1Quota: "250000\n", period: "100000\n") == 3)
        #expect(Cores.quota(v1Quota: nil, period: "100000") == nil)
    }

    @Test func theQuotaCapsTheAllowedCPUsAndAtLeastOneRemains() {
        #expect(Cores.count(allowed: 8, quota: 2, online: 16) == 2)
        #expect(Cores.count(allowed: 2, quota: 4, online: 16) == 2)
        #expect(Cores.count(allowed: nil, quota: nil, online: 4) == 4)
        #expect(Cores.count(allowed: nil, quota: nil, online: 0) == 1)
    }

    @Test func theTightestQuotaOfTheCgroupAndItsParentsCounts() {
        #expect(Cores.ancestors("/a/b") == ["/a/b", "/a", ""])
        #expect(Cores.ancestors("/") == [""])
        let files = [
            "/sys/fs/cgroup/system.slice/app.service/cpu.max": "150000 100000\n",
            "/sys/fs/cgroup/system.slice/cpu.max": "max 100000\n",
            "/sys/fs/cgroup/cpu.max": "400000 100000\n",
            "/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us": "250000\n",
            "/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_period_us": "100000\n",
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n",
            "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
        ]
        let read: (String) -> String? = { files[$0] }
        // v2, nested (a systemd unit's CPUQuota=150%), under a looser root quota.
        #expect(Cores.quota(cgroups: "0::/system.slice/app.service\n", reading: read) == 2)
        // v2 at the root of a container's own cgroup namespace.
        #expect(Cores.quota(cgroups: "0::/\n", reading: read) == 4)
        // v1, the cpu controller's path; the memory controller's is not read.
        #expect(Cores.quota(cgroups: "5:memory:/elsewhere\n4:cpu,cpuacct:/docker/abc\n0::/\n", reading: { $0.hasPrefix("/sys/fs/cgroup/cpu/") ? read($0) : nil }) == 3)
        #expect(Cores.quota(cgroups: "4:cpu,cpuacct:/\n", reading: read) == nil)
        #expect(Cores.quota(cgroups: "", reading: read) == nil)
    }

    /// The list the kernel writes for a process that `taskset` keeps to one CPU reads as one.
    @Test func aProcessKeptToOneCPUByTasksetCountsOne() throws {
        let taskset = "/usr/bin/taskset"
        try #require(FileManager.default.isExecutableFile(atPath: taskset), "taskset (util-linux) is missing")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: taskset)
        process.arguments = ["-c", "0", "cat", "/proc/self/status"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let status = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(Cores.allowedList(status: status).flatMap(Cores.listCount) == 1, "\(status)")
        #expect(Cores.available >= 1 && Cores.available <= Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
