#!/usr/bin/env python3
"""A stand-in for rnncluster (coordinator) and rnncluster-worker, to test the deploy scripts alone.

It accepts the command lines the scripts build (see deploy/rnncluster-node) and behaves like a
node from the outside: it listens on its address, workers join the coordinator through the seeds,
the coordinator "trains" while enough workers answer, and the exit statuses follow the trainer's
interface (coordinator: 0 finished, 130 on SIGINT/SIGTERM after a checkpoint, 1 on errors; worker:
0 when the coordinator finished or on SIGTERM, 1 when no seed answers within the join timeout).
The wire protocol is a few text lines over TCP, nothing like the real transport.

Several coordinators (deploy/local-cluster.sh --coordinators N): one without cluster.seeds is the
first and runs the "singleton" at once, logging the trainer's line for it; one with seeds stands by,
connected to the first seed that accepts, and takes the run over (logging the same line, resuming
when the shared run directory holds a checkpoint) when that connection drops. A coordinator that
finishes writes summary.json; one taking over a finished run exits 0 at once. Only two coordinators
are modelled faithfully: with more, every standby would take over at once (the real cluster's
singleton picks one).

Environment: FAKE_TRAIN_SECONDS (default 2): seconds of training with every worker answering (a
file named fake-finish in the run directory ends the training at once: a test that needs the run
to outlast its faults sets a long time and finishes the run when it is done with them);
FAKE_JOIN_TIMEOUT (default 30): seconds a worker keeps trying the seeds; FAKE_SINGLETON_LINE=0: never
log the singleton line (a trainer that does not log it).
"""

import os
import re
import signal
import socket
import sys
import threading
import time


def log(message):
    print(f"{time.strftime('%H:%M:%S')} fake-{ROLE}: {message}", flush=True)


def parse(argv):
    opts = {"set": [], "seed": []}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--set", "--seed"):
            opts[a[2:]].append(argv[i + 1])
            i += 2
        elif a in ("--config", "--run-dir", "--resume", "--host", "--port", "--data", "--max-steps"):
            opts[a[2:]] = argv[i + 1]
            i += 2
        else:
            opts.setdefault("flags", []).append(a)
            i += 1
    settings = {}
    for item in [s for s in os.environ.get("RNNCLUSTER_SET", "").split(";") if s] + opts["set"]:
        key, _, value = item.partition("=")
        settings[key.strip()] = value.strip().strip('"')
    return opts, settings


def check_secret(settings, host):
    source = settings.get("cluster.secret", "")
    if not source:
        if host not in ("127.0.0.1", "localhost", "::1"):
            log(f"error: cluster.secret is required when binding {host}")
            sys.exit(1)
        return
    if not source.startswith("file:"):
        log(f"error: unsupported secret source {source}")
        sys.exit(1)
    with open(source[5:], "rb") as f:
        if len(f.read().rstrip(b"\r\n")) < 16:
            log("error: cluster secret shorter than 16 bytes")
            sys.exit(1)
    log(f"cluster secret from {source}")


SINGLETON_LINE = "coordinator singleton started on this node"


def seed_list(settings):
    """cluster.seeds as HOCON, e.g. ["127.0.0.1:2552", "127.0.0.1:2553"] -> host:port strings."""
    return re.findall(r"[^\s\[\]\",]+:\d+", settings.get("cluster.seeds", ""))


def follow(seeds):
    """Stand by: stay connected to the first seed that accepts; return when that connection ends."""
    while True:
        for seed in seeds:
            seed_host, _, seed_port = seed.rpartition(":")
            try:
                conn = socket.create_connection((seed_host, int(seed_port)), timeout=1)
            except OSError:
                continue
            conn.settimeout(None)
            log(f"standing by: following {seed}")
            try:
                conn.sendall(b"STANDBY\n")
                while conn.recv(4096):
                    pass
            except OSError:
                pass
            conn.close()
            log(f"lost {seed}: taking the run over")
            return
        time.sleep(0.2)


def listen(host, port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((host, port))
    except OSError as e:
        log(f"error: cannot bind {host}:{port}: {e}")
        sys.exit(1)
    server.listen(16)
    log(f"listening on {host}:{server.getsockname()[1]}")
    return server


def coordinator(opts, settings):
    host = settings.get("cluster.host", "127.0.0.1")
    port = int(settings.get("cluster.port", "2552"))
    min_workers = int(settings.get("cluster.min-workers", "1"))
    run_dir = opts.get("run-dir", ".")
    check_secret(settings, host)
    if "resume" in opts:
        log(f"resumed from {opts['resume']}")
    if settings.get("cluster.test-faults") == "true":
        log(f"transport faults: {os.environ.get('RNNCLUSTER_FAULTS', '')}")
    server = listen(host, port)
    peers = {}  # socket -> [name, last answer time]
    lock = threading.Lock()
    seeds = seed_list(settings)
    active = [not seeds]

    def checkpoint(step):
        path = os.path.join(run_dir, "checkpoints", f"step-{step:09d}")
        os.makedirs(path, exist_ok=True)
        open(os.path.join(path, "COMMITTED"), "w").close()
        log(f"checkpoint: {path}")

    progress = [0.0]

    def on_signal(signum, _frame):
        if active[0]:
            checkpoint(int(progress[0] * 10))
        log(f"interrupted by signal {signum}")
        os._exit(130)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def serve(conn):
        stream = conn.makefile("r")
        for line in stream:
            words = line.split()
            with lock:
                if words and words[0] == "JOIN":
                    peers[conn] = [words[1], time.monotonic()]
                    log(f"worker {words[1]} joined")
                elif words and words[0] == "ACK" and conn in peers:
                    peers[conn][1] = time.monotonic()
        with lock:
            if conn in peers:
                log(f"worker {peers.pop(conn)[0]} left")

    def accept():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    if seeds:
        follow(seeds)
        active[0] = True
    if os.environ.get("FAKE_SINGLETON_LINE", "1") != "0":
        log(SINGLETON_LINE)
    if seeds:
        if os.path.exists(os.path.join(run_dir, "summary.json")):
            log("the run is already finished")
            return 0
        checkpoints = os.path.join(run_dir, "checkpoints")
        if os.path.isdir(checkpoints) and any(os.path.exists(os.path.join(checkpoints, d, "COMMITTED")) for d in os.listdir(checkpoints)):
            log(f"resumed from {run_dir}")
    total = float(os.environ.get("FAKE_TRAIN_SECONDS", "2"))
    was_training = None
    step = 0
    finish_file = os.path.join(run_dir, "fake-finish")
    while progress[0] < total and not os.path.exists(finish_file):
        time.sleep(0.1)
        step += 1
        now = time.monotonic()
        with lock:
            conns = list(peers)
            live = sum(1 for c in conns if now - peers[c][1] < 1.0)
        for c in conns:
            try:
                c.sendall(f"STEP {step}\n".encode())
            except OSError:
                pass
        training = live >= min_workers
        if training != was_training:
            log("training" if training else f"waiting: {live} of {min_workers} workers answer")
            was_training = training
        if training:
            progress[0] += 0.1
    checkpoint(int(progress[0] * 10))
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        f.write("{}\n")
    for c in conns:
        try:
            c.sendall(b"DONE\n")
        except OSError:
            pass
    log("finished all epochs")
    time.sleep(0.2)  # let DONE leave before the sockets close
    return 0


def worker(opts, settings):
    host = opts.get("host", settings.get("cluster.host", "127.0.0.1"))
    port = int(opts.get("port", settings.get("cluster.port", "0")))
    check_secret(settings, host)
    if settings.get("cluster.test-faults") == "true":
        log(f"transport faults: {os.environ.get('RNNCLUSTER_FAULTS', '')}")
    server = listen(host, port)
    name = f"{host}:{server.getsockname()[1]}"
    threading.Thread(target=lambda: [server.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()

    def on_signal(signum, _frame):
        log(f"leaving on signal {signum}")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    join_timeout = float(os.environ.get("FAKE_JOIN_TIMEOUT", "30"))
    seeds = opts["seed"]
    log(f"seeds: {', '.join(seeds)}")
    while True:
        deadline = time.monotonic() + join_timeout
        conn = None
        while conn is None:
            for seed in seeds:
                seed_host, _, seed_port = seed.rpartition(":")
                try:
                    conn = socket.create_connection((seed_host, int(seed_port)), timeout=1)
                    conn.settimeout(None)
                    break
                except OSError:
                    conn = None
            if conn is None:
                if time.monotonic() > deadline:
                    log(f"error: could not join through seeds {', '.join(seeds)} within {join_timeout:g}s")
                    return 1
                time.sleep(0.2)
        try:
            # A coordinator that was just killed may still accept, then reset: that is a lost
            # coordinator like any other.
            conn.sendall(f"JOIN {name}\n".encode())
            log(f"joined through {seed}")
            for line in conn.makefile("r"):
                if line.startswith("STEP"):
                    conn.sendall(f"ACK {line.split()[1]}\n".encode())
                elif line.startswith("DONE"):
                    log("coordinator finished: leaving")
                    return 0
        except OSError as e:
            log(f"connection error: {e}")
        conn.close()
        log("lost the coordinator: joining again")


if __name__ == "__main__":
    ARGS = sys.argv[1:]
    ROLE = "coordinator" if ARGS[:1] == ["train"] else "worker"
    OPTS, SETTINGS = parse(ARGS[1:] if ROLE == "coordinator" else ARGS)
    sys.exit(coordinator(OPTS, SETTINGS) if ROLE == "coordinator" else worker(OPTS, SETTINGS))
