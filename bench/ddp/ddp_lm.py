#!/usr/bin/env python3
"""PyTorch DistributedDataParallel reference for bench/cluster-benchmark.sh: what DDP's data-parallel
step costs on this machine, for the same LM as our cluster benchmark, over loopback.

    [GLIBC_TUNABLES=...] /usr/bin/python3 bench/ddp/ddp_lm.py [--steps 60] [--warmup 3] [--ours bench/out/cluster/results.json]

Model and step: bench/lm/pytorch_lm.py's RNNModel (embedding -> dropout -> 2x200 LSTM -> dropout ->
linear decoder, our initialisation) with the cluster benchmark's settings: vocabulary 9990 (with --ours: ours, and the parameter
counts must agree), embedding
200, hidden 200, 2 layers, bptt 35, 20 streams, dropout 0.2, SGD lr 20, global-norm clip 0.25, state
carried and detached between windows; 4,649,190 parameters. Data: random tokens of that vocabulary
(torch.manual_seed), nothing is read or downloaded.

Configurations, each with --warmup untimed steps then --steps timed ones:
  one process     the whole batch (20 streams), torch.set_num_threads(1);
  one process xT  the same with T = --threads threads (default nproc): the thread budget of the two
                  DDP workers together, as our in-process row gives its 2 worker actors all threads;
  DDP             2 processes (torch.multiprocessing, gloo on 127.0.0.1), 10 streams each, 1 thread each;
  DDP no_sync     the same processes, every step under model.no_sync(): no gradient all-reduce, so
                  DDP - no_sync is the communication the step could not hide.
Per configuration: median ms/step over the timed steps (DDP: per rank, the slower rank's median); CPU
per step (time.process_time() over the timed loop: all threads of the process, gloo's included; DDP:
both workers together); loopback bytes per step per worker (the transmit counter of `lo` in
/proc/net/dev around the timed loop, / steps / workers: every byte either worker sent, so both
directions of the exchange, each byte counted once; lo's receive counter shows the same bytes again).
After the DDP loops each worker times a plain all_reduce of one flat tensor of the model's size
(median of --allreduce-repeats): the all-reduce cost with nothing to overlap. Hidden fraction =
1 - exposed / that time, given only when the exposed time is shorter than a lone all-reduce (else
"none measurable", hiddenFraction null: the exposed part then holds more than the all-reduce, such as
DDP's bucket copies and compute and communication competing for the same cores).

--ours: bench/cluster-benchmark.sh's results.json of the same run; prints our cluster figures
beside DDP's, with ratios, one column per gradient exchange the benchmark ran. Output: a table on stdout, then one JSON line (also written to --json).
Exit status 1 on a failure. Installs Debian's python3-torch with apt-get if torch is missing.
"""

import argparse
import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta

# One thread per process everywhere, set before torch loads its thread pools; the workers inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# As bench/lm-benchmark.sh: OpenMP threads that wait sleep instead of spinning, which on a shared machine
# would burn the cores the other threads need (the 2-thread row).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SYSTEM_PYTHON = "/usr/bin/python3"

def malloc_setting():
    """The glibc malloc tunables this reference runs with (bench/cluster-benchmark.sh gives it ours through
    GLIBC_TUNABLES, bench/same-malloc.sh says why), or None for glibc's adaptive defaults."""
    tunables = [t for t in os.environ.get("GLIBC_TUNABLES", "").split(":") if t.startswith("glibc.malloc.")]
    return ":".join(tunables) or None


def fail(message):
    print(f"ddp-benchmark: {message}", file=sys.stderr)
    sys.exit(1)


# The BLAS Debian's libtorch calls through libblas.so.3: OpenBLAS where libopenblas0 is installed, else the
# reference BLAS, 22x slower on this LM's output layer (libtorch only recommends OpenBLAS).
BLAS_LINK = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
PACKAGES = ["python3-torch", "libopenblas0"]


def apt_install(packages):
    """apt-get install PACKAGES (apt-get update only if the plain install fails), or fail naming them."""
    if shutil.which("apt-get") is None:
        fail(f"{' and '.join(packages)} missing and there is no apt-get to install them")
    print(f"ddp-benchmark: apt-get install -y {' '.join(packages)} ...", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "--no-install-recommends"] + packages
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        print("ddp-benchmark: install failed; apt-get update, then again ...", file=sys.stderr)
        if subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL).returncode != 0 \
                or subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            fail(f"apt-get install -y {' '.join(packages)} failed")


def openblas_in_use():
    return "openblas" in os.path.realpath(BLAS_LINK)


def ensure_torch():
    """Import torch; if the system python lacks it, install Debian's python3-torch and OpenBLAS; if this
    is another python, re-run under /usr/bin/python3. A torch without OpenBLAS gets it (then a re-run, so
    libtorch loads it)."""
    try:
        import torch  # noqa: F401
        if os.path.exists(BLAS_LINK) and not openblas_in_use():
            apt_install(["libopenblas0"])
            os.execv(sys.executable, [sys.executable] + sys.argv)
        return
    except ImportError:
        pass
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.path.exists(SYSTEM_PYTHON):
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import torch"], capture_output=True)
        if probe.returncode == 0:
            os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    apt_install(PACKAGES)
    os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)


ensure_torch()

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lm"))
from pytorch_lm import RNNModel, repackage_hidden  # noqa: E402  (bench/lm: the same model as our LM benchmark)

WORKERS = 2


def lo_bytes():
    """(rx, tx) bytes of the loopback interface from /proc/net/dev (machine-wide: anyone's traffic counts)."""
    with open("/proc/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                fields = rest.split()
                return int(fields[0]), int(fields[8])
    raise RuntimeError("no lo line in /proc/net/dev")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def make_data(args, streams, first_stream):
    """Random tokens of the vocabulary, time-major [positions, all streams], seeded; this process's slice
    of the streams. Every process draws the same stream set, so 2 x 10 streams are the 20 of one process."""
    g = torch.Generator().manual_seed(args.seed)
    positions = (args.warmup + args.steps) * args.bptt + 1
    data = torch.randint(0, args.vocab, (positions, args.batch), generator=g)
    data = data[:, first_stream:first_stream + streams].contiguous()
    return data[:-1], data[1:]


def make_model(args):
    torch.manual_seed(args.seed)  # the same initial weights in every process (DDP broadcasts rank 0's anyway)
    return RNNModel(args.vocab, args.embedding_size, args.hidden_size, args.layers, args.dropout, 0.1, 1.0)


def run_steps(model, module, inputs, targets, args, count, start, hidden, context=None):
    """count TBPTT steps from window start through model (the DDP wrapper or the module itself); ms per
    step. context(): entered around forward + backward (DDP's no_sync)."""
    times = []
    params = list(module.parameters())
    for k in range(start, start + count):
        t0 = time.perf_counter()
        x = inputs[k * args.bptt:(k + 1) * args.bptt]
        y = targets[k * args.bptt:(k + 1) * args.bptt]
        hidden = repackage_hidden(hidden)
        for p in params:
            p.grad = None
        if context is None:
            logits, hidden = model(x, hidden)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            loss.backward()
        else:
            with context():
                logits, hidden = model(x, hidden)
                loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
                loss.backward()
        nn.utils.clip_grad_norm_(params, args.clip)
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-args.lr)
        loss.item()
        times.append(1000 * (time.perf_counter() - t0))
    return times, hidden


def single(args, threads):
    """One process, the whole batch, `threads` intra-op threads."""
    torch.set_num_threads(threads)
    model = make_model(args)
    model.train()
    inputs, targets = make_data(args, args.batch, 0)
    hidden = model.init_hidden(args.batch)
    _, hidden = run_steps(model, model, inputs, targets, args, args.warmup, 0, hidden)
    rx0, tx0 = lo_bytes()
    c0, w0 = time.process_time(), time.perf_counter()
    times, _ = run_steps(model, model, inputs, targets, args, args.steps, args.warmup, hidden)
    c1, w1 = time.process_time(), time.perf_counter()
    rx1, tx1 = lo_bytes()
    return {"threads": threads, "msPerStep": statistics.median(times), "meanMsPerStep": 1000 * (w1 - w0) / args.steps,
            "cpuMsPerStep": 1000 * (c1 - c0) / args.steps, "backgroundLoopbackBytesPerSecond": (tx1 - tx0) / (w1 - w0),
            "stepTimes": times}


def worker(rank, args, port, results):
    """One DDP worker: the DDP loop, the no_sync loop, then lone all-reduces of the model's size."""
    try:
        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORKERS,
                                timeout=timedelta(seconds=args.timeout))  # a lost peer ends the run, not a 30-minute wait
        streams = args.batch // WORKERS
        inputs, targets = make_data(args, streams, rank * streams)
        model = make_model(args)
        model.train()
        ddp = DDP(model)  # CPU: no device_ids; gradients all-reduced in buckets during backward
        out = {"rank": rank}
        window = 0
        for name, context in (("ddp", None), ("noSync", ddp.no_sync)):
            hidden = model.init_hidden(streams)
            _, hidden = run_steps(ddp, model, inputs, targets, args, args.warmup, window, hidden, context)
            window += args.warmup
            dist.barrier()
            rx0, tx0 = lo_bytes()
            c0, w0 = time.process_time(), time.perf_counter()
            times, _ = run_steps(ddp, model, inputs, targets, args, args.steps, window, hidden, context)
            c1, w1 = time.process_time(), time.perf_counter()
            dist.barrier()
            rx1, tx1 = lo_bytes()
            window = 0  # both loops walk the same windows
            out[name] = {"msPerStep": statistics.median(times), "meanMsPerStep": 1000 * (w1 - w0) / args.steps,
                         "cpuMsPerStep": 1000 * (c1 - c0) / args.steps, "loopbackTxBytes": tx1 - tx0,
                         "loopbackRxBytes": rx1 - rx0, "stepTimes": times}
        # A lone all-reduce of the whole gradient (one flat float32 tensor): the communication DDP has to
        # hide, timed with nothing else running in these processes.
        flat = torch.ones(sum(p.numel() for p in model.parameters()))
        lone = []
        for k in range(args.allreduce_repeats + 1):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(flat)
            if k:  # the first one is warm-up
                lone.append(1000 * (time.perf_counter() - t0))
        out["allreduceMs"] = statistics.median(lone)
        out["allreduceTimes"] = lone
        dist.barrier()
        dist.destroy_process_group()
        results.put(out)
    except Exception as e:  # reported by the parent, which exits 1
        results.put({"rank": rank, "error": f"{type(e).__name__}: {e}"})
        raise


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_runs(args):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # gloo's pairs on loopback, where /proc/net/dev counts them
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    procs = mp.spawn(worker, args=(args, port, results), nprocs=WORKERS, join=False)
    deadline = time.monotonic() + args.timeout

    def stop():
        for p in procs.processes:
            if p.is_alive():
                p.kill()

    got = []
    try:
        signal.signal(signal.SIGTERM, lambda *_: fail("terminated (SIGTERM): stopping the DDP workers"))
        # Results first (a worker blocks on a full pipe until they are read), then the exits.
        while len(got) < WORKERS:
            try:
                got.append(results.get(timeout=1))
                continue
            except queue.Empty:
                pass
            if time.monotonic() > deadline:
                stop()
                fail(f"DDP workers did not finish within {args.timeout:.0f} s")
            procs.join(timeout=0)  # raises if a worker died
        while not procs.join(timeout=1):
            if time.monotonic() > deadline:
                stop()
                fail(f"DDP workers did not exit within {args.timeout:.0f} s")
    except Exception as e:  # torch.multiprocessing's ProcessRaisedException / ProcessExitedException
        fail(f"DDP worker failed: {str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__}")
    finally:  # on every way out, SIGTERM and Ctrl-C included: no worker outlives this process
        stop()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    errors = [r["error"] for r in got if "error" in r]
    if errors:
        fail("DDP worker failed: " + "; ".join(errors))
    return sorted(got, key=lambda r: r["rank"])


def summarise(args, ranks, key):
    rows = [r[key] for r in ranks]
    tx = rows[0]["loopbackTxBytes"]  # read by rank 0 between barriers; both ranks see the same machine-wide counter
    return {"msPerStep": max(r["msPerStep"] for r in rows), "msPerStepByRank": [r["msPerStep"] for r in rows],
            "meanMsPerStep": max(r["meanMsPerStep"] for r in rows),
            "cpuMsPerStep": sum(r["cpuMsPerStep"] for r in rows), "cpuMsPerStepByRank": [r["cpuMsPerStep"] for r in rows],
            "loopbackBytesPerStepPerWorker": tx / args.steps / WORKERS,
            "loopbackRxBytesPerStepPerWorker": rows[0]["loopbackRxBytes"] / args.steps / WORKERS}


def compare(ours_path, figures):
    """Our cluster figures from results.json beside DDP's: one column per gradient exchange the benchmark ran
    (results.json's "clusters"; an older file has only "cluster", one exchange)."""
    try:
        ours = json.load(open(ours_path))
        inproc = ours["inProcess"]
        groups = [(g["exchange"], g["runs"]) for g in ours["clusters"]] if "clusters" in ours else [("cluster", ours["cluster"])]
        in_ms = statistics.mean(r["msPerStep"] for r in inproc)
        in_cpu = statistics.mean(r["cpuMsPerStep"]["process"] for r in inproc)
        # One replica, 1 thread, the whole batch (results.json of this benchmark from issue #10's stop 24 on).
        single = ours.get("singleReplica") or []
        single_ms = statistics.mean(r["msPerStep"] for r in single) if single else None
        single_threads = single[0].get("threads", 1) if single else 1
        cols = []
        for name, runs in groups:
            cl_ms = statistics.mean(r["msPerStep"] for r in runs)
            cl_cpu = statistics.mean(sum(r["cpuMsPerStep"].values()) for r in runs)
            bytes_worker = statistics.mean(r["loopbackBytesPerStep"] for r in runs) / WORKERS  # 2 worker processes
            cols.append({"exchange": name, "msPerStep": cl_ms, "factor": cl_ms / in_ms, "extraCpu": cl_cpu - in_cpu, "bytesWorker": bytes_worker,
                         "efficiency": single_ms / (WORKERS * cl_ms) if single_ms else None})
    except (OSError, ValueError, KeyError, TypeError, statistics.StatisticsError) as e:
        fail(f"{ours_path}: cannot read our cluster figures ({e})")
    d = figures
    ddp_factor = d["ddp"]["msPerStep"] / d["oneProcessThreads"]["msPerStep"]
    ddp_factor_1 = d["ddp"]["msPerStep"] / d["oneProcess"]["msPerStep"]
    # CPU against the 1-thread process: ours in process runs its 2 replicas on 1 thread each, no OpenMP team.
    ddp_cpu = d["ddp"]["cpuMsPerStep"] - d["oneProcess"]["cpuMsPerStep"]
    ddp_bytes = d["ddp"]["loopbackBytesPerStepPerWorker"]
    model = d["modelBytes"]
    p = print
    width = max(12, max(len(c["exchange"]) for c in cols) + 1)
    p()
    p(f"Ours beside PyTorch DDP (ours from {ours_path}; 2 workers each; ours: cluster 1 + 2 processes vs in process")
    p(f"with 2 worker actors, one column per gradient exchange; DDP: 2 processes vs one process with the same {d['threads']} threads,")
    p("and with 1 thread; extra CPU: all processes together minus the one process (DDP: its 1-thread row);")
    p("(/DDP) = ours divided by DDP's figure")
    header = f"{'':<40}" + "".join(f" {c['exchange']:>{width}}" for c in cols) + f" {'DDP':>10}"
    p(header)
    p(f"{'multi-process step time / one process':<40}" + "".join(f" {c['factor']:>{width - 1}.2f}x" for c in cols) + f" {ddp_factor:>9.2f}x")
    p(f"{'  as overhead %':<40}" + "".join(f" {100 * (c['factor'] - 1):>+{width - 1}.1f}%" for c in cols) + f" {100 * (ddp_factor - 1):>+9.1f}%")
    p(f"{'  (/DDP)':<40}" + "".join(f" {c['factor'] / ddp_factor:>{width}.2f}" for c in cols))
    p(f"{'  DDP vs one process, 1 thread':<40}" + "".join(f" {'':>{width}}" for c in cols) + f" {100 * (ddp_factor_1 - 1):>+9.1f}%")
    # Issue #10's measure: 2-process tokens/s / (2 x 1-process tokens/s); both systems' 1-process is one
    # replica on 1 thread with the whole batch, so tokens per step are equal and it is t(1 process) / (2 x t(2 processes)).
    ddp_eff = d["oneProcess"]["msPerStep"] / (WORKERS * d["ddp"]["msPerStep"])
    if single_ms:
        p(f"{'scaling efficiency (1 thread -> 2 procs)':<40}" + "".join(f" {100 * c['efficiency']:>{width - 1}.1f}%" for c in cols)
          + f" {100 * ddp_eff:>9.1f}%")
        p(f"{'  1 process, ms/step (threads: ours ' + str(single_threads) + ', DDP 1)':<40}" + "".join(f" {single_ms:>{width}.1f}" for c in cols)
          + f" {d['oneProcess']['msPerStep']:>10.1f}")
        p(f"{'  goal: ours >= DDP':<40}" + "".join(f" {('met' if c['efficiency'] >= ddp_eff else 'missed'):>{width}}" for c in cols))
    p(f"{'extra CPU ms per step':<40}" + "".join(f" {c['extraCpu']:>+{width}.0f}" for c in cols) + f" {ddp_cpu:>+10.0f}")
    if ddp_cpu > 0:
        p(f"{'  (/DDP)':<40}" + "".join(f" {c['extraCpu'] / ddp_cpu:>{width}.2f}" for c in cols))
    p(f"{'loopback MB per step per worker':<40}" + "".join(f" {c['bytesWorker'] / 1e6:>{width}.2f}" for c in cols) + f" {ddp_bytes / 1e6:>10.2f}")
    p(f"{'  x model (' + f'{model / 1e6:.2f} MB)':<40}" + "".join(f" {c['bytesWorker'] / model:>{width}.2f}" for c in cols) + f" {ddp_bytes / model:>10.2f}")
    p(f"{'  (/DDP)':<40}" + "".join(f" {c['bytesWorker'] / ddp_bytes:>{width}.2f}" for c in cols))
    if any(c["exchange"] == "all-reduce" for c in cols):
        p("  (our all-reduce column moves its payloads through shared memory, cluster.shared-memory = on: lo carries the headers;"
          " all-reduce+socket is the same over loopback TCP, as DDP's gloo sends)")
    p(f"ours: in process {in_ms:.1f} ms -> " + ", ".join(f"{c['exchange']} {c['msPerStep']:.1f} ms" for c in cols)
      + f"; DDP: step {d['oneProcessThreads']['msPerStep']:.1f} -> {d['ddp']['msPerStep']:.1f} ms "
      f"(one process, 1 thread: {d['oneProcess']['msPerStep']:.1f} ms)")
    first = cols[0]
    return {"oursScalingEfficiency": first["efficiency"], "ddpScalingEfficiency": ddp_eff,
            "oursSingleReplicaMsPerStep": single_ms,
            "oursSlowdown": first["factor"], "ddpSlowdown": ddp_factor, "slowdownRatio": first["factor"] / ddp_factor,
            "oursOverheadPercent": 100 * (first["factor"] - 1), "ddpOverheadPercent": 100 * (ddp_factor - 1),
            "oursExtraCpuMsPerStep": first["extraCpu"], "ddpExtraCpuMsPerStep": ddp_cpu,
            "oursBytesPerStepPerWorker": first["bytesWorker"], "ddpBytesPerStepPerWorker": ddp_bytes,
            "bytesRatio": first["bytesWorker"] / ddp_bytes,
            "byExchange": {c["exchange"]: {"overheadPercent": 100 * (c["factor"] - 1), "extraCpuMsPerStep": c["extraCpu"],
                                           "bytesPerStepPerWorker": c["bytesWorker"], "slowdownRatio": c["factor"] / ddp_factor,
                                           "bytesRatio": c["bytesWorker"] / ddp_bytes, "scalingEfficiency": c["efficiency"]} for c in cols}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=60, help="timed steps per configuration (default 60)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before each timed loop (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of the thread-matched one-process row (default nproc)")
    ap.add_argument("--vocab", type=int, default=None,
                    help="vocabulary (default: --ours's, else 9990, that of the benchmark's words10k corpus)")
    ap.add_argument("--embedding-size", type=int, default=200)
    ap.add_argument("--hidden-size", type=int, default=200)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--batch", type=int, default=20, help="streams in all; each DDP worker gets half (default 20)")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--lr", type=float, default=20.0)
    ap.add_argument("--clip", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--allreduce-repeats", type=int, default=5, help="lone all-reduces timed after the DDP loops (default 5)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds the DDP workers may take (default 300)")
    ap.add_argument("--ours", help="results.json of bench/cluster-benchmark.sh: print our figures beside DDP's")
    ap.add_argument("--json", help="also write the JSON line's object here")
    ap.add_argument("--command", default="/usr/bin/python3 bench/ddp/ddp_lm.py", help="the command line to print")
    args = ap.parse_args()
    ours_model = None
    if args.ours:
        try:
            run = json.load(open(args.ours))["cluster"][0]
            ours_model = run["vocabulary"], run["parameters"]
        except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
            fail(f"{args.ours}: cannot read our model's vocabulary and parameters ({e})")
    if args.vocab is None:
        args.vocab = ours_model[0] if ours_model else 9990
    for name in ("steps", "warmup", "threads", "vocab", "batch", "allreduce_repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.batch % WORKERS:
        ap.error(f"--batch {args.batch} does not split into {WORKERS} equal halves")

    params = sum(p.numel() for p in make_model(args).parameters())
    model_bytes = 4 * params
    if ours_model and ours_model[1] != params:
        fail(f"not the same model: ours has {ours_model[1]:,} parameters (vocabulary {ours_model[0]}), this one {params:,} "
             f"(vocabulary {args.vocab})")
    load_before = loadavg()
    print(f"ddp-benchmark: one process, 1 thread ({args.warmup} + {args.steps} steps) ...", file=sys.stderr)
    one = single(args, 1)
    print(f"ddp-benchmark: one process, {args.threads} threads ...", file=sys.stderr)
    one_t = single(args, args.threads)
    torch.set_num_threads(1)
    print(f"ddp-benchmark: DDP, {WORKERS} processes x 1 thread, gloo on 127.0.0.1: DDP, then no_sync, then lone all-reduces ...", file=sys.stderr)
    ranks = ddp_runs(args)
    load_after = loadavg()
    ddp, nosync = summarise(args, ranks, "ddp"), summarise(args, ranks, "noSync")
    allreduce = max(r["allreduceMs"] for r in ranks)
    exposed = ddp["msPerStep"] - nosync["msPerStep"]
    # Hidden by overlap = 1 - exposed / lone all-reduce, only where that is a fraction: when the exposed
    # time is as large as a lone all-reduce or larger, nothing measurable was hidden (the rest is DDP's
    # bucket copies and compute and communication competing for the cores), and no fraction is claimed.
    hidden = 1 - exposed / allreduce if 0 <= exposed < allreduce else None
    blas = os.path.realpath(BLAS_LINK) if os.path.exists(BLAS_LINK) else "unknown"
    figures = {
        "implementation": "pytorch-ddp", "torch": torch.__version__, "blas": blas, "malloc": malloc_setting(), "command": args.command,
        "parameters": params, "modelBytes": model_bytes, "vocabulary": args.vocab, "workers": WORKERS, "threads": args.threads,
        "steps": args.steps, "warmup": args.warmup, "loadBefore": load_before, "loadAfter": load_after,
        "oneProcess": one, "oneProcessThreads": one_t, "ddp": ddp, "noSync": nosync, "ranks": ranks,
        "ddpOverheadPercent": 100 * (ddp["msPerStep"] / one["msPerStep"] - 1),
        "ddpOverheadVsThreadsPercent": 100 * (ddp["msPerStep"] / one_t["msPerStep"] - 1),
        "exposedCommMsPerStep": exposed, "allreduceMs": allreduce, "exposedPerAllreduce": exposed / allreduce, "hiddenFraction": hidden,
    }

    p = print
    p()
    p(f"command: {args.command}")
    p(f"PyTorch {torch.__version__} DDP reference: {args.layers}x{args.hidden_size} LSTM LM, vocabulary {args.vocab:,}, embedding "
      f"{args.embedding_size}, {params:,} parameters ({model_bytes / 1e6:.2f} MB fp32), batch {args.batch}, bptt {args.bptt}, "
      f"dropout {args.dropout}, SGD lr {args.lr:g}, clip {args.clip}; random tokens, seed {args.seed}")
    p(f"{args.warmup} warm-up + {args.steps} timed steps per row; gloo on 127.0.0.1; BLAS {blas}; load average before {load_before}, after {load_after}")
    p(f"glibc malloc: {figures['malloc'] or 'the adaptive defaults (no malloc settings in GLIBC_TUNABLES; bench/cluster-benchmark.sh sets ours)'}")
    if max(float(load_before.split()[0]), float(load_after.split()[0])) > (os.cpu_count() or 1):
        p(f"note: load average above {os.cpu_count()} cores: other work shared them; compare the CPU time per step rather than wall times")
    p()
    p("ms/step = median over the timed steps (DDP: the slower rank's); CPU = process_time per step, all processes;")
    p("lo MB = loopback transmit bytes per step per worker (/proc/net/dev; every byte either worker sent: both directions)")
    p(f"{'run':<34} {'streams':>7} {'ms/step':>8} {'mean':>7} {'CPU ms':>7} {'lo MB/step/worker':>17} {'vs 1 proc':>9}")
    rows = (("one process, 1 thread", f"{args.batch}", one, None),
            (f"one process, {args.threads} threads", f"{args.batch}", one_t, None),
            (f"DDP, {WORKERS} processes x 1 thread", f"{WORKERS}x{args.batch // WORKERS}", ddp, ddp),
            ("DDP no_sync (no all-reduce)", f"{WORKERS}x{args.batch // WORKERS}", nosync, nosync))
    for label, streams, r, net in rows:
        lo = f"{net['loopbackBytesPerStepPerWorker'] / 1e6:>17.2f}" if net else f"{'-':>17}"
        p(f"{label:<34} {streams:>7} {r['msPerStep']:>8.1f} {r['meanMsPerStep']:>7.1f} {r['cpuMsPerStep']:>7.0f} {lo} "
          f"{100 * (r['msPerStep'] / one['msPerStep'] - 1):>+8.1f}%")
    p(f"model size {model_bytes / 1e6:.2f} MB; DDP sent {ddp['loopbackBytesPerStepPerWorker'] / model_bytes:.2f}x the model per step per "
      f"worker; background loopback during the one-process rows {one['backgroundLoopbackBytesPerSecond'] / 1e3:.1f} kB/s")
    p(f"DDP vs one process: {figures['ddpOverheadPercent']:+.1f}% (1 thread), {figures['ddpOverheadVsThreadsPercent']:+.1f}% "
      f"({args.threads} threads); CPU {ddp['cpuMsPerStep'] - one['cpuMsPerStep']:+.0f} ms/step vs 1 thread")
    p(f"communication exposed (DDP - no_sync): {exposed:.1f} ms/step; a lone all-reduce of {model_bytes / 1e6:.2f} MB: "
      f"{allreduce:.1f} ms (median of {args.allreduce_repeats}); "
      + (f"hidden by overlap: {100 * hidden:.0f}% of it" if hidden is not None else
         f"hidden by overlap: none measurable (exposed = {exposed / allreduce:.1f}x a lone all-reduce: DDP's bucket copies, "
         f"and compute and communication share the busy cores)"))
    if args.ours:
        figures["comparison"] = compare(args.ours, figures)
    line = json.dumps(figures)
    if args.json:
        with open(args.json, "w") as f:
            f.write(line + "\n")
    p()
    p(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
