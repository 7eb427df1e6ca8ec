import FoundationEssentials
import GuardHooks
import GuardRender
import Testing

/// The doctor families of the Prometheus text: findings by severity, configured seals not in force.
@Suite struct PrometheusDoctorTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func lines(_ s: MetricsSnapshot, _ family: String) -> [String] {
        PrometheusText.render(s).split(separator: "\n").map(String.init).filter { $0.hasPrefix(family + "{") || $0.hasPrefix(family + " ") }
    }

    @Test func everySeverityIsPresentAndZeroWhenNone() {
        var s = MetricsSnapshot(now: Self.now)
        s.doctorFindings = [.fail: 2]
        #expect(lines(s, "guard_hooks_doctor_findings") == Severity.allCases.map {
            #"guard_hooks_doctor_findings{severity="\#($0.rawValue)"} \#($0 == .fail ? 2 : 0)"#
        })
        s.doctorFindings = [:]
        #expect(lines(s, "guard_hooks_doctor_findings").count == Severity.allCases.count)
        #expect(lines(s, "guard_hooks_doctor_findings").allSatisfy { $0.hasSuffix("} 0") })
    }

    @Test(arguments: [
        ([Severity.ok: 3, .warn: 1], [#"guard_hooks_doctor_findings{severity="ok"} 3"#, #"guard_hooks_doctor_findings{severity="info"} 0"#,
                                      #"guard_hooks_doctor_findings{severity="warn"} 1"#, #"guard_hooks_doctor_findings{severity="fail"} 0"#]),
        ([.ok: 1, .info: 2, .warn: 4, .fail: 1], [#"guard_hooks_doctor_findings{severity="ok"} 1"#, #"guard_hooks_doctor_findings{severity="info"} 2"#,
                                                  #"guard_hooks_doctor_findings{severity="warn"} 4"#, #"guard_hooks_doctor_findings{severity="fail"} 1"#]),
    ] as [([Severity: Int], [String])])
    func findingCounts(_ counts: [Severity: Int], _ expected: [String]) {
        var s = MetricsSnapshot(now: Self.now)
        s.doctorFindings = counts
        #expect(Set(lines(s, "guard_hooks_doctor_findings")) == Set(expected))
    }

    /// Doctor could not run (the store cannot be read): no count, rather than a false all-clear;
    /// the family is still declared.
    @Test func noDoctorNoCounts() {
        let s = MetricsSnapshot(storeUp: false, now: Self.now)
        #expect(lines(s, "guard_hooks_doctor_findings").isEmpty)
        #expect(PrometheusText.render(s).contains("# TYPE guard_hooks_doctor_findings gauge\n"))
        #expect(PrometheusText.render(s).contains("# TYPE guard_hooks_seal_missing gauge\n"))
    }

    @Test func sealMissingPerConfiguredPathSortedAndEscaped() {
        var s = MetricsSnapshot(now: Self.now)
        #expect(lines(s, "guard_hooks_seal_missing").isEmpty, "no seal configured: no series")
        s.sealMissing = ["/mnt/storage": true, "/mnt/backup": false, "/mnt/a\"b": true]
        #expect(lines(s, "guard_hooks_seal_missing") == [
            #"guard_hooks_seal_missing{mountpoint="/mnt/a\"b"} 1"#,
            #"guard_hooks_seal_missing{mountpoint="/mnt/backup"} 0"#,
            #"guard_hooks_seal_missing{mountpoint="/mnt/storage"} 1"#,
        ])
    }
}
