// Test helper for GuardStoreTests: a separate PROCESS driving our store, so the tests can
// check what threads cannot show (two writers with their own connections and locks, and a
// reader without write permission).
//
//   guard-store-stress cycle DB WORKER COUNT PATH...   COUNT transitions on the shared PATHs
//       (with GUARD_STORE_STRESS_GO=FILE set, the store is opened at once but the first
//       transition waits until FILE exists, so that several workers start together)
//   guard-store-stress race DB COUNT                   record intents for /mnt/r0…/mnt/rCOUNT-1
//       without looking first; prints how many were recorded and how many were refused
//   guard-store-stress read-as-nobody DB               query a store as uid/gid 65534, try a write
//   guard-store-stress handoff DB ROLE COUNT           COUNT commands as hook-runner runs them, one
//       connection each: take DB.lock (flock), open, work, release the lock, then close (as the
//       last connection, the close checkpoints). ROLE `writer` records and clears a few guards
//       (the file grows), `reader` opens read-only and queries. Prints "ok COUNT" or fails at the
//       first error, naming the step
import GuardStore
import Glibc

func fail(_ message: String) -> Never {
    let line = Array("guard-store-stress: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

/// With GUARD_STORE_STRESS_GO=FILE, waits until FILE exists, so that workers start together.
func waitForGo() {
    guard let go = getenv("GUARD_STORE_STRESS_GO").map({ String(cString: $0) }) else { return }
    var waited = 0
    while access(go, F_OK) != 0 {
        guard waited < 10_000 else { fail("no go signal at \(go) after 10 s") }
        usleep(1000)
        waited += 1
    }
}

let args = CommandLine.arguments
guard args.count >= 3 else { fail("usage: cycle DB WORKER COUNT PATH... | race DB COUNT | read-as-nobody DB | handoff DB ROLE COUNT") }
let actor = Actor("stress \(getpid())")

switch args[1] {
case "cycle":
    guard args.count >= 6, let worker = Int(args[3]), let count = Int(args[4]) else { fail("bad cycle arguments") }
    let paths = Array(args[5...])
    do {
        let store = try GuardStore.open(path: args[2], mode: .readWrite)
        waitForGo()
        for i in 0..<count {
            let path = paths[(i + worker) % paths.count]
            // Read and change in one BEGIN IMMEDIATE transaction, so the step is decided on the
            // state no other process can change before it commits.
            try store.writeTransaction {
                let intent = GuardIntent(path: path, kind: .bind, lifetime: .transient, bootID: "stress",
                                         reason: "worker \(worker) step \(i)")
                guard let current = try store.currentGuard(path: path) else {
                    try store.recordIntents([intent], runID: nil, actor: actor)
                    return
                }
                let next: GuardStatus
                switch current.status {
                case .applying: next = i % 7 == 0 ? .failed : .applied
                case .failed:
                    try store.recordIntents([intent], runID: nil, actor: actor)  // retry
                    return
                case .applied: next = i % 5 == 0 ? .clearDeferred : .clearing
                case .clearDeferred: next = .clearing
                default: next = .cleared
                }
                try store.settle([GuardTransition(guardID: current.id, to: next, reason: "worker \(worker) step \(i)")],
                                 runID: nil, actor: actor)
            }
            // The engine touches the kernel between transactions; without such a gap one writer
            // can hold on to the lock for the whole run (SQLite's lock is not fair) and the
            // workers would never actually interleave.
            usleep(300)
        }
        print("ok \(count)")
    } catch {
        fail("\(error)")
    }

case "race":
    guard args.count == 4, let count = Int(args[3]) else { fail("bad race arguments") }
    do {
        let store = try GuardStore.open(path: args[2], mode: .readWrite)
        waitForGo()
        var recorded = 0, refused = 0
        for i in 0..<count {
            do {
                try store.recordIntents([GuardIntent(path: "/mnt/r\(i)", kind: .immutable, lifetime: .persistent,
                                                     bootID: "stress")], runID: nil, actor: actor)
                recorded += 1
            } catch StoreError.duplicateOutstanding {
                refused += 1
            }
            usleep(300)
        }
        print("recorded \(recorded) refused \(refused)")
    } catch {
        fail("\(error)")
    }

case "read-as-nobody":
    guard setgroups(0, nil) == 0, setgid(65534) == 0, setuid(65534) == 0 else { fail("cannot drop to uid 65534") }
    do {
        let store = try GuardStore.open(path: args[2], mode: .readOnly)
        print("outstanding \(try store.outstandingGuards().count)")
        do {
            try store.database.execute("INSERT INTO runs (phase, dry_run, started_at, actor) VALUES ('x', 0, 0, 'x')")
            fail("a raw write through a read-only handle succeeded")
        } catch let error as DatabaseError {
            print("raw write refused \(error.primaryCode)")
        }
        do {
            _ = try store.beginRun(phase: "x", targets: [], dryRun: false, actor: actor)
            fail("beginRun on a read-only store succeeded")
        } catch StoreError.readOnly {
            print("store write refused")
        }
    } catch {
        fail("\(error)")
    }

case "handoff":
    guard args.count == 5, let count = Int(args[4]), ["writer", "reader"].contains(args[3]) else { fail("bad handoff arguments") }
    let path = args[2], writer = args[3] == "writer"
    let lock = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard lock >= 0 else { fail("cannot open the lock: errno \(errno)") }
    waitForGo()
    for i in 0..<count {
        guard flock(lock, LOCK_EX) == 0 else { fail("flock: errno \(errno)") }
        let store: GuardStore
        do { store = try GuardStore.open(path: path, mode: writer ? .readWrite : .readOnly, create: writer) } catch {
            fail("step \(i): open: \(error)")
        }
        do {
            if writer {
                // New pages every step, so the checkpoint at close extends the file.
                let paths = (0..<8).map { "/mnt/h\(getpid())-\(i)-\($0)-" + String(repeating: "x", count: 200) }
                let recorded = try store.recordIntents(paths.map {
                    GuardIntent(path: $0, kind: .bind, lifetime: .transient, bootID: "stress")
                }, runID: nil, actor: actor)
                try store.settle(recorded.map { GuardTransition(guardID: $0.id, to: .failed) }, runID: nil, actor: actor)
            } else {
                _ = try store.outstandingGuards()
            }
        } catch {
            fail("step \(i): \(writer ? "write" : "read"): \(error)")
        }
        // hook-runner's order: the lock goes when the command ends, the connection after it.
        _ = flock(lock, LOCK_UN)
        store.close()
    }
    print("ok \(count)")

default:
    fail("unknown command \(args[1])")
}
