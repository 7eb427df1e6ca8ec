import Foundation
import GuardTestSupport
import Testing
import Glibc

/// `hook-runner metrics` reports doctor's findings and the configured seals not in force,
/// on a real store and real kernel state in the sandbox.
extension AdapterTests {
    @Suite struct MetricsDoctor {
        func sample(_ text: String, _ series: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.map { String($0.dropFirst(series.count + 1)) }
        }

        @Test(sandboxed) func aDoctorFailAndAMissingSealShowUp() throws {
            let dir = try Sandbox.make("metrics-doctor")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let drifted = try dir.mkdir("drifted"), unsealed = try dir.mkdir("unsealed"), sealed = try dir.mkdir("sealed")
            let gone = dir.sub("gone")
            let seals: [String: String?] = ["GUARD_HOOKS_SEAL": "\(unsealed):\(sealed):\(gone)"]
            expectStatus(try cli.run(["seal", sealed], env: seals), 0)

            // Healthy so far: no fail, and the one sealed path is 0; the others are not in force.
            var r = try cli.run(["metrics"], env: seals)
            expectStatus(r, 0)
            #expect(sample(r.stdout, #"guard_hooks_doctor_findings{severity="fail"}"#) == "0", "\(r.stdout)")
            #expect(sample(r.stdout, #"guard_hooks_seal_missing{mountpoint="\#(sealed)"}"#) == "0", "\(r.stdout)")
            #expect(sample(r.stdout, #"guard_hooks_seal_missing{mountpoint="\#(unsealed)"}"#) == "1", "\(r.stdout)")
            #expect(sample(r.stdout, #"guard_hooks_seal_missing{mountpoint="\#(gone)"}"#) == "1", "does not exist: \(r.stdout)")

            // A bind guard unmounted behind the store's back: doctor's `drift` is a fail.
            expectStatus(try cli.run(["apply", "--kind", "bind", drifted]), 0)
            try umount(drifted)
            let doctor = try cli.run(["doctor"], env: seals)
            #expect(doctor.stdout.contains("drift"), "\(doctor.stdout)")
            r = try cli.run(["metrics"], env: seals)
            expectStatus(r, 0)
            #expect(sample(r.stdout, #"guard_hooks_doctor_findings{severity="fail"}"#) == "1", "\(r.stdout)")
            let warns = Int(sample(r.stdout, #"guard_hooks_doctor_findings{severity="warn"}"#) ?? "")
            #expect(warns ?? 0 >= 2, "offline-unsealed and missing are warnings: \(r.stdout)")
            for severity in ["ok", "warn", "fail"] {
                #expect(sample(r.stdout, #"guard_hooks_doctor_findings{severity="\#(severity)"}"#) != nil, "\(severity): \(r.stdout)")
            }

            // Sealing it puts the seal in force: 0 from then on.
            expectStatus(try cli.run(["seal", unsealed], env: seals), 0)
            r = try cli.run(["metrics"], env: seals)
            #expect(sample(r.stdout, #"guard_hooks_seal_missing{mountpoint="\#(unsealed)"}"#) == "0", "\(r.stdout)")
            _ = try cli.run(["unseal", sealed, unsealed], env: seals)
        }
    }
}
