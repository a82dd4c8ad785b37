#!/usr/bin/env python3
"""Driver of bench/cluster-benchmark.sh (issue #4): remoting overhead, bytes per step and recovery time.

1. Step time: the 2x200 LSTM LM of bench/parallel-benchmark.sh trained for --steps steps in one process
   with 2 worker actors, and as 1 coordinator + 2 rnncluster-worker processes on 127.0.0.1; tokens/s
   from each run's metrics.jsonl (mean of the log intervals after the first, the first being warm-up),
   the step split from summary.json's stepTimeSplit (ms per step over the whole run), and the CPU
   time each process used per timed step (/proc/PID/stat), which other load on a shared machine
   hardly changes.
2. Bytes per step: the delta of /sys/class/net/lo/statistics/tx_bytes between the first and the last
   "step N/" line of the cluster run, divided by the steps between them. Loopback counters are
   machine-wide, so the in-process run's loopback rate (none of it ours) is printed as background.
3. Recovery: cluster runs with the default failure detector and training.log-every-steps=1; after
   --kill-after steps one worker gets SIGKILL and every coordinator line is timestamped with the
   monotonic clock as the driver reads it. From the kill to: the data-plane link's "closed without a
   goodbye: the process is gone" (ClusterRunLog 2308: the killed process's kernel reset the
   connection), Akka marking the worker's node UNREACHABLE (the failure detector), "Generation N: 1
   workers" (ParallelLog 2100: the re-plan without it) and the first "step N/" line after that
   generation line (the first step completed without the killed worker).

Standard library only. Every process started here is stopped before the driver returns, on errors
too: each node runs under `setpriv --pdeathsig KILL` where available, so even a driver killed with
SIGKILL takes its nodes with it. Exit status 1 on a failed run, with the tail of the failing node's log.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

LO_TX = "/sys/class/net/lo/statistics/tx_bytes"
TOKENS_PER_STEP = 20 * 35  # batch 20 streams x bptt 35 targets, the benchmark model's settings

# The model and optimizer of bench/parallel-benchmark.sh, dropout included, so the in-process row is
# the same measurement as that script's W=2 row.
MODEL_SETTINGS = [
    "model.layers=2", "model.embedding-size=200", "model.hidden-size=200",
    "model.dropout.embedding=0.2", "model.dropout.between-layers=0.2", "model.dropout.output=0.2",
    "data.batch-size=20", "data.bptt=35", "training.learning-rate=20", "training.clip-norm=0.25",
    "training.schedule=constant", "training.eval-every-steps=0", "checkpoint.every-steps=0",
]

STEP_LINE = re.compile(r"^step (\d+)/")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DETECTOR_KEYS = ("heartbeat-interval", "acceptable-heartbeat-pause", "phi-threshold", "down-unreachable-after")


class BenchFailure(Exception):
    """A run went wrong; carries the node whose log explains it."""

    def __init__(self, message, node=None):
        super().__init__(message)
        self.node = node


class Node:
    """One process with stdout and stderr read line by line on threads, each line stamped with
    time.monotonic() when read: the timestamps are what the recovery figures are made of."""

    registry = []  # every node ever started, so cleanup() can find the living ones

    def __init__(self, name, argv, log_path, env, cwd):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.lines = []  # (monotonic time, "out" | "err", text)
        self.cond = threading.Condition()
        self.open_streams = 2
        self.t0 = time.monotonic()
        self.log = open(log_path, "w", encoding="utf-8")
        self.log.write("$ " + " ".join(argv) + "\n")
        prefix = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        self.proc = subprocess.Popen(prefix + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd)
        Node.registry.append(self)
        for stream, tag in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
            threading.Thread(target=self._read, args=(stream, tag), daemon=True).start()

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def _read(self, stream, tag):
        for raw in iter(stream.readline, b""):
            now = time.monotonic()
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self.cond:
                self.lines.append((now, tag, text))
                self.log.write(f"[{now - self.t0:9.3f} {tag}] {text}\n")
                self.cond.notify_all()
        with self.cond:
            self.open_streams -= 1
            self.cond.notify_all()

    def wait_for(self, predicate, timeout, what, start=0):
        """First line at index >= start that matches: (index, time, text). Fails at once if the
        process has exited and said all it will say, else after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    t, _, text = self.lines[i]
                    if predicate(text):
                        return i, t, text
                    i += 1
                if self.open_streams == 0:
                    code = self.proc.wait()
                    raise BenchFailure(f"{self.name} exited (status {code}) without printing {what}", self)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchFailure(f"{self.name} did not print {what} within {timeout:.0f} s", self)
                self.cond.wait(min(left, 1.0))

    def wait_exit(self, timeout):
        """Exit status, or None if it is still running after timeout seconds."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        with self.cond:  # the readers have the rest of its output
            self.cond.wait_for(lambda: self.open_streams == 0, timeout=5)
        return code

    def signal(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def cpu_seconds(self):
        """User + system CPU time the process has used so far (/proc/PID/stat): unlike wall time, it
        hardly depends on what else runs on the machine, so it shows what remoting costs in CPU."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # after "pid (comm)", which may hold spaces
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def tail(self, n=30):
        with self.cond:
            return [text for _, _, text in self.lines[-n:]]

    def close_log(self):
        with self.cond:
            self.log.close()


def cleanup():
    """SIGKILL every node still running (only processes this driver started, each by its own pid)."""
    for node in Node.registry:
        node.signal(signal.SIGKILL)
    for node in Node.registry:
        try:
            node.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"cluster-benchmark: {node.name} (pid {node.pid}) survived SIGKILL for 10 s", file=sys.stderr)
        if not node.log.closed:
            node.close_log()


def stop(nodes, grace=20):
    """Graceful stop: SIGTERM in the given order (the coordinator first, so it checkpoints while its
    workers are still there), wait, then SIGKILL whatever is left."""
    for node in nodes:
        node.signal(signal.SIGTERM)
        node.wait_exit(grace)
    for node in nodes:
        node.signal(signal.SIGKILL)
        node.wait_exit(10)


def free_port():
    # The OS picks a port that is free now; the coordinator binds it a moment later.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lo_tx():
    with open(LO_TX) as f:
        return int(f.read())


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def sets(settings):
    out = []
    for s in settings:
        out += ["--set", s]
    return out


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.out = os.path.abspath(args.out)
        self.logs = os.path.join(self.out, "logs")
        self.runs = os.path.join(self.out, "runs")
        os.makedirs(self.logs, exist_ok=True)
        os.makedirs(self.runs, exist_ok=True)
        self.env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        t = args.threads
        # Thread budgets: in one process, 2 worker actors get t / 2 intra-op threads each (the trainer
        # splits runtime.threads). Across processes each worker gets the same t / 2, and the coordinator,
        # which computes no windows (only clip + optimizer step), what is left — at least 1, since
        # runtime.threads=0 would mean "all cores" and oversubscribe them.
        self.per_worker = max(1, t // 2)
        self.coordinator_threads = max(1, t - 2 * self.per_worker)

    def coordinator_argv(self, run_dir, steps, port, log_every):
        return ["dotnet", os.path.join(self.bin, "rnncluster.dll"), "train", "--cluster", "--data", self.args.corpus,
                "--run-dir", run_dir, "--plain", "--sample-length", "0", "--max-steps", str(steps)] + sets(
            MODEL_SETTINGS + [f"training.log-every-steps={log_every}", f"runtime.threads={self.coordinator_threads}",
                              f"cluster.port={port}", "cluster.min-workers=2"])

    def worker_argv(self, port):
        return ["dotnet", os.path.join(self.bin, "rnncluster-worker.dll"), "--seed", f"127.0.0.1:{port}",
                "--set", f"runtime.threads={self.per_worker}"]

    def start(self, name, argv):
        return Node(name, argv, os.path.join(self.logs, name + ".log"), self.env, self.out)

    def fresh_run_dir(self, name):
        path = os.path.join(self.runs, name)
        shutil.rmtree(path, ignore_errors=True)  # a cluster coordinator would resume an old run
        return path

    # --- 1. step time, in one process ---
    def in_process(self, i):
        name = f"inprocess-{i}"
        run_dir = self.fresh_run_dir(name)
        argv = ["dotnet", os.path.join(self.bin, "rnncluster.dll"), "train", "--data", self.args.corpus,
                "--run-dir", run_dir, "--plain", "--sample-length", "0", "--max-steps", str(self.args.steps),
                "--workers", "2"] + sets(MODEL_SETTINGS + [f"training.log-every-steps={self.args.log_every}",
                                                          f"runtime.threads={self.args.threads}"])
        print(f"running {name} ...", file=sys.stderr)
        node = self.start(name, argv)
        try:
            # Loopback traffic while nothing of ours uses it: the background the cluster figure carries.
            node.wait_for(lambda l: l.startswith(f"step {self.args.log_every}/"), self.args.timeout, "its first step line")
            t1, b1, c1 = time.monotonic(), lo_tx(), node.cpu_seconds()
            node.wait_for(lambda l: l.startswith(f"step {self.args.steps}/"), self.args.timeout, "its last step line")
            t2, b2, c2 = time.monotonic(), lo_tx(), node.cpu_seconds()
            code = node.wait_exit(self.args.timeout)
            if code != 0:
                raise BenchFailure(f"{name} exited with status {code}", node)
        finally:
            stop([node])
            node.close_log()
        result = self.read_run(run_dir, node)
        result["backgroundLoopbackBytesPerSecond"] = (b2 - b1) / (t2 - t1)
        result["cpuMsPerStep"] = {"process": 1000 * (c2 - c1) / (self.args.steps - self.args.log_every)}
        return result

    # --- 1 + 2. step time and bytes, across processes ---
    def cluster(self, i):
        name = f"cluster-{i}"
        run_dir = self.fresh_run_dir(name)
        port = free_port()
        steps, every = self.args.steps, self.args.log_every
        print(f"running {name} (coordinator on 127.0.0.1:{port}) ...", file=sys.stderr)
        coordinator = self.start(name + "-coordinator", self.coordinator_argv(run_dir, steps, port, every))
        nodes = [coordinator]
        try:
            coordinator.wait_for(lambda l: "coordinator listening at" in l, self.args.timeout, "'coordinator listening at'")
            nodes += [self.start(f"{name}-worker-{k}", self.worker_argv(port)) for k in (1, 2)]
            start_bytes = lo_tx()
            _, t1, _ = coordinator.wait_for(lambda l: l.startswith(f"step {every}/"), self.args.timeout, f"'step {every}/'")
            b1, c1 = lo_tx(), [n.cpu_seconds() for n in nodes]
            _, t2, _ = coordinator.wait_for(lambda l: l.startswith(f"step {steps}/"), self.args.timeout, f"'step {steps}/'")
            b2, c2 = lo_tx(), [n.cpu_seconds() for n in nodes]
            code = coordinator.wait_exit(self.args.timeout)
            end_bytes = lo_tx()
            if code != 0:
                raise BenchFailure(f"{coordinator.name} exited with status {code}", coordinator)
            for worker in nodes[1:]:
                # The coordinator tells its workers the run finished; they exit 0 on that.
                code = worker.wait_exit(30)
                if code != 0:
                    raise BenchFailure(f"{worker.name} exited with status {code} after the run finished", worker)
            problems = [text for _, _, text in coordinator.lines if "unreachable" in text.lower() or "downed" in text]
            if problems:
                raise BenchFailure(f"{coordinator.name}: membership changed during the timed run ({problems[0]})", coordinator)
        finally:
            stop(nodes)
            for node in nodes:
                node.close_log()
        result = self.read_run(run_dir, coordinator)
        result["loopbackBytesPerStep"] = (b2 - b1) / (steps - every)
        result["loopbackBytesPerStepWholeRun"] = (end_bytes - start_bytes) / steps
        result["loopbackWindowSeconds"] = t2 - t1
        result["cpuMsPerStep"] = {k: 1000 * (b - a) / (steps - every) for k, a, b in zip(("coordinator", "worker 1", "worker 2"), c1, c2)}
        return result

    def read_run(self, run_dir, node):
        metrics = os.path.join(run_dir, "metrics.jsonl")
        summary_path = os.path.join(run_dir, "summary.json")
        try:
            lines = [json.loads(l) for l in open(metrics) if l.strip()]
            summary = json.load(open(summary_path))
        except (OSError, ValueError) as e:
            raise BenchFailure(f"{node.name}: unreadable run output ({e})", node)
        train = [l for l in lines if l.get("kind") == "train"][1:]  # the first interval is warm-up
        if not train:
            raise BenchFailure(f"{metrics}: no timed interval after the first (BENCH_STEPS too small?)", node)
        split = summary.get("stepTimeSplit")
        if not split:
            raise BenchFailure(f"{summary_path} has no stepTimeSplit", node)
        params = None
        for _, _, text in node.lines:
            m = re.match(r"training ([\d,]+) parameters .* vocabulary (\d+)", text)
            if m:
                params, vocab = int(m.group(1).replace(",", "")), int(m.group(2))
        if params is None:
            raise BenchFailure(f"{node.name} printed no 'training N parameters' line", node)
        tps = sum(l["tokensPerSecond"] for l in train) / len(train)
        return {"tokensPerSecond": tps, "msPerStep": 1000 * TOKENS_PER_STEP / tps, "split": split,
                "parameters": params, "vocabulary": vocab, "lastLoss": train[-1]["loss"]}

    # --- 3. recovery ---
    def recovery(self, i):
        name = f"recovery-{i}"
        run_dir = self.fresh_run_dir(name)
        port = free_port()
        kill_after = self.args.kill_after
        print(f"running {name} (SIGKILL of worker 2 after step {kill_after}) ...", file=sys.stderr)
        # A long run: it is stopped with SIGTERM once the survivor has stepped alone.
        coordinator = self.start(name + "-coordinator", self.coordinator_argv(run_dir, 1_000_000, port, 1))
        nodes = [coordinator]
        try:
            coordinator.wait_for(lambda l: "coordinator listening at" in l, self.args.timeout, "'coordinator listening at'")
            w1 = self.start(f"{name}-worker-1", self.worker_argv(port))
            w2 = self.start(f"{name}-worker-2", self.worker_argv(port))
            nodes += [w1, w2]
            # The victim's own address, so only lines about it count (a false alarm about the other would not).
            _, _, joining = w2.wait_for(lambda l: "joining through" in l, self.args.timeout, "'joining through'")
            victim = re.search(r"@([^\s]+?:\d+)", joining).group(1)
            coordinator.wait_for(lambda l: l.startswith(f"step {kill_after}/"), self.args.timeout, f"'step {kill_after}/'")
            with coordinator.cond:
                mark = len(coordinator.lines)
                last_before = max((int(STEP_LINE.match(t).group(1)) for _, _, t in coordinator.lines if STEP_LINE.match(t)), default=0)
                early = [t for _, _, t in coordinator.lines if "unreachable" in t.lower()]
                killed = time.monotonic()
                os.kill(w2.pid, signal.SIGKILL)
            limit = self.args.recovery_timeout
            # Lines name the victim as host:port followed by "#incarnation" (data plane), "," (Akka's member
            # lines) or " " (ours), never by another digit: port 4000 must not match 40001.
            names_victim = re.compile(re.escape(victim) + r"(?!\d)")
            about_victim = lambda *words: (lambda l: names_victim.search(l) is not None and all(w in l.lower() for w in words))
            g, t_generation, generation = coordinator.wait_for(lambda l: re.search(r"Generation \d+: 1 workers", l), limit, "'Generation N: 1 workers'", mark)
            _, t_step, step_line = coordinator.wait_for(lambda l: STEP_LINE.match(l), limit, "a step line after the new generation", g + 1)
            # Akka's detector marks the node unreachable seconds after the data plane saw the process gone.
            _, t_unreachable, _ = coordinator.wait_for(about_victim("unreachable"), limit, f"'{victim}' marked unreachable", mark)
            # A reset the kernel sends for the killed process; a host that vanished without one leaves only the detector.
            gone = [t for t, text in ((line[0], line[2]) for line in coordinator.lines[mark:]) if about_victim("the process is gone")(text)]
            t_gone = gone[0] if gone else float("nan")
            how = "data plane" if gone and t_gone <= t_generation else "detector"
            if early:
                print(f"  warning: {name}: 'unreachable' before the kill: {early[0]}", file=sys.stderr)
            w2.wait_exit(10)
            trial = {"how": how, "gone": t_gone - killed, "unreachable": t_unreachable - killed,
                     "generation": t_generation - killed, "firstStep": t_step - killed,
                     "lastStepBefore": last_before, "firstStepAfter": int(STEP_LINE.match(step_line).group(1)),
                     "generationLine": generation}
            print("  kill -> process gone %.2f s, unreachable %.2f s, 1-worker generation %.2f s (%s), first step %.2f s" % (
                trial["gone"], trial["unreachable"], trial["generation"], how, trial["firstStep"]), file=sys.stderr)
            return trial
        finally:
            # SIGTERM: the coordinator writes its interrupt checkpoint and exits; the survivor leaves.
            stop(nodes)
            for node in nodes:
                node.close_log()

    # --- 4. coordinator failover ---
    def failover(self, i, sig):
        """A coordinator and a standby on one run directory, 2 workers; SIGKILL or SIGTERM to the first after
        --kill-after steps; seconds to the singleton on the standby and to its first step, and steps lost."""
        how = "kill" if sig == signal.SIGKILL else "term"
        name = f"failover-{how}-{i}"
        run_dir = self.fresh_run_dir(name)
        port, standby_port = free_port(), free_port()
        kill_after = self.args.kill_after
        print(f"running {name} ({signal.Signals(sig).name} of the coordinator after step {kill_after}) ...", file=sys.stderr)
        first = self.start(name + "-coordinator", self.coordinator_argv(run_dir, 1_000_000, port, 1))
        nodes = [first]
        try:
            first.wait_for(lambda l: "coordinator listening at" in l, self.args.timeout, "'coordinator listening at'")
            standby = self.start(name + "-standby", self.coordinator_argv(run_dir, 1_000_000, standby_port, 1)
                                 + sets([f'cluster.seeds=["127.0.0.1:{port}"]']))
            nodes.append(standby)
            standby.wait_for(lambda l: "Welcome from" in l, self.args.timeout, "the standby joining ('Welcome from')")
            for k in (1, 2):
                nodes.append(self.start(f"{name}-worker-{k}", self.worker_argv(port) + ["--seed", f"127.0.0.1:{standby_port}"]))
            first.wait_for(lambda l: l.startswith(f"step {kill_after}/"), self.args.timeout, f"'step {kill_after}/'")
            with first.cond:
                stopped = time.monotonic()
                os.kill(first.pid, sig)
            first.wait_exit(self.args.timeout)
            last_before = max((int(STEP_LINE.match(t).group(1)) for _, _, t in first.lines if STEP_LINE.match(t)), default=0)
            limit = self.args.recovery_timeout
            _, t_singleton, _ = standby.wait_for(lambda l: "coordinator singleton started on this node" in l, limit, "the singleton on the standby")
            _, t_step, step_line = standby.wait_for(lambda l: STEP_LINE.match(l), limit, "the standby's first step")
            # Where it resumed: the workers' copy when it rebuilt from them, else the checkpoint its loop
            # opened (logged before the rebuild decision), else the start.
            source, at, t_resumed = "start", 0, t_step
            with standby.cond:
                lines = list(standby.lines)
            for t, _, text in lines:
                m = re.search(r"Resumed from .* at step (\d+)", text)
                if m and source != "workers":
                    source, at, t_resumed = "checkpoint", int(m.group(1)), t
                m = re.search(r"Rebuilt the run from the workers at step (\d+)", text)
                if m:
                    source, at, t_resumed = "workers", int(m.group(1)), t
            trial = {"signal": signal.Signals(sig).name, "singleton": t_singleton - stopped, "resumed": t_resumed - stopped,
                     "firstStep": t_step - stopped, "source": source, "resumedAt": at, "lastStepBefore": last_before,
                     "firstStepAfter": int(STEP_LINE.match(step_line).group(1)),
                     # Steps the first coordinator completed that are not in what the standby resumed from. One can be:
                     # the step whose result was still on its way to the workers (the next command carries it);
                     # it is computed again, with the same result. More would be a rollback: progress lost.
                     "recomputed": max(0, last_before - at), "stepsLost": max(0, last_before - at - 1)}
            print("  %s -> singleton on the standby %.2f s, resumed (%s, step %d) %.2f s, first step %.2f s; last step before %d, recomputed %d, lost %d" % (
                trial["signal"], trial["singleton"], source, at, trial["resumed"], trial["firstStep"], last_before, trial["recomputed"], trial["stepsLost"]), file=sys.stderr)
            return trial
        finally:
            stop(nodes)
            for node in nodes:
                node.close_log()


def detector_defaults(root):
    """The failure detector's defaults as cluster.hocon documents them (a test keeps it equal to the built-ins)."""
    found = {}
    try:
        for line in open(os.path.join(root, "cluster.hocon")):
            m = re.match(r"\s*([a-z-]+)\s*=\s*(\S+)", line)
            if m and m.group(1) in DETECTOR_KEYS:
                found[m.group(1)] = m.group(2)
    except OSError:
        pass
    return ", ".join(f"{k} {found.get(k, '?')}" for k in DETECTOR_KEYS)


def mean(values):
    return sum(values) / len(values)


def report(args, bench, inproc, clus, trials, load_before, load_after):
    steps, every = args.steps, args.log_every
    params, vocab = clus[0]["parameters"], clus[0]["vocabulary"]
    p = print
    p()
    p(f"command: {args.command}")
    p(f"2x200 LSTM LM, vocabulary {vocab:,}, {params:,} parameters, batch 20, bptt 35, dropout 0.2, SGD lr 20, clip 0.25; "
      f"{steps} steps, {args.repeats} run(s) each; OPENBLAS_NUM_THREADS=1")
    p(f"threads ({args.threads} cores): in-process runtime.threads={args.threads} = 2 worker actors x {bench.per_worker}; "
      f"cluster: 2 worker processes x runtime.threads={bench.per_worker}, coordinator runtime.threads={bench.coordinator_threads} "
      f"(it computes no windows)")
    p(f"load average before {load_before}, after {load_after}")
    if max(float(load_before.split()[0]), float(load_after.split()[0])) > args.threads:
        # Other users' threads then take turns with ours, and three processes get a larger share of
        # the cores than one: wall-clock comparisons shift with the load, CPU time per step does not.
        p(f"note: load average above {args.threads} cores: other work shared them; compare the CPU time per step rather than wall times")
    p()
    p(f"Step time: tokens/s = mean of the {every}-step intervals after the first; ms per step = 700 tokens / tokens/s;")
    p("split = summary.json stepTimeSplit (ms per step, whole run); messaging = broadcast + transfer + averaging, share of the split")
    p(f"{'run':<30} {'tokens/s':>8} {'ms/step':>8} {'compute':>8} {'transfer':>8} {'averaging':>9} {'broadcast':>9} {'apply':>6} {'messaging':>9}  runs (tokens/s)")
    rows = []
    for label, group in (("in process (--workers 2)", inproc), ("cluster (1 + 2 processes)", clus)):
        tps = mean([r["tokensPerSecond"] for r in group])
        ms = 1000 * TOKENS_PER_STEP / tps
        split = {k: mean([r["split"][k] for r in group]) for k in ("compute", "transfer", "averaging", "broadcast", "apply")}
        messaging = split["broadcast"] + split["transfer"] + split["averaging"]
        share = 100 * messaging / sum(split.values())
        runs = ", ".join(f"{r['tokensPerSecond']:.0f}" for r in group)
        p(f"{label:<30} {tps:>8.0f} {ms:>8.1f} {split['compute']:>8.1f} {split['transfer']:>8.1f} {split['averaging']:>9.1f} "
          f"{split['broadcast']:>9.1f} {split['apply']:>6.1f} {share:>8.1f}%  {runs}")
        rows.append(ms)
    overhead = 100 * (rows[1] / rows[0] - 1)
    p(f"remoting adds {overhead:+.1f}% to the step time (cluster / in-process = {rows[1] / rows[0]:.2f}; goal <= +10%: "
      f"{'met' if overhead <= 10 else 'missed'})")
    p()
    p(f"CPU time per step, steps {every + 1}-{steps} (user + system from /proc/PID/stat; unlike the wall times above it")
    p("hardly depends on other load on the machine)")
    p(f"{'run':<30} {'coordinator':>11} {'worker 1':>8} {'worker 2':>8} {'total':>8}")
    cpu_in = mean([r["cpuMsPerStep"]["process"] for r in inproc])
    p(f"{'in process (--workers 2)':<30} {'':>11} {'':>8} {'':>8} {cpu_in:>8.0f}   (one process: coordinator and both workers)")
    per = {k: mean([r["cpuMsPerStep"][k] for r in clus]) for k in ("coordinator", "worker 1", "worker 2")}
    cpu_cl = sum(per.values())
    p(f"{'cluster (1 + 2 processes)':<30} {per['coordinator']:>11.0f} {per['worker 1']:>8.0f} {per['worker 2']:>8.0f} {cpu_cl:>8.0f}")
    p(f"remoting costs {cpu_cl - cpu_in:+.0f} ms of CPU per step ({100 * (cpu_cl / cpu_in - 1):+.0f}%) on {args.threads} cores")
    p()
    expected = 2 * 4 * params * 2
    measured = mean([r["loopbackBytesPerStep"] for r in clus])
    whole = mean([r["loopbackBytesPerStepWholeRun"] for r in clus])
    background = mean([r["backgroundLoopbackBytesPerSecond"] for r in inproc])
    window = mean([r["loopbackWindowSeconds"] for r in clus])
    p("Bytes sent per step, cluster run (loopback: machine-wide /sys/class/net/lo/statistics/tx_bytes, anyone's traffic counts)")
    p(f"{'measured, steps ' + str(every + 1) + '-' + str(steps):<44} {measured / 1e6:>8.2f} MB/step")
    p(f"{'measured, whole run incl. joins (/ ' + str(steps) + ' steps)':<44} {whole / 1e6:>8.2f} MB/step")
    p(f"{'expected: 2 workers x (params in + grads out)':<44} {expected / 1e6:>8.2f} MB/step  (2 x 2 x 4 B x {params:,} parameters)")
    p(f"{'measured / expected':<44} {measured / expected:>8.3f}")
    p(f"background loopback traffic during the in-process run: {background / 1e3:.1f} kB/s "
      f"(~{background * window / (steps - every) / 1e3:.1f} kB/step over the cluster's timed window)")
    if not trials:
        return {"overheadPercent": overhead, "cpuOverheadMsPerStep": cpu_cl - cpu_in, "expectedBytesPerStep": expected}
    p()
    p(f"Recovery: SIGKILL of worker 2 after step {args.kill_after}, same model and threads, training.log-every-steps=1;")
    p(f"failure detector defaults: {bench.detector}; seconds from the kill (driver's monotonic clock, lines stamped as read);")
    p("re-planned on: what ended the worker first, its data-plane connection (reset by the kernel) or the detector")
    p(f"{'trial':<8} {'re-planned on':>13} {'process gone':>12} {'unreachable':>11} {'1-worker generation':>19} {'first step without it':>21}  steps")
    for k, t in enumerate(trials, 1):
        p(f"{k:<8} {t['how']:>13} {t['gone']:>12.2f} {t['unreachable']:>11.2f} {t['generation']:>19.2f} {t['firstStep']:>21.2f}  "
          f"last before kill {t['lastStepBefore']}, first after {t['firstStepAfter']}")
    med = {key: statistics.median([t[key] for t in trials]) for key in ("gone", "unreachable", "generation", "firstStep")}
    p(f"{'median':<8} {'':>13} {med['gone']:>12.2f} {med['unreachable']:>11.2f} {med['generation']:>19.2f} {med['firstStep']:>21.2f}")
    p(f"recovery (kill -> first step without the worker), median {med['firstStep']:.2f} s; goal <= 5 s: "
      f"{'met' if med['firstStep'] <= 5 else 'missed'}")
    return {"overheadPercent": overhead, "cpuOverheadMsPerStep": cpu_cl - cpu_in, "expectedBytesPerStep": expected, "recoveryMedian": med}


def report_failover(args, failovers):
    if not failovers:
        return {}
    p = print
    p()
    p(f"Coordinator failover: a standby coordinator on the same run directory, 2 workers; the signal goes to the")
    p(f"first coordinator after step {args.kill_after}; seconds from the signal (driver's monotonic clock); resumed from =")
    p("the workers' copy of the run or a checkpoint; recomputed = steps the first completed that the standby did not resume")
    p("from: at most the one whose result was still on its way to the workers (computed again, same result); lost = more than that")
    p(f"{'signal':<8} {'singleton moved':>15} {'resumed':>8} {'first step':>10}  {'resumed from':<22} recomputed  lost")
    figures = {}
    for sig in ("SIGKILL", "SIGTERM"):
        rows = [t for t in failovers if t["signal"] == sig]
        for t in rows:
            p(f"{sig:<8} {t['singleton']:>15.2f} {t['resumed']:>8.2f} {t['firstStep']:>10.2f}  "
              f"{t['source'] + ' at step ' + str(t['resumedAt']):<22} {t['recomputed']:>10}  {t['stepsLost']:>4}  (last step before: {t['lastStepBefore']})")
        if rows:
            figures[sig] = {"firstStepMedian": statistics.median([t["firstStep"] for t in rows]), "stepsLostMax": max(t["stepsLost"] for t in rows)}
    if "SIGKILL" in figures:
        k = figures["SIGKILL"]
        p(f"crash -> training again under the standby, median {k['firstStepMedian']:.2f} s, at most {k['stepsLostMax']} step(s) lost; "
          f"goal <= 20 s with 0 lost: {'met' if k['firstStepMedian'] <= 20 and k['stepsLostMax'] == 0 else 'missed'}")
    if "SIGTERM" in figures:
        t = figures["SIGTERM"]
        p(f"SIGTERM hand-over -> first step under the standby, median {t['firstStepMedian']:.2f} s, at most {t['stepsLostMax']} lost; "
          f"goal <= 5 s: {'met' if t['firstStepMedian'] <= 5 else 'missed'}")
    return {"failover": figures}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="folder with rnncluster.dll and rnncluster-worker.dll")
    ap.add_argument("--corpus", required=True, help="corpus folder (train.txt, valid.txt, test.txt)")
    ap.add_argument("--out", required=True, help="folder for logs, run directories and results.json")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--log-every", type=int, default=None,
                    help="steps per metrics interval (default 50, or a third of --steps when that is smaller)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=1, help="alternating in-process / cluster pairs")
    ap.add_argument("--recovery-trials", type=int, default=3)
    ap.add_argument("--kill-after", type=int, default=30)
    ap.add_argument("--failover-trials", type=int, default=1,
                    help="coordinator failovers per signal (SIGKILL, SIGTERM) with a standby coordinator; 0 skips them")
    ap.add_argument("--timeout", type=float, default=300, help="seconds any one wait may take in a timed run")
    ap.add_argument("--recovery-timeout", type=float, default=60, help="seconds from the kill for each recovery event")
    ap.add_argument("--command", default="python3 bench/cluster/cluster_bench.py ...", help="the command line to print")
    args = ap.parse_args()
    if args.log_every is None:
        # The first interval is warm-up: a short run still needs two timed ones after it.
        args.log_every = max(1, min(50, args.steps // 3))
    if args.steps < 2 * args.log_every:
        ap.error(f"--steps {args.steps} leaves no timed interval after the {args.log_every}-step warm-up")
    args.corpus = os.path.abspath(args.corpus)

    # SIGTERM/SIGHUP to the driver: unwind through the finally below, which kills what it started.
    def interrupted(signum, _):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    bench = Bench(args)
    bench.detector = detector_defaults(args.root)
    load_before = loadavg()
    try:
        inproc, clus, trials = [], [], []
        # Alternating, so a noisy shared machine hits both configurations alike.
        for i in range(1, args.repeats + 1):
            inproc.append(bench.in_process(i))
            clus.append(bench.cluster(i))
        for i in range(1, args.recovery_trials + 1):
            trials.append(bench.recovery(i))
        failovers = []
        for i in range(1, args.failover_trials + 1):
            failovers.append(bench.failover(i, signal.SIGKILL))
        for i in range(1, args.failover_trials + 1):
            failovers.append(bench.failover(i, signal.SIGTERM))
        load_after = loadavg()
        figures = report(args, bench, inproc, clus, trials, load_before, load_after)
        figures.update(report_failover(args, failovers))
        with open(os.path.join(bench.out, "results.json"), "w") as f:
            json.dump({"command": args.command, "inProcess": inproc, "cluster": clus, "recovery": trials, "failover": failovers,
                       "loadBefore": load_before, "loadAfter": load_after, **figures}, f, indent=2)
        return 0
    except BenchFailure as e:
        print(f"cluster-benchmark: {e}", file=sys.stderr)
        if e.node is not None:
            print(f"--- last lines of {e.node.name} (full log: {e.node.log_path}) ---", file=sys.stderr)
            for line in e.node.tail(30):
                print(line, file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"cluster-benchmark: interrupted ({e}); stopping every node", file=sys.stderr)
        return 130
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
