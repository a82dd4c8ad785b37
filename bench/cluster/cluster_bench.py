#!/usr/bin/env python3
"""Driver of bench/cluster-benchmark.sh (issue #4): remoting overhead, bytes per step and recovery time.

1. Step time: the 2x200 LSTM LM of bench/parallel-benchmark.sh trained for --steps steps in one process
   with 2 worker actors, and as 1 coordinator + 2 rnncluster-worker processes on 127.0.0.1, once per
   gradient exchange of --exchanges (all-reduce, the default, whose payloads go through shared memory;
   all-reduce+socket, the same over the loopback sockets, cluster.shared-memory=off; coordinator, the old
   parameter-server path; all-reduce+bf16, cluster.gradient-compression=bf16 over the sockets), alternating in that order --repeats
   times; tokens/s from each run's metrics.jsonl (mean of the log intervals after --warmup steps: 150
   by default, while the runtimes' tiered JIT still compiles, three processes' worth in a cluster), the
   step split from summary.json's stepTimeSplit (ms per step over the whole run), and the CPU time each
   process used per timed step (/proc/PID/stat), which other load on a shared machine hardly changes;
   a cluster's CPU per step during the warm-up is printed apart. Each round also trains one replica
   (--workers 0) on one worker's threads with the whole batch: the 1-process of issue #10's scaling
   efficiency, 2-process tokens/s / (2 x 1-process tokens/s), which bench/ddp/ddp_lm.py prints beside DDP's.
2. Bytes per step per worker: the delta of lo's transmit counter in /proc/net/dev (as bench/ddp/ddp_lm.py
   reads it) between the warm-up's last and the run's last "step N/" line of each cluster run, divided by the steps
   between them and by the 2 workers, beside the expectation: 2(W-1)/W x the fp32 model for all-reduce,
   half that with bf16, 2 x the model for coordinator. Loopback counters are machine-wide, so the
   in-process run's loopback rate (none of it ours) is printed as background.
   --bf16-loss-steps N: then two cluster all-reduce runs of N steps, same seed, compression none and
   bf16, and the validation loss each ends with (summary.json).
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
import math
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

NET_DEV = "/proc/net/dev"
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

    def compute_cpu_seconds(self):
        """CPU time of the process's compute threads (ComputeThread names them rnncluster-worker-N or
        rnncluster-trainer; Linux keeps 15 characters): what is left of cpu_seconds() is everything off
        them (the data plane, Akka, the coordinator's work, GC and JIT), which the compute's own
        run-to-run swings do not move. A thread that ends is dropped from this sum, so only long-lived
        threads are counted here; the compute threads live as long as the run."""
        total = 0
        try:
            tasks = os.listdir(f"/proc/{self.pid}/task")
        except FileNotFoundError:
            return 0.0
        for tid in tasks:
            try:
                with open(f"/proc/{self.pid}/task/{tid}/stat") as f:
                    text = f.read()
            except FileNotFoundError:
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            if comm.startswith(("rnncluster-work", "rnncluster-trai")):
                fields = text.rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / CLOCK_TICKS

    def cpu_split(self):
        """(process CPU, compute threads' CPU) in seconds, read together."""
        return self.cpu_seconds(), self.compute_cpu_seconds()

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
    """Transmit bytes of the loopback interface from /proc/net/dev, as bench/ddp/ddp_lm.py reads them: on lo
    every byte any process sent is counted once there (and once more in lo's receive counter)."""
    with open(NET_DEV) as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                return int(rest.split()[8])
    raise RuntimeError(f"no lo line in {NET_DEV}")


# Gradient exchanges the timed cluster runs can use (--exchanges / BENCH_EXCHANGES): the coordinator's
# settings (workers take the run's from it); bytes = the expected loopback bytes per step per worker
# as a multiple of the fp32 model, W = 2 workers.
WORKERS = 2
EXCHANGES = {
    # The product's default: the workers' payloads go through shared memory (one host), lo carries headers only.
    "all-reduce": {"settings": ["cluster.gradient-exchange=all-reduce", "cluster.gradient-compression=none", "cluster.shared-memory=on"],
                   "bytes": 2 * (WORKERS - 1) / WORKERS, "shared": True,
                   "expected": "2(W-1)/W x model (reduce-scatter + all-gather), through shared memory: lo carries the headers"},
    "all-reduce+socket": {"settings": ["cluster.gradient-exchange=all-reduce", "cluster.gradient-compression=none", "cluster.shared-memory=off"],
                          "bytes": 2 * (WORKERS - 1) / WORKERS,
                          "expected": "2(W-1)/W x model (reduce-scatter + all-gather)"},
    "coordinator": {"settings": ["cluster.gradient-exchange=coordinator", "cluster.shared-memory=off"],
                    "bytes": 2.0,
                    "expected": "2 x model (params in + grads out)"},
    "all-reduce+bf16": {"settings": ["cluster.gradient-exchange=all-reduce", "cluster.gradient-compression=bf16", "cluster.shared-memory=off"],
                        "bytes": (WORKERS - 1) / WORKERS,
                        "expected": "2(W-1)/W x model / 2 (bf16 on the wire)"},
}


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
    def in_process(self, i, workers=2):
        """One process: 2 worker actors on all the threads (the in-process row), or (workers=0) the
        single-replica trainer on one worker's threads, the whole batch: the "1-process" of issue #10's
        scaling efficiency, 2-process tokens/s / (2 x 1-process tokens/s), as DDP's 1-thread row is for DDP."""
        name = f"inprocess-{i}" if workers else f"single-{i}"
        threads = self.args.threads if workers else self.per_worker
        run_dir = self.fresh_run_dir(name)
        argv = ["dotnet", os.path.join(self.bin, "rnncluster.dll"), "train", "--data", self.args.corpus,
                "--run-dir", run_dir, "--plain", "--sample-length", "0", "--max-steps", str(self.args.steps),
                "--workers", str(workers)] + sets(MODEL_SETTINGS + [f"training.log-every-steps={self.args.log_every}",
                                                                   f"runtime.threads={threads}"])
        print(f"running {name} ...", file=sys.stderr)
        node = self.start(name, argv)
        try:
            # Loopback traffic while nothing of ours uses it: the background the cluster figure carries.
            node.wait_for(lambda l: l.startswith(f"step {self.args.warmup}/"), self.args.timeout, "the warm-up's last step line")
            t1, b1, (c1, k1) = time.monotonic(), lo_tx(), node.cpu_split()
            node.wait_for(lambda l: l.startswith(f"step {self.args.steps}/"), self.args.timeout, "its last step line")
            t2, b2, (c2, k2) = time.monotonic(), lo_tx(), node.cpu_split()
            code = node.wait_exit(self.args.timeout)
            if code != 0:
                raise BenchFailure(f"{name} exited with status {code}", node)
        finally:
            stop([node])
            node.close_log()
        result = self.read_run(run_dir, node, self.args.warmup, split_expected=workers > 0)
        result["backgroundLoopbackBytesPerSecond"] = (b2 - b1) / (t2 - t1)
        result["cpuMsPerStep"] = {"process": 1000 * (c2 - c1) / (self.args.steps - self.args.warmup)}
        result["offComputeCpuMsPerStep"] = {"process": 1000 * ((c2 - c1) - (k2 - k1)) / (self.args.steps - self.args.warmup)}
        result["threads"] = threads
        return result

    # --- 1 + 2. step time and bytes, across processes ---
    def cluster(self, i, exchange, steps=None, every=None, warmup=None, name=None, extra=()):
        """One cluster run with the given gradient exchange (a key of EXCHANGES): ms per step, CPU per step
        of every process and loopback bytes per step over the steps after the warm-up (the first log
        interval, or --warmup steps in the timed runs)."""
        name = name or f"cluster-{exchange.replace('+', '-')}-{i}"
        run_dir = self.fresh_run_dir(name)
        port = free_port()
        steps, every = steps or self.args.steps, every or self.args.log_every
        warmup = warmup or (self.args.warmup if steps == self.args.steps else every)
        print(f"running {name} (cluster.gradient-exchange {exchange}; coordinator on 127.0.0.1:{port}) ...", file=sys.stderr)
        argv = self.coordinator_argv(run_dir, steps, port, every) + sets(EXCHANGES[exchange]["settings"] + list(extra))
        coordinator = self.start(name + "-coordinator", argv)
        nodes = [coordinator]
        try:
            coordinator.wait_for(lambda l: "coordinator listening at" in l, self.args.timeout, "'coordinator listening at'")
            # A node's data plane is its own (the workers take the run's settings from the coordinator, not its
            # transport's): the shared-memory switch goes to every process.
            local = sets([s for s in EXCHANGES[exchange]["settings"] if s.startswith("cluster.shared-memory")])
            nodes += [self.start(f"{name}-worker-{k}", self.worker_argv(port) + local) for k in range(1, WORKERS + 1)]
            start_bytes = lo_tx()
            coordinator.wait_for(lambda l: l.startswith(f"step {every}/"), self.args.timeout, f"'step {every}/'")
            c0 = [n.cpu_seconds() for n in nodes]
            _, t1, _ = coordinator.wait_for(lambda l: l.startswith(f"step {warmup}/"), self.args.timeout, f"'step {warmup}/'")
            b1, s1 = lo_tx(), [n.cpu_split() for n in nodes]
            _, t2, _ = coordinator.wait_for(lambda l: l.startswith(f"step {steps}/"), self.args.timeout, f"'step {steps}/'")
            b2, s2 = lo_tx(), [n.cpu_split() for n in nodes]
            c1, c2 = [c for c, _ in s1], [c for c, _ in s2]
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
            # A timed run is one generation of both workers: a re-plan (an abandoned all-reduce, a lost worker)
            # would put recomputed steps into the figures.
            generations = [text for _, _, text in coordinator.lines if re.search(r"Generation \d+: ", text)]
            if len(generations) > 1 and steps == self.args.steps:
                print(f"  warning: {name}: {len(generations)} generations during the run ({generations[-1]})", file=sys.stderr)
        finally:
            stop(nodes)
            for node in nodes:
                node.close_log()
        result = self.read_run(run_dir, coordinator, warmup)
        result["exchange"] = exchange
        result["loopbackBytesPerStep"] = (b2 - b1) / (steps - warmup)
        result["loopbackBytesPerStepPerWorker"] = (b2 - b1) / (steps - warmup) / WORKERS
        result["loopbackBytesPerStepWholeRun"] = (end_bytes - start_bytes) / steps
        result["loopbackWindowSeconds"] = t2 - t1
        result["cpuMsPerStep"] = {k: 1000 * (b - a) / (steps - warmup) for k, a, b in zip(("coordinator", "worker 1", "worker 2"), c1, c2)}
        result["offComputeCpuMsPerStep"] = {k: 1000 * ((b - a) - (y - x)) / (steps - warmup)
                                            for k, (a, x), (b, y) in zip(("coordinator", "worker 1", "worker 2"), s1, s2)}
        if warmup > every:
            # The runtimes' warm-up (tiered JIT of Akka, Kestrel and the data plane in three processes), kept apart.
            result["cpuMsPerStepWarmup"] = {k: 1000 * (b - a) / (warmup - every) for k, a, b in zip(("coordinator", "worker 1", "worker 2"), c0, c1)}
        result["generations"] = len(generations)
        return result

    # --- bf16's effect on the validation loss ---
    def bf16_loss(self):
        """Per seed of --bf16-loss-seeds, two cluster all-reduce runs of --bf16-loss-steps steps, same model,
        gradient compression none and bf16: the validation loss each ends with (summary.json)."""
        steps = self.args.bf16_loss_steps
        every = max(1, min(50, steps // 3))
        runs = {}
        for seed in self.args.bf16_loss_seeds:
            for exchange in ("all-reduce", "all-reduce+bf16"):
                name = f"loss-{exchange.replace('+', '-')}-seed{seed}"
                runs[f"{exchange} seed {seed}"] = dict(self.cluster(1, exchange, steps=steps, every=every, name=name,
                                                                    extra=[f"runtime.seed={seed}"]), seed=seed)
        return runs

    def read_run(self, run_dir, node, warmup, split_expected=True):
        metrics = os.path.join(run_dir, "metrics.jsonl")
        summary_path = os.path.join(run_dir, "summary.json")
        try:
            lines = [json.loads(l) for l in open(metrics) if l.strip()]
            summary = json.load(open(summary_path))
        except (OSError, ValueError) as e:
            raise BenchFailure(f"{node.name}: unreadable run output ({e})", node)
        train = [l for l in lines if l.get("kind") == "train" and l["step"] > warmup]
        if not train:
            raise BenchFailure(f"{metrics}: no timed interval after the {warmup}-step warm-up (BENCH_STEPS too small?)", node)
        # The single-replica trainer has no split: no workers, nothing exchanged.
        split = summary.get("stepTimeSplit")
        if not split and split_expected:
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
                "parameters": params, "vocabulary": vocab, "lastLoss": train[-1]["loss"],
                "trainLoss": summary.get("trainLoss"), "validLoss": summary.get("validLoss"), "steps": summary.get("steps")}

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


def report(args, bench, inproc, single, clusters, trials, load_before, load_after):
    """single: the single-replica runs (one process, one worker's threads, the whole batch);
    clusters: {exchange: [runs]}, in the order they ran."""
    steps, every, warmup = args.steps, args.log_every, args.warmup
    first = next(iter(clusters.values()))[0]
    params, vocab = first["parameters"], first["vocabulary"]
    model = 4 * params
    p = print
    p()
    p(f"command: {args.command}")
    p(f"2x200 LSTM LM, vocabulary {vocab:,}, {params:,} parameters ({model / 1e6:.2f} MB fp32), batch 20, bptt 35, dropout 0.2, "
      f"SGD lr 20, clip 0.25; {steps} steps, timed after a {warmup}-step warm-up, {args.repeats} run(s) each, alternating; "
      f"OPENBLAS_NUM_THREADS=1")
    p(f"threads ({args.threads} cores): in-process runtime.threads={args.threads} = 2 worker actors x {bench.per_worker}; "
      f"cluster: 2 worker processes x runtime.threads={bench.per_worker}, coordinator runtime.threads={bench.coordinator_threads} "
      f"(it computes no windows)")
    p(f"load average before {load_before}, after {load_after}")
    if max(float(load_before.split()[0]), float(load_after.split()[0])) > args.threads:
        # Other users' threads then take turns with ours, and three processes get a larger share of
        # the cores than one: wall-clock comparisons shift with the load, CPU time per step does not.
        p(f"note: load average above {args.threads} cores: other work shared them; compare the CPU time per step rather than wall times")
    p()
    p(f"Step time: tokens/s = mean of the {every}-step intervals after step {warmup}; ms per step = 700 tokens / tokens/s;")
    p("split = summary.json stepTimeSplit (ms per step, whole run); messaging = broadcast + transfer + averaging, share of the split.")
    p("all-reduce rows: transfer = the workers' all-reduce (gradients, the token count started with forward, average, clip) + the command/reply round trip")
    p("beyond the slowest worker; broadcast = the trainer snapshot and the commands (no parameters); averaging = closing the step (no gradients);")
    p("the line under the table splits that transfer: waiting for the slower worker to finish its backward, and the rest")
    p(f"{'run':<32} {'tokens/s':>8} {'ms/step':>8} {'vs in-proc':>10} {'compute':>8} {'transfer':>8} {'averaging':>9} {'broadcast':>9} {'apply':>6} {'messaging':>9}  runs (ms/step)")
    groups = [("in process (--workers 2)", "in-process", inproc), (f"one replica ({bench.per_worker} thread)", "single", single)] + [
        (f"cluster {name}", name, runs) for name, runs in clusters.items()]
    ms_of, figures = {}, {"exchanges": {}}
    for label, key, group in groups:
        ms = mean([r["msPerStep"] for r in group])
        tps = 1000 * TOKENS_PER_STEP / ms
        ms_of[key] = ms
        ratio = "" if key in ("in-process", "single") else f"{100 * (ms / ms_of['in-process'] - 1):+.1f}%"
        runs = ", ".join(f"{r['msPerStep']:.0f}" for r in group)
        if key == "single":
            p(f"{label:<32} {tps:>8.0f} {ms:>8.1f} {ratio:>10} {'(the single-replica trainer: nothing exchanged, no split)':<66}  {runs}")
            continue
        split = {k: mean([r["split"][k] for r in group]) for k in ("compute", "transfer", "averaging", "broadcast", "apply")}
        messaging = split["broadcast"] + split["transfer"] + split["averaging"]
        share = 100 * messaging / sum(split.values())
        p(f"{label:<32} {tps:>8.0f} {ms:>8.1f} {ratio:>10} {split['compute']:>8.1f} {split['transfer']:>8.1f} {split['averaging']:>9.1f} "
          f"{split['broadcast']:>9.1f} {split['apply']:>6.1f} {share:>8.1f}%  {runs}")
    for name in clusters:
        overhead = 100 * (ms_of[name] / ms_of["in-process"] - 1)
        figures["exchanges"][name] = {"msPerStep": ms_of[name], "overheadPercent": overhead}
    # Issue #10's scaling efficiency: 2-process tokens/s / (2 x 1-process tokens/s), the 1-process being one
    # replica on one worker's threads with the whole batch (DDP's counterpart: its one process with 1 thread).
    figures["singleReplicaMsPerStep"] = ms_of["single"]
    for name in clusters:
        figures["exchanges"][name]["scalingEfficiency"] = ms_of["single"] / (WORKERS * ms_of[name])
    p(f"scaling efficiency, {WORKERS}-process tokens/s / ({WORKERS} x 1-process tokens/s), 1 process = one replica ({bench.per_worker} "
      f"thread, whole batch, {ms_of['single']:.1f} ms/step): "
      + ", ".join(f"cluster {name} {100 * figures['exchanges'][name]['scalingEfficiency']:.1f}%" for name in clusters)
      + f"; in process (--workers 2) {100 * ms_of['single'] / (WORKERS * ms_of['in-process']):.1f}%")
    if "all-reduce" in clusters:
        overhead = figures["exchanges"]["all-reduce"]["overheadPercent"]
        p(f"cluster all-reduce / in process = {ms_of['all-reduce'] / ms_of['in-process']:.2f} ({overhead:+.1f}%); goal <= +10%: "
          f"{'met' if overhead <= 10 else f'missed by {overhead - 10:.1f} points'}")
        if len(inproc) > 1 and len(clusters["all-reduce"]) == len(inproc):
            # The host's speed drifts between rounds more than this ratio moves: each cluster run against the
            # in-process run of its own round, and their median, say more than the ratio of the means.
            rounds = [100 * (c["msPerStep"] / i["msPerStep"] - 1) for i, c in zip(inproc, clusters["all-reduce"])]
            med = statistics.median(rounds)
            figures["exchanges"]["all-reduce"].update(overheadPercentPerRound=rounds, overheadPercentMedian=med)
            p("  each round against its own in-process run: " + ", ".join(f"{r:+.1f}%" for r in rounds) + f"; median {med:+.1f}%")
    for name, runs in clusters.items():
        # Binaries from before the split report no peerWait: the line is left out for them.
        if name.startswith("all-reduce") and all("peerWait" in r["split"] for r in runs):
            transfer, wait = mean([r["split"]["transfer"] for r in runs]), mean([r["split"]["peerWait"] for r in runs])
            figures["exchanges"][name].update(peerWaitMs=wait, exposedTransferMs=transfer - wait)
            p(f"cluster {name} transfer {transfer:.1f} ms = waiting for the slower worker's backward {wait:.1f} "
              f"+ the all-reduce's own exposed time (and round trip) {transfer - wait:.1f}")
    if "all-reduce" in clusters and "coordinator" in clusters:
        p(f"all-reduce vs coordinator (before/after): {ms_of['coordinator']:.1f} -> {ms_of['all-reduce']:.1f} ms/step "
          f"({100 * (ms_of['all-reduce'] / ms_of['coordinator'] - 1):+.1f}%)")
    p()
    p(f"CPU time per step, steps {warmup + 1}-{steps} (user + system from /proc/PID/stat, all processes; unlike the wall times above")
    p("it hardly depends on other load on the machine)")
    p(f"{'run':<32} {'coordinator':>11} {'worker 1':>8} {'worker 2':>8} {'total':>8} {'vs in-proc':>10}")
    cpu_in = mean([r["cpuMsPerStep"]["process"] for r in inproc])
    p(f"{'in process (--workers 2)':<32} {'':>11} {'':>8} {'':>8} {cpu_in:>8.0f} {'':>10}   (one process: coordinator and both workers)")
    cpu_single = mean([r["cpuMsPerStep"]["process"] for r in single])
    figures["singleReplicaCpuMsPerStep"] = cpu_single
    p(f"{'one replica (' + str(bench.per_worker) + ' thread)':<32} {'':>11} {'':>8} {'':>8} {cpu_single:>8.0f} {'':>10}   (the whole batch)")
    for name, runs in clusters.items():
        per = {k: mean([r["cpuMsPerStep"][k] for r in runs]) for k in ("coordinator", "worker 1", "worker 2")}
        total = sum(per.values())
        figures["exchanges"][name].update(cpuMsPerStep=total, cpuOverheadMsPerStep=total - cpu_in)
        p(f"{'cluster ' + name:<32} {per['coordinator']:>11.0f} {per['worker 1']:>8.0f} {per['worker 2']:>8.0f} {total:>8.0f} "
          f"{total - cpu_in:>+7.0f} ms ({100 * (total / cpu_in - 1):+.0f}%)")
    off_in = mean([r["offComputeCpuMsPerStep"]["process"] for r in inproc])
    figures["inProcessOffComputeCpuMsPerStep"] = off_in
    p(f"  off the compute threads (all but rnncluster-worker-N: data plane, Akka, coordinating, GC, JIT; the compute's own swings")
    p(f"  do not move it): in process {off_in:.1f}", end="")
    for name, runs in clusters.items():
        per = {k: mean([r["offComputeCpuMsPerStep"][k] for r in runs]) for k in ("coordinator", "worker 1", "worker 2")}
        total = sum(per.values())
        figures["exchanges"][name].update(offComputeCpuMsPerStep=total)
        p(f"; cluster {name} {per['coordinator']:.1f} + {per['worker 1']:.1f} + {per['worker 2']:.1f} = {total:.1f} ({total - off_in:+.1f} ms)", end="")
    p()
    for name, runs in clusters.items():
        if all("cpuMsPerStepWarmup" in r for r in runs):
            per = {k: mean([r["cpuMsPerStepWarmup"][k] for r in runs]) for k in ("coordinator", "worker 1", "worker 2")}
            figures["exchanges"][name].update(cpuMsPerStepWarmup=sum(per.values()))
            p(f"{'  warm-up, steps ' + str(every + 1) + '-' + str(warmup):<32} {per['coordinator']:>11.0f} {per['worker 1']:>8.0f} "
              f"{per['worker 2']:>8.0f} {sum(per.values()):>8.0f}   (cluster {name}; the runtimes' JIT is still compiling)")
    p()
    background = mean([r["backgroundLoopbackBytesPerSecond"] for r in inproc])
    p(f"Bytes per step per worker, steps {warmup + 1}-{steps}: the lo transmit counter of {NET_DEV} (machine-wide: anyone's traffic")
    p(f"counts; every byte any of our processes sent, so both directions, each once) / steps / {WORKERS} workers, as bench/ddp/ddp_lm.py counts;")
    p(f"model = 4 B x {params:,} parameters = {model / 1e6:.2f} MB")
    p(f"{'run':<32} {'MB/step/worker':>14} {'x model':>8} {'expected MB':>11} {'measured/exp':>12}  expected per worker")
    for name, runs in clusters.items():
        measured = mean([r["loopbackBytesPerStepPerWorker"] for r in runs])
        expected = EXCHANGES[name]["bytes"] * model
        figures["exchanges"][name].update(bytesPerStepPerWorker=measured, expectedBytesPerStepPerWorker=expected)
        ratio = "-" if EXCHANGES[name].get("shared") else f"{measured / expected:.3f}"
        p(f"{'cluster ' + name:<32} {measured / 1e6:>14.2f} {measured / model:>8.2f} {expected / 1e6:>11.2f} {ratio:>12}  "
          f"{EXCHANGES[name]['expected']}")
    if any(name.startswith("all-reduce") for name in clusters):
        # Untied weights: the all-reduce sends the embedding's gradient only for the rows the step looked up (their
        # union over the workers, marked by an all-reduce of one float per vocabulary row), so a step sends
        # P - V x E + V + U x E floats, U = the distinct rows (at most the 700 input tokens of a step).
        emb = 200 * vocab
        low, high = (params - emb + vocab) * 4, (params - emb + vocab + TOKENS_PER_STEP * 200) * 4
        share = EXCHANGES["all-reduce"]["bytes"]
        p(f"all-reduce with the sparse embedding rows (untied): 2(W-1)/W x 4 B x (P - V x E + V + U x E), U = distinct rows looked up "
          f"(<= {TOKENS_PER_STEP}): {share * low / 1e6:.2f}-{share * high / 1e6:.2f} MB/step/worker (bf16: half), against the dense figure above")
    if "coordinator" in clusters:
        whole = mean([r["loopbackBytesPerStep"] for r in clusters["coordinator"]])
        p(f"coordinator, all processes: {whole / 1e6:.2f} MB/step; expected (2 workers x params in + grads out) "
          f"{2 * 2 * model / 1e6:.2f} MB/step  (2 x 2 x 4 B x {params:,} parameters)")
    window = mean([r["loopbackWindowSeconds"] for name, runs in clusters.items() for r in runs])
    p(f"background loopback traffic during the in-process run: {background / 1e3:.1f} kB/s "
      f"(~{background * window / (steps - warmup) / 1e3:.1f} kB/step over a cluster run's timed window)")
    figures["overheadPercent"] = next(iter(figures["exchanges"].values()))["overheadPercent"]
    if not trials:
        return figures
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
    figures["recoveryMedian"] = med
    return figures


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


def report_bf16_loss(args, runs):
    if not runs:
        return {}
    p = print
    p()
    p(f"bf16 gradient compression and the validation loss: per seed (runtime.seed: initialisation, dropout, data order), 2 cluster")
    p(f"all-reduce runs of {args.bf16_loss_steps} steps, same model, cluster.gradient-compression none then bf16; validation loss from")
    p("summary.json (the whole valid split, evaluated once at the end; dropout off in evaluation); MB/step/worker: machine-wide lo counter")
    p(f"{'seed':>6} {'gradient-compression':<22} {'valid loss':>10} {'valid ppl':>10} {'train loss':>10} {'ms/step':>8} {'MB/step/worker':>14}")
    figures = []
    for seed in args.bf16_loss_seeds:
        none, bf16 = runs[f"all-reduce seed {seed}"], runs[f"all-reduce+bf16 seed {seed}"]
        for label, r in (("none", none), ("bf16", bf16)):
            p(f"{seed:>6} {label:<22} {r['validLoss']:>10.4f} {math.exp(r['validLoss']):>10.1f} {r['trainLoss']:>10.4f} "
              f"{r['msPerStep']:>8.1f} {r['loopbackBytesPerStepPerWorker'] / 1e6:>14.2f}")
        diff = bf16["validLoss"] - none["validLoss"]
        p(f"{seed:>6} bf16 - none: {diff:+.4f} nats valid loss ({100 * diff / none['validLoss']:+.2f}%)")
        figures.append({"seed": seed, "validLossNone": none["validLoss"], "validLossBf16": bf16["validLoss"], "difference": diff})
    if len(figures) > 1:
        nones = [f["validLossNone"] for f in figures]
        diffs = [f["difference"] for f in figures]
        p(f"mean bf16 - none over {len(figures)} seeds: {mean(diffs):+.4f} nats; for scale, the seeds' own spread (none): "
          f"{max(nones) - min(nones):.4f} nats (max - min)")
    return {"bf16Loss": {"steps": args.bf16_loss_steps, "bySeed": figures}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="folder with rnncluster.dll and rnncluster-worker.dll")
    ap.add_argument("--corpus", required=True, help="corpus folder (train.txt, valid.txt, test.txt)")
    ap.add_argument("--out", required=True, help="folder for logs, run directories and results.json")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    ap.add_argument("--steps", type=int, default=350)
    ap.add_argument("--warmup", type=int, default=None,
                    help="steps before the timed window, a multiple of --log-every (default 150 when --steps is 350 or more, "
                         "else one interval): the runtimes' tiered JIT still compiles for ~150 steps, three processes' worth "
                         "in a cluster; a training run of thousands of steps sees the steady state")
    ap.add_argument("--log-every", type=int, default=None,
                    help="steps per metrics interval (default 50, or a third of --steps when that is smaller)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=1, help="alternating in-process / cluster pairs")
    ap.add_argument("--recovery-trials", type=int, default=3)
    ap.add_argument("--kill-after", type=int, default=30)
    ap.add_argument("--failover-trials", type=int, default=1,
                    help="coordinator failovers per signal (SIGKILL, SIGTERM) with a standby coordinator; 0 skips them")
    ap.add_argument("--exchanges", default="all-reduce all-reduce+socket coordinator all-reduce+bf16",
                    help="gradient exchanges of the timed cluster runs, in order, each run in the same alternation: "
                         + ", ".join(EXCHANGES) + " (default: all three)")
    ap.add_argument("--bf16-loss-steps", type=int, default=0,
                    help="after the timed runs, two cluster all-reduce runs of this many steps (gradient-compression none, "
                         "then bf16; same seed) and their validation losses; 0 skips them")
    ap.add_argument("--bf16-loss-seeds", default="1234",
                    help="runtime.seed of each none/bf16 pair of the loss runs (default 1234, the built-in seed)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds any one wait may take in a timed run")
    ap.add_argument("--recovery-timeout", type=float, default=60, help="seconds from the kill for each recovery event")
    ap.add_argument("--command", default="python3 bench/cluster/cluster_bench.py ...", help="the command line to print")
    args = ap.parse_args()
    if args.log_every is None:
        # The first interval is warm-up: a short run still needs two timed ones after it.
        args.log_every = max(1, min(50, args.steps // 3))
    if args.warmup is None:
        args.warmup = 150 if args.steps >= 350 and 150 % args.log_every == 0 else args.log_every
    if args.warmup < args.log_every or args.warmup % args.log_every:
        ap.error(f"--warmup {args.warmup}: a multiple of the {args.log_every}-step metrics interval, at least one")
    if args.steps < args.warmup + args.log_every:
        ap.error(f"--steps {args.steps} leaves no timed interval after the {args.warmup}-step warm-up")
    args.corpus = os.path.abspath(args.corpus)
    args.exchanges = [e for e in re.split(r"[\s,]+", args.exchanges) if e]
    unknown = [e for e in args.exchanges if e not in EXCHANGES]
    if unknown or not args.exchanges or len(set(args.exchanges)) != len(args.exchanges):
        ap.error(f"--exchanges '{' '.join(args.exchanges)}': give one or more of {', '.join(EXCHANGES)}, each once")
    try:
        args.bf16_loss_seeds = [int(x) for x in re.split(r"[\s,]+", args.bf16_loss_seeds) if x]
    except ValueError:
        ap.error(f"--bf16-loss-seeds '{args.bf16_loss_seeds}': whole numbers")
    if args.bf16_loss_steps and not args.bf16_loss_seeds:
        ap.error("--bf16-loss-seeds is empty")
    if args.bf16_loss_steps and args.bf16_loss_steps < 3:
        ap.error("--bf16-loss-steps must be 0 or at least 3")

    # SIGTERM/SIGHUP to the driver: unwind through the finally below, which kills what it started.
    def interrupted(signum, _):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    bench = Bench(args)
    bench.detector = detector_defaults(args.root)
    load_before = loadavg()
    try:
        inproc, single, clusters, trials = [], [], {e: [] for e in args.exchanges}, []
        # Alternating, so a noisy shared machine hits every configuration alike.
        for i in range(1, args.repeats + 1):
            inproc.append(bench.in_process(i))
            single.append(bench.in_process(i, workers=0))
            for exchange in args.exchanges:
                clusters[exchange].append(bench.cluster(i, exchange))
        loss_runs = bench.bf16_loss() if args.bf16_loss_steps else {}
        for i in range(1, args.recovery_trials + 1):
            trials.append(bench.recovery(i))
        failovers = []
        for i in range(1, args.failover_trials + 1):
            failovers.append(bench.failover(i, signal.SIGKILL))
        for i in range(1, args.failover_trials + 1):
            failovers.append(bench.failover(i, signal.SIGTERM))
        load_after = loadavg()
        figures = report(args, bench, inproc, single, clusters, trials, load_before, load_after)
        figures.update(report_failover(args, failovers))
        figures.update(report_bf16_loss(args, loss_runs))
        with open(os.path.join(bench.out, "results.json"), "w") as f:
            # "cluster": the first exchange's runs (what bench/ddp/ddp_lm.py read before there were several).
            json.dump({"command": args.command, "inProcess": inproc, "singleReplica": single, "cluster": clusters[args.exchanges[0]],
                       "clusters": [{"exchange": e, "runs": runs} for e, runs in clusters.items()],
                       "bf16LossRuns": loss_runs, "recovery": trials, "failover": failovers,
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
