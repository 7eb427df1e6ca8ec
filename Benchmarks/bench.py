#!/usr/bin/env python3
"""The benchmark driver. Run it through Benchmarks/run, which starts it as PID 1 of a private
mount + PID namespace; it refuses to run anywhere else.

Every workload is a set of commands timed in the same run: each round runs each command
once, in an order rotated from round to round (so no command always goes first), and the
ratio of each round is ours / baseline. The table shows the median of our times, the median
of the baseline's, and the median of the per-round ratios. Peak RSS is measured in separate,
untimed runs under /usr/bin/time -f %M so it does not disturb the timings.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

SANDBOX = "/mnt"
STATE = "/mnt/state"          # stores live here, outside every allowed root
DEVNULL = subprocess.DEVNULL


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(70)


def sh(cmd, **kw):
    """A setup command: must succeed."""
    r = subprocess.run(cmd, shell=isinstance(cmd, str), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        die(f"setup failed ({r.returncode}): {cmd if isinstance(cmd, str) else ' '.join(cmd)[:200]}\n{r.stderr[-2000:]}")
    return r.stdout


class Cmd:
    """One timed command: an argv, or several argvs run one after the other (one sample)."""

    def __init__(self, name, argvs, env=None, ok=(0,)):
        self.name, self.argvs, self.env, self.ok = name, argvs, env, ok

    def run(self):
        t0 = time.perf_counter()
        for argv in self.argvs:
            r = subprocess.run(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=subprocess.PIPE, env=self.env)
            if r.returncode not in self.ok:
                die(f"{self.name}: {argv[0]} {' '.join(argv[1:4])} … exited {r.returncode}: "
                    f"{r.stderr.decode(errors='replace')[-1000:]}")
        return time.perf_counter() - t0

    def peak_rss_kib(self):
        """Largest peak RSS (KiB) of the argvs, each run once under /usr/bin/time."""
        peak = 0
        for argv in self.argvs:
            r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", "/mnt/state/rss"] + argv, stdin=DEVNULL,
                               stdout=DEVNULL, stderr=DEVNULL, env=self.env)
            if r.returncode not in self.ok:
                die(f"{self.name} (rss run): exited {r.returncode}")
            with open("/mnt/state/rss") as f:
                peak = max(peak, int(f.read().split()[-1]))
        return peak


class FloorCmd(Cmd):
    """A command whose sample is the time its helpers report for their measured part."""

    def __init__(self, name, argvs):
        super().__init__(name, argvs)

    def run(self):
        total = 0.0
        for argv in self.argvs:
            r = subprocess.run(argv, stdin=DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if r.returncode != 0:
                die(f"{self.name}: {' '.join(argv[:3])} exited {r.returncode}: {r.stderr.decode(errors='replace')[-1000:]}")
            total += float(r.stdout)
        return total


def alternate(cmds, rounds, between=None):
    """Runs every command once per round, rotating the order; returns {name: [seconds]}."""
    samples = {c.name: [] for c in cmds}
    for r in range(rounds):
        order = cmds[r % len(cmds):] + cmds[:r % len(cmds)]
        for c in order:
            samples[c.name].append(c.run())
            if between:
                between()
    return samples


def median(xs):
    return statistics.median(xs)


def ratios(a, b):
    return [x / y for x, y in zip(a, b)]


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = args.bin
        self.smoke = args.smoke
        self.rounds = args.rounds or (1 if args.smoke else 9)
        self.rows = []       # table rows
        self.raw = {}        # workload -> samples
        self.rss = {}        # workload -> KiB of our command
        self.notes = []

    # -- environment ------------------------------------------------------------------

    def env(self, db, roots, hooks_dir=None):
        e = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
             "GUARD_HOOKS_DB": db, "GUARD_HOOKS_ALLOW_ROOTS": roots}
        if hooks_dir:
            e["GUARD_HOOKS_DIR"] = hooks_dir
        return e

    def targets(self, root, n):
        os.makedirs(root, exist_ok=True)
        paths = [f"{root}/t{i:05d}" for i in range(1, n + 1)]
        for p in paths:
            os.mkdir(p)
        return paths

    def row(self, workload, ours, base, ratio, goal, met, detail=""):
        self.rows.append(dict(workload=workload, ours=ours, base=base, ratio=ratio, goal=goal, met=met,
                              detail=detail))

    @staticmethod
    def ms(s):
        return f"{s * 1000:.1f} ms"

    # -- workloads ----------------------------------------------------------------------

    def w1_immutable(self):
        n = 20 if self.smoke else 1000
        root = "/mnt/w1"
        t = self.targets(root, n)
        env = self.env(f"{STATE}/w1.db", root)
        ours = Cmd("hook-runner apply --kind immutable + clear",
                   [[self.bin, "apply", "--kind", "immutable"] + t, [self.bin, "clear"] + t], env)
        one = Cmd("chattr +i … ; chattr -i … (one process each)", [["chattr", "+i"] + t, ["chattr", "-i"] + t], env)
        loop = Cmd("per-target chattr loop", [["bash", "-c", 'for t; do chattr +i "$t"; done; for t; do chattr -i "$t"; done',
                                               "loop"] + t], env)
        self.verify_immutable(ours, t, env)
        db = f"{STATE}/w1-floor.db"   # made by hook-runner: the same schema
        subprocess.run([self.bin, "apply", "/mnt/w1/missing"], env=dict(env, GUARD_HOOKS_DB=db),
                       stdout=DEVNULL, stderr=DEVNULL)
        floor = self.floor_cmd("store floor", ["store-apply", "store-clear"], t, db)
        s = alternate([ours, one, loop, floor], self.rounds)
        self.raw["1-immutable"] = s
        self.rss["1 immutable apply+clear"] = ours.peak_rss_kib()
        r1 = median(ratios(s[ours.name], s[one.name]))
        self.row(f"1. immutable, {n} targets: apply+clear vs chattr +i/-i (1 process each)",
                 median(s[ours.name]), median(s[one.name]), r1, "≤ 2.0×", r1 <= 2.0)
        r2 = median(ratios(s[loop.name], s[ours.name]))
        self.row(f"1. immutable, {n} targets: vs per-target chattr loop",
                 median(s[ours.name]), median(s[loop.name]), r2, "≥ 20× faster", r2 >= 20, "ratio = loop / ours")
        fl = median(ratios([a + b for a, b in zip(s[floor.name], s[one.name])], s[one.name]))
        self.row(f"1. floor: chattr + the store's writes alone (in-process, same rows and transactions, "
                 f"synchronous=FULL), vs chattr", median(s[floor.name]) + median(s[one.name]), median(s[one.name]), fl,
                 "(lower bound of row 1)", None, f"the writes alone: {self.ms(median(s[floor.name]))}")
        self.check_store(f"{STATE}/w1.db", n * (self.rounds + 2))

    def floor_cmd(self, name, modes, t, db=None):
        """An in-process floor (Benchmarks/floor.py), one helper process per mode."""
        with open(f"{STATE}/{name}.paths", "w") as f:
            f.write("\n".join(t))
        helper = os.path.join(self.args.repo, "Benchmarks", "floor.py")
        argvs = [[sys.executable, helper, m] + ([db] if db else []) + [f"{STATE}/{name}.paths"] for m in modes]
        return FloorCmd(name, argvs)

    def verify_immutable(self, ours, t, env):
        """Once, untimed: apply really sets the flag, clear really removes it, and no write lands."""
        subprocess.run(ours.argvs[0], stdout=DEVNULL, env=env, check=True)
        for p in (t[0], t[-1]):
            if "i" not in sh(["lsattr", "-d", p]).split()[0]:
                die(f"{p}: not immutable after apply")
            if subprocess.run(["touch", f"{p}/x"], stderr=DEVNULL).returncode == 0:
                die(f"{p}: writable after apply")
        subprocess.run(ours.argvs[1], stdout=DEVNULL, env=env, check=True)
        if "i" in sh(["lsattr", "-d", t[0]]).split()[0]:
            die(f"{t[0]}: still immutable after clear")

    def check_store(self, db, expected_cleared):
        got = int(sh(["sqlite3", db, "select count(*) from guards where state = 'cleared'"]).strip())
        left = int(sh(["sqlite3", db, "select count(*) from guards where state <> 'cleared'"]).strip())
        events = int(sh(["sqlite3", db, "select count(*) from events"]).strip())
        if got != expected_cleared or left != 0 or events < 4 * expected_cleared:
            die(f"{db}: expected {expected_cleared} cleared guards with 4 events each, none outstanding; "
                f"found {got} cleared, {left} outstanding, {events} events")

    def w2_bind(self):
        n = 20 if self.smoke else 1000
        root = "/mnt/w2"
        t = self.targets(root, n)
        env = self.env(f"{STATE}/w2.db", root)
        ours = Cmd("hook-runner apply --kind bind + clear",
                   [[self.bin, "apply", "--kind", "bind"] + t, [self.bin, "clear"] + t], env)
        loop = Cmd("mount --bind; mount -o remount,bind,ro; umount per target",
                   [["bash", "-c", 'for t; do mount --bind "$t" "$t" && mount -o remount,bind,ro "$t" "$t"; done; '
                     'for t; do umount "$t"; done', "loop"] + t], env)
        # Once, untimed: the guard is a read-only mount, and clear removes it.
        subprocess.run(ours.argvs[0], stdout=DEVNULL, env=env, check=True)
        opts = sh(["findmnt", "-n", "-o", "OPTIONS", "--mountpoint", t[-1]]).strip()
        if not opts.startswith("ro"):
            die(f"{t[-1]}: bind guard not read-only ({opts!r})")
        subprocess.run(ours.argvs[1], stdout=DEVNULL, env=env, check=True)
        if subprocess.run(["findmnt", "--mountpoint", t[-1]], stdout=DEVNULL).returncode == 0:
            die(f"{t[-1]}: bind guard still mounted after clear")
        floor = self.floor_cmd("bind floor", ["bind"], t)
        s = alternate([ours, loop, floor], self.rounds)
        self.raw["2-bind"] = s
        self.rss["2 bind apply+clear"] = ours.peak_rss_kib()
        r = median(ratios(s[loop.name], s[ours.name]))
        self.row(f"2. bind, {n} targets: apply+clear vs mount/remount/umount loop",
                 median(s[ours.name]), median(s[loop.name]), r, "≥ 20× faster", r >= 20, "ratio = loop / ours")
        rf = median(ratios(s[loop.name], s[floor.name]))
        self.row(f"2. floor: the bare syscalls (bind, remount ro, umount2) in one process, vs the loop",
                 median(s[floor.name]), median(s[loop.name]), rf, "(upper bound of row 2's ratio)", None,
                 "ratio = loop / syscalls")
        self.check_store(f"{STATE}/w2.db", n * (self.rounds + 2))

    def w3_growth(self):
        small, large = (20, 200) if self.smoke else (1000, 10000)
        cmds = []
        for n in (small, large):
            root = f"/mnt/w3-{n}"
            t = self.targets(root, n)
            env = self.env(f"{STATE}/w3-{n}.db", root)
            cmds.append(Cmd(f"N={n}", [[self.bin, "apply", "--kind", "immutable"] + t, [self.bin, "clear"] + t], env))
        # Argument parsing alone: `clear --all T…` parses every target, then fails validation
        # (exit 64) before the store or the kernel is touched.
        for n, c in zip((small, large), list(cmds)):
            cmds.append(Cmd(f"parse N={n}", [[self.bin, "clear", "--all"] + c.argvs[1][2:]], c.env, ok=(64,)))
        s = alternate(cmds, self.rounds)
        self.raw["3-growth"] = s
        self.rss[f"3 growth N={large}"] = cmds[1].peak_rss_kib()
        per_small = [x / small for x in s[cmds[0].name]]
        per_large = [x / large for x in s[cmds[1].name]]
        r = median(ratios(per_large, per_small))
        self.row(f"3. growth: time per immutable guard (apply+clear), N={large} vs N={small}",
                 median(per_large), median(per_small), r, "≤ 1.2×", r <= 1.2,
                 f"per guard; totals {self.ms(median(s[cmds[1].name]))} vs {self.ms(median(s[cmds[0].name]))}")
        pr = median(ratios([x / large for x in s[cmds[3].name]], [x / small for x in s[cmds[2].name]]))
        self.row(f"3. (finding) argument parsing alone, per target, N={large} vs N={small} "
                 "(clear --all T… exits 64 after parsing)", median(s[cmds[3].name]) / large,
                 median(s[cmds[2].name]) / small, pr, "—", None,
                 f"totals {self.ms(median(s[cmds[3].name]))} vs {self.ms(median(s[cmds[2].name]))}")

    def w4_hooks(self):
        n = 5 if self.smoke else 50
        d = "/mnt/w4/hooks.d"
        os.makedirs(d, mode=0o755)
        for i in range(n):
            p = f"{d}/{i:02d}-trivial"
            with open(p, "w") as f:
                f.write("#!/bin/sh\n# phases: bench\nexit 0\n")
            os.chmod(p, 0o755)
        env = self.env(f"{STATE}/w4.db", "/mnt/w4", d)
        ours = Cmd("hook-runner run bench", [[self.bin, "run", "bench", "--hooks-dir", d]], env)
        base = Cmd("run-parts --arg bench", [["run-parts", "--arg", "bench", d]], env)
        s = alternate([ours, base], self.rounds * (3 if not self.smoke else 1))
        self.raw["4-hooks"] = s
        self.rss[f"4 run {n} hooks"] = ours.peak_rss_kib()
        r = median(ratios(s[ours.name], s[base.name]))
        self.row(f"4. run PHASE over {n} trivial hooks vs run-parts", median(s[ours.name]), median(s[base.name]),
                 r, "≤ 1.25×", r <= 1.25)
        floor = self.args.spawn_floor
        if floor:
            # What the bare library calls cost for the same hooks (Benchmarks/spawn-floor):
            # Subprocess.run per hook, and posix_spawn + waitpid per hook.
            hooks = sorted(f"{d}/{f}" for f in os.listdir(d))
            sub = Cmd("spawn-floor subprocess", [[floor, "subprocess", "bench"] + hooks], env)
            posix = Cmd("spawn-floor posix", [[floor, "posix", "bench"] + hooks], env)
            f = alternate([ours, base, sub, posix], self.rounds * 3)
            self.raw["4-spawn-floor"] = f
            self.row(f"4. floor: the same {n} hooks through Subprocess.run alone (no store, no capture), vs run-parts",
                     median(f[sub.name]), median(f[base.name]), median(ratios(f[sub.name], f[base.name])),
                     "(lower bound of row 4 with swift-subprocess)", None,
                     f"hook-runner in the same rounds: {self.ms(median(f[ours.name]))}")
            self.row(f"4. floor: the same {n} hooks through posix_spawn + waitpid in Swift, vs run-parts",
                     median(f[posix.name]), median(f[base.name]), median(ratios(f[posix.name], f[base.name])),
                     "(lower bound of row 4 without it)", None)
        runs = int(sh(["sqlite3", f"{STATE}/w4.db", "select count(*) from runs"]).strip())
        results = int(sh(["sqlite3", f"{STATE}/w4.db", "select count(*) from hook_results where outcome = 'ok'"]).strip())
        if results != runs * n:
            die(f"w4: {runs} runs recorded {results} ok results, expected {runs * n}")

    def w5_queries(self):
        guards, events = (100, 10_000) if self.smoke else (10_000, 1_000_000)
        root = "/mnt/w5"
        db = f"{STATE}/w5.db"
        t = self.targets(root, 3)
        env = self.env(db, root)
        # The real hook-runner makes the store (schema, application_id, user_version) and a few
        # real guards; the bulk comes from the sqlite3 shell in one transaction.
        sh([self.bin, "apply", "--kind", "immutable"] + t, env=env)
        sh([self.bin, "clear", t[0]], env=env)
        t0 = time.perf_counter()
        per = events // guards
        sh(["sqlite3", db, f"""
            BEGIN;
            WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {guards})
            INSERT INTO guards (path, kind, lifetime, state, pending_action, reason, device, inode, mount_ns,
                                boot_id, label, run_id, created_at, updated_at)
            SELECT printf('{root}/bulk/p%05d', i), CASE i % 2 WHEN 0 THEN 'bind' ELSE 'immutable' END,
                   'transient', 'applied', NULL, 'read-only bind', 2049, 1000000 + i, 4026531840,
                   'b0000000-0000-4000-8000-000000000000', 'bulk', NULL,
                   1763700000000 + i, 1763700000000 + i FROM g;
            WITH RECURSIVE e(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM e WHERE k < {guards * per - 1})
            INSERT INTO events (guard_id, from_state, from_action, to_state, to_action, reason, at, run_id, actor)
            -- s = 0: (none) -> pending(applying); odd: pending(...) -> applied;
            -- even: applied -> pending(clear-deferred). Each guard ends applied.
            SELECT gid, CASE WHEN s = 0 THEN NULL WHEN s % 2 = 1 THEN 'pending' ELSE 'applied' END,
                        CASE WHEN s = 1 THEN 'applying' WHEN s % 2 = 1 THEN 'clear-deferred' END,
                        CASE WHEN s % 2 = 0 THEN 'pending' ELSE 'applied' END,
                        CASE WHEN s = 0 THEN 'applying' WHEN s % 2 = 0 THEN 'clear-deferred' END,
                        'bulk', 1763700000000 + k, NULL, 'bench (uid 0)'
            FROM (SELECT k, (SELECT min(id) FROM guards WHERE label = 'bulk') + k / {per} AS gid, k % {per} AS s FROM e);
            COMMIT;
            PRAGMA wal_checkpoint(TRUNCATE);
            """])
        build = time.perf_counter() - t0
        outstanding = int(sh(["sqlite3", db, "select count(*) from guards where state <> 'cleared'"]).strip())
        nev = int(sh(["sqlite3", db, "select count(*) from events"]).strip())
        self.notes.append(f"w5 store: {outstanding} outstanding guards, {nev} events, "
                          f"{os.path.getsize(db) / 2**20:.0f} MiB, built in {build:.1f} s")
        cols = ("id, path, kind, lifetime, state, pending_action, reason, device, inode, mount_id, mount_id_unique, "
                "mount_ns, boot_id, label, run_id, created_at, updated_at")
        ours = Cmd("hook-runner guards --outstanding --json", [[self.bin, "guards", "--outstanding", "--json"]], env)
        base = Cmd("sqlite3 -json SELECT …", [["sqlite3", "-json", db,
                   f"select {cols} from guards where state <> 'cleared' order by path"]], env)
        # Same rows? (count the objects each prints)
        out = subprocess.run(ours.argvs[0], stdout=subprocess.PIPE, env=env, check=True).stdout
        if len(json.loads(out)["guards"]) != outstanding:
            die("w5: hook-runner guards --outstanding --json does not list every outstanding guard")
        s = alternate([ours, base], self.rounds * (3 if not self.smoke else 1))
        self.raw["5-guards"] = s
        self.rss["5 guards --outstanding --json"] = ours.peak_rss_kib()
        r = median(ratios(s[ours.name], s[base.name]))
        self.row(f"5. guards --outstanding --json ({outstanding} outstanding, {nev} events) vs sqlite3 -json",
                 median(s[ours.name]), median(s[base.name]), r, "≤ 1.5×", r <= 1.5)
        path = f"{root}/bulk/p{guards // 2:05d}"
        hist = Cmd("hook-runner history PATH", [[self.bin, "history", path]], env)
        hbase = Cmd("sqlite3 history SELECT", [["sqlite3", db,
                    "select e.* from events e join guards g on g.id = e.guard_id "
                    f"where g.path = '{path}' order by e.id"]], env)
        s = alternate([hist, hbase], self.rounds * (3 if not self.smoke else 1))
        self.raw["5-history"] = s
        self.rss["5 history PATH"] = hist.peak_rss_kib()
        m = median(s[hist.name])
        self.row(f"5. history PATH ({per} events of {nev}) — absolute; sqlite3 shell for reference",
                 m, median(s[hbase.name]), median(ratios(s[hist.name], s[hbase.name])), "< 20 ms", m < 0.020)

        # Regression check, not a goal: writing commands once ran PRAGMA quick_check (a scan of
        # the whole file) before their first write, so their cost grew with the store. ≈1× now.
        one = t[0]          # cleared above: a fresh guard each time
        big = Cmd("apply+clear 1 target, big store", [[self.bin, "apply", "--kind", "immutable", one],
                                                      [self.bin, "clear", one]], env)
        small_env = self.env(f"{STATE}/w5-small.db", root)
        small = Cmd("apply+clear 1 target, small store", [[self.bin, "apply", "--kind", "immutable", one],
                                                          [self.bin, "clear", one]], small_env)
        qc = Cmd("sqlite3 PRAGMA quick_check", [["sqlite3", db, "PRAGMA quick_check"]], env)
        # Regression check: the runner keeps one connection for the run (it once reopened and
        # re-checked the store for every hook result, so the cost grew with the store).
        hd = "/mnt/w5/hooks.d"
        os.makedirs(hd, mode=0o755)
        for i in range(5):
            with open(f"{hd}/{i:02d}-trivial", "w") as f:
                f.write("#!/bin/sh\n# phases: bench\nexit 0\n")
            os.chmod(f"{hd}/{i:02d}-trivial", 0o755)
        runbig = Cmd("run 5 hooks, big store", [[self.bin, "run", "bench", "--hooks-dir", hd]], env)
        runsmall = Cmd("run 5 hooks, small store", [[self.bin, "run", "bench", "--hooks-dir", hd]], small_env)
        s = alternate([big, small, qc, runbig, runsmall], self.rounds)
        self.raw["5-write-on-big-store"] = s
        self.row(f"5. (finding) apply+clear of 1 target on this store vs on a small one",
                 median(s[big.name]), median(s[small.name]), median(ratios(s[big.name], s[small.name])), "—", None,
                 f"sqlite3 PRAGMA quick_check of this store alone: {self.ms(median(s[qc.name]))}")
        self.row(f"5. (finding) run over 5 trivial hooks on this store vs on a small one",
                 median(s[runbig.name]), median(s[runsmall.name]), median(ratios(s[runbig.name], s[runsmall.name])),
                 "—", None, "one store connection per run: ≈1× means the store's size does not matter")

    def w6_footprint(self):
        db = f"{STATE}/w6.db"
        env = self.env(db, "/mnt/w6")
        os.makedirs("/mnt/w6", exist_ok=True)
        # An empty store made by the real hook-runner: apply on a missing target is refused
        # (exit 65) after the store is created, so the store holds the schema and no guard.
        subprocess.run([self.bin, "apply", "/mnt/w6/missing"], env=env, stdout=DEVNULL, stderr=DEVNULL)
        if int(sh(["sqlite3", db, "select count(*) from guards"]).strip()) != 0:
            die("w6: store not empty")
        ours = Cmd("hook-runner guards (empty store)", [[self.bin, "guards"]], env)
        base = Cmd("sqlite3 select count(*) (reference)", [["sqlite3", db, "select count(*) from guards"]], env)
        s = alternate([ours, base], self.rounds * (5 if not self.smoke else 1))
        self.raw["6-startup"] = s
        m = median(s[ours.name])
        self.row("6. startup: guards on an empty store — absolute; sqlite3 shell for reference",
                 m, median(s[base.name]), median(ratios(s[ours.name], s[base.name])), "< 15 ms", m < 0.015)
        peak = max(self.rss.values())
        worst = max(self.rss, key=self.rss.get)
        self.row("6. peak RSS in workloads 1–5 (max; /usr/bin/time %M)", peak, None, None, "≤ 25 MiB",
                 peak <= 25 * 1024, f"largest: {worst}; " + ", ".join(f"{k} {v / 1024:.1f}" for k, v in self.rss.items()))
        # A hook that prints 1 GiB (smoke: 1 MiB) in lines.
        size = (1 << 20) if self.smoke else (1 << 30)
        d = "/mnt/w6/hooks.d"
        os.makedirs(d, mode=0o755)
        with open(f"{d}/loud", "w") as f:
            f.write(f"#!/bin/sh\n# phases: loud\nyes 'guard-hooks benchmark output line, 64 bytes long........' | head -c {size}\n")
        os.chmod(f"{d}/loud", 0o755)
        loud = Cmd("hook-runner run loud", [[self.bin, "run", "loud", "--hooks-dir", d]], env)
        t0 = time.perf_counter()
        kib = loud.peak_rss_kib()
        took = time.perf_counter() - t0
        self.row(f"6. peak RSS of run over a hook printing {size >> 20} MiB", kib, None, None, "≤ 64 MiB",
                 kib <= 64 * 1024, f"took {took:.1f} s ({size / took / 2**20:.0f} MiB/s)")
        tail = sh(["sqlite3", db, "select length(output_tail) from hook_results order by id desc limit 1"]).strip()
        self.notes.append(f"w6 loud hook: stored output tail {tail} bytes")

    def w0_compare(self):
        """--compare OLD: the same commands with an older hook-runner and this one, alternating
        (for before/after figures of a source change). Not part of the goals table."""
        old = self.args.compare
        n = 20 if self.smoke else 1000
        cmds = []
        for tag, b in (("old", old), ("new", self.bin)):
            root = f"/mnt/w0-{tag}"
            t = self.targets(root, n)
            env = self.env(f"{STATE}/w0-{tag}.db", root)
            cmds.append(Cmd(f"{tag}: immutable apply+clear {n}",
                            [[b, "apply", "--kind", "immutable"] + t, [b, "clear"] + t], env))
            d = f"/mnt/w0-{tag}/hooks.d"
            os.makedirs(d, mode=0o755)
            for i in range(50):
                with open(f"{d}/{i:02d}-trivial", "w") as f:
                    f.write("#!/bin/sh\n# phases: bench\nexit 0\n")
                os.chmod(f"{d}/{i:02d}-trivial", 0o755)
            cmds.append(Cmd(f"{tag}: run 50 hooks", [[b, "run", "bench", "--hooks-dir", d]], env))
            cmds.append(Cmd(f"{tag}: guards (startup)", [[b, "guards"]], env))
        s = alternate(cmds, self.rounds)
        self.raw["0-compare"] = s
        for k in range(3):
            o, nw = cmds[k], cmds[3 + k]
            r = median(ratios(s[nw.name], s[o.name]))
            self.row(f"0. compare: {nw.name[5:]}: new vs old", median(s[nw.name]), median(s[o.name]), r, "—", None,
                     "baseline column = old binary")

    # -- report -------------------------------------------------------------------------

    def machine(self):
        def first(cmd):
            try:
                return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      shell=True).stdout.strip().splitlines()[0]
            except Exception:
                return "?"
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        return {
            "nproc": str(os.cpu_count()),
            "cpu": cpu,
            "kernel": platform.release(),
            "swift": first("swift --version 2>&1 | grep -i 'swift version'"),
            "sqlite3": first("sqlite3 --version").split()[0],
            "e2fsprogs": first("chattr -V 2>&1"),
            "run-parts": first("run-parts --version"),
            "commit": first(f"git -C {self.args.repo} rev-parse --short HEAD 2>/dev/null; echo ?")
                      + (" (dirty)" if subprocess.run(["git", "-C", self.args.repo, "status", "--porcelain", "-uno"],
                                                      stdout=subprocess.PIPE, stderr=DEVNULL).stdout.strip() else ""),
            "build": ("release" if "/release/" in os.path.realpath(self.bin) else "debug")
                     + (", static Swift runtime" if "libswiftCore" not in sh(["ldd", self.bin]) else ""),
        }

    def fmt(self, v, rss=False):
        if v is None:
            return "—"
        if rss:
            return f"{v / 1024:.1f} MiB"
        if v < 0.001:
            return f"{v * 1e6:.1f} µs"
        return self.ms(v)

    def report(self):
        m = self.machine()
        print()
        print(f"Machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}, {m['swift']}, sqlite3 {m['sqlite3']}")
        print(f"hook-runner: {self.bin} ({m['build']} build, commit {m['commit']}); rounds: {self.rounds}"
              f"{' (SMOKE: tiny N, numbers mean nothing)' if self.smoke else ''}")
        print()
        print("| workload | ours (median) | baseline (median) | ratio (median of rounds) | goal | met |")
        print("|---|---|---|---|---|---|")
        for r in self.rows:
            rss = "RSS" in r["workload"]
            ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×"
            detail = f" ({r['detail']})" if r["detail"] else ""
            print(f"| {r['workload']}{detail} | {self.fmt(r['ours'], rss)} | {self.fmt(r['base'], rss)} | {ratio} "
                  f"| {r['goal']} | {'—' if r['met'] is None else 'yes' if r['met'] else 'NO'} |")
        for n in self.notes:
            print(f"- {n}")
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump({"machine": m, "rounds": self.rounds, "smoke": self.smoke, "rows": self.rows,
                           "samples": self.raw, "rss_kib": self.rss, "notes": self.notes}, f, indent=1)


def kill_strays():
    """As PID 1 of the namespace: kill and reap whatever is left (there should be nothing)."""
    me = os.getpid()
    left = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    return left


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--json")
    ap.add_argument("--only", help="comma-separated workload numbers, e.g. 1,3")
    ap.add_argument("--compare", help="an older hook-runner: time it against --bin (workload 0)")
    ap.add_argument("--spawn-floor", help="Benchmarks/spawn-floor binary: the spawn floor rows of workload 4")
    args = ap.parse_args()
    if os.getpid() != 1 or os.geteuid() != 0:
        die("run me through Benchmarks/run (PID 1 of a private namespace, as root)")
    started = time.perf_counter()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=2g", "guardhooks-bench", SANDBOX], check=True)
    os.makedirs(STATE, mode=0o700)
    b = Bench(args)
    steps = [b.w0_compare] if args.compare else []
    steps += [b.w1_immutable, b.w2_bind, b.w3_growth, b.w4_hooks, b.w5_queries, b.w6_footprint]
    only = set(args.only.split(",")) if args.only else None
    try:
        for i, step in enumerate(steps, 0 if args.compare else 1):
            if only and str(i) not in only:
                continue
            t0 = time.perf_counter()
            step()
            print(f"bench: workload {i} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        sys.stderr.flush()
        b.report()
        sys.stdout.flush()
        if args.smoke:
            missing = [r["workload"] for r in b.rows if r["ours"] is None or r["ours"] != r["ours"]]
            expected = 15 if not only else 0
            if missing or len(b.rows) < expected:
                die(f"smoke: workloads without a number: {missing or 'some rows missing'}")
            sys.stderr.flush(); print(f"\nsmoke: all {len(b.rows)} measurements ran and produced a number "
                  f"in {time.perf_counter() - started:.1f} s")
    finally:
        strays = kill_strays()
        if strays:
            print(f"bench: killed {len(strays)} stray processes", file=sys.stderr)
    # The tmpfs and everything in it go away with the namespace.


if __name__ == "__main__":
    main()
