import Foundation
import Testing

@testable import WarmsetSystem

/// `Cores` reads the kernel's lists and cgroup quotas as they are written, and on this machine
/// agrees with Foundation's `ProcessInfo.activeProcessorCount`, which it replaces.
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

    @Test func thisMachineCountsAsFoundationCountsIt() {
        #expect(Cores.available == ProcessInfo.processInfo.activeProcessorCount)
    }
}
