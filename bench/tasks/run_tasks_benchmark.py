#!/usr/bin/env python3
"""Driver of bench/tasks-benchmark.sh: for each configuration, trains RnnCluster (`rnncluster train
--plain`, figures from the run's summary.json) and the PyTorch equivalent (pytorch_taskbench.py) with
the same settings, one after the other on the same machine, and prints the table.

    /usr/bin/python3 bench/tasks/run_tasks_benchmark.py --cli bench/out/bin/rnncluster.dll --out bench/out/tasks

Speed is counted targets per second of training (examples for acceptors, target tokens incl. <eos>
for the encoder-decoder, next characters for the LM), excluding data loading and evaluation on both
sides (ours: summary.json tokensPerSecond = tokensTrained / training seconds); "wall" is the whole
process, data loading, evaluation and decoding included, timed by this driver for both.
"""

import argparse
import json
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(command, log_path, env):
    started = time.perf_counter()
    with open(log_path, "w") as f:
        p = subprocess.run(command, stdout=subprocess.PIPE, stderr=f, env=env, text=True)
    wall = time.perf_counter() - started
    if p.returncode != 0:
        with open(log_path, "a") as f:
            f.write(p.stdout)
        sys.exit(f"tasks-benchmark: {command[:3]} failed with {p.returncode} (log: {log_path})")
    return p.stdout, wall


def ours(args, name, data, settings, env):
    run_dir = os.path.join(args.out, "runs", name)
    subprocess.run(["rm", "-rf", run_dir], check=True)
    command = ["dotnet", args.cli, "train", "--data", data, "--run-dir", run_dir, "--plain"]
    for key, value in settings:
        command += ["--set", f"{key}={value}"]
    stdout, wall = run(command, os.path.join(args.out, "logs", f"{name}.log"), env)
    with open(os.path.join(args.out, "logs", f"{name}.log"), "a") as f:
        f.write(stdout)
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    summary["wall"] = wall
    # summary.json's tokensPerSecond divides by the run's training seconds, which include the final
    # valid/test evaluation (and decoding) when no epoch ended first: the training speed is the mean
    # of metrics.jsonl's train intervals instead.
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    train = [line["tokensPerSecond"] for line in lines if line.get("kind") == "train"]
    if not train:
        sys.exit(f"tasks-benchmark: {run_dir}/metrics.jsonl has no train interval (raise the steps or lower log-every)")
    summary["trainSpeed"] = sum(train) / len(train)
    summary["testTokens"] = next((line.get("tokens") for line in lines if line.get("kind") == "test"), None)
    return summary


def pytorch(args, name, kind, options, env):
    command = [sys.executable, os.path.join(here, "pytorch_taskbench.py"), kind] + options
    stdout, wall = run(command, os.path.join(args.out, "logs", f"{name}.log"), env)
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def partial(row):
    """Each row as soon as it is measured (stderr), so a cut-short run still leaves its figures."""
    log(f"ROW {row['config']}: ours {row['ours']} {row['ours_speed']:.0f} {row['unit']} wall {row['ours_wall']:.0f} s | "
        f"pytorch {row['pytorch']} {row['pt_speed']:.0f} {row['unit']} wall {row['pt_wall']:.0f} s")
    return row


def common(threads, seed):
    return [("runtime.threads", threads), ("runtime.seed", seed), ("parallel.workers", 0),
            ("model.dropout.embedding", 0), ("model.dropout.between-layers", 0), ("model.dropout.output", 0),
            ("training.optimizer", "adam"), ("training.schedule", "constant"), ("training.weight-decay", 0),
            ("checkpoint.every-steps", 0), ("training.eval-every-steps", 0)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--data-dir", default=os.path.expanduser("~/.cache/rnncluster/datasets"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="spam-assassin,cmudict,moby-dick")
    parser.add_argument("--spam-epochs", type=int, default=1)
    parser.add_argument("--spam-steps", type=int, default=146)
    parser.add_argument("--cmudict-steps", type=int, default=600)
    parser.add_argument("--moby-steps", type=int, default=600)
    parser.add_argument("--poolings", default="last,mean,max,attention")
    args = parser.parse_args()
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    only = args.only.split(",")
    seed, t = 1234, args.threads
    rows, notes = [], []

    if "spam-assassin" in only:
        s = {"emb": 64, "hidden": 64, "min": 3, "maxlen": 200, "batch": 32, "lr": 0.003, "clip": 1.0}
        notes.append(f"spam-assassin: BiLSTM 1x{s['hidden']} (embedding {s['emb']}), linear head, word tokens, min-count {s['min']}, "
                     f"max-length {s['maxlen']} (truncate), batch {s['batch']}, Adam lr {s['lr']}, clip {s['clip']}, "
                     f"no dropout, {args.spam_steps} steps (146 steps = 1 epoch), test split")
        for pooling in args.poolings.split(","):
            log(f"spam-assassin {pooling}: ours ...")
            o = ours(args, f"spam-{pooling}-ours", "fetched:spam-assassin", common(t, seed) + [
                ("model.bidirectional", "true"), ("model.pooling", pooling), ("model.layers", 1),
                ("model.embedding-size", s["emb"]), ("model.hidden-size", s["hidden"]), ("data.min-count", s["min"]),
                ("data.max-length", s["maxlen"]), ("data.batch-size", s["batch"]), ("data.eval-batch-size", 64),
                ("training.learning-rate", s["lr"]), ("training.clip-norm", s["clip"]), ("training.epochs", args.spam_epochs), ("training.max-steps", args.spam_steps),
                ("training.log-every-steps", 20)], env)
            log(f"spam-assassin {pooling}: pytorch ...")
            p = pytorch(args, f"spam-{pooling}-pytorch", "acceptor", [
                "--data", os.path.join(args.data_dir, "spam-assassin"), "--bidirectional", "--pooling", pooling,
                "--embedding", str(s["emb"]), "--hidden", str(s["hidden"]), "--min-count", str(s["min"]),
                "--max-length", str(s["maxlen"]), "--batch-size", str(s["batch"]), "--lr", str(s["lr"]),
                "--clip", str(s["clip"]), "--epochs", str(args.spam_epochs), "--max-steps", str(args.spam_steps), "--threads", str(t), "--seed", str(seed)], env)
            rows.append(partial({
                "config": f"spam-assassin BiLSTM {pooling}",
                "ours": f"acc {o['testAccuracy']:.4f} F1 {o['testScores']['macroF1']:.4f}",
                "pytorch": f"acc {p['test']['accuracy']:.4f} F1 {p['test']['macroF1']:.4f}",
                "unit": "ex/s", "ours_speed": o["trainSpeed"], "pt_speed": p["targetsPerSecond"],
                "ours_wall": o["wall"], "pt_wall": p["wall"], "ours_steps": o["steps"], "pt_steps": p["steps"],
                "vocab": (None, p["vocabulary"]), "ours_raw": o, "pt_raw": p}))

    if "cmudict" in only:
        s = {"emb": 32, "hidden": 128, "batch": 64, "lr": 0.003, "clip": 1.0}
        notes.append(f"cmudict: encoder-decoder, BiLSTM encoder 1x{s['hidden']} + bridge, LSTM decoder 1x{s['hidden']}, "
                     f"embeddings {s['emb']}, chars -> phoneme words, min-count 1, batch {s['batch']}, Adam lr {s['lr']}, "
                     f"clip {s['clip']}, no dropout, {args.cmudict_steps} steps, greedy decoding of the whole test split; "
                     f"PER = total token edit distance / total reference phonemes (ours: mean editDistance x examples / "
                     f"reference phonemes counted from test.tsv)")
        log("cmudict: ours ...")
        o = ours(args, "cmudict-ours", "fetched:cmudict", common(t, seed) + [
            ("model.bidirectional", "true"), ("model.layers", 1), ("model.embedding-size", s["emb"]),
            ("model.decoder-embedding-size", s["emb"]), ("model.hidden-size", s["hidden"]), ("model.beam-width", 1),
            ("data.min-count", 1), ("data.batch-size", s["batch"]), ("data.eval-batch-size", 64),
            ("training.learning-rate", s["lr"]), ("training.clip-norm", s["clip"]), ("training.max-steps", args.cmudict_steps),
            ("training.epochs", 1), ("training.log-every-steps", 20)], env)
        log("cmudict: pytorch ...")
        p = pytorch(args, "cmudict-pytorch", "seq2seq", [
            "--data", os.path.join(args.data_dir, "cmudict"), "--bidirectional", "--embedding", str(s["emb"]),
            "--hidden", str(s["hidden"]), "--batch-size", str(s["batch"]), "--lr", str(s["lr"]), "--clip", str(s["clip"]),
            "--max-steps", str(args.cmudict_steps), "--epochs", "1", "--threads", str(t), "--seed", str(seed), "--log-every", "20"], env)
        ref, n = p["test"]["referenceTokens"], p["test"]["examples"]
        ours_per = o["testScores"]["editDistance"] * n / ref
        rows.append(partial({
            "config": "cmudict enc-dec (greedy)",
            "ours": f"PER {ours_per:.4f} exact {o['testScores']['exactMatch']:.4f}",
            "pytorch": f"PER {p['test']['per']:.4f} exact {p['test']['exactMatch']:.4f}",
            "unit": "tok/s", "ours_speed": o["trainSpeed"], "pt_speed": p["targetsPerSecond"],
            "ours_wall": o["wall"], "pt_wall": p["wall"], "ours_steps": o["steps"], "pt_steps": p["steps"],
            "ours_raw": o, "pt_raw": p}))

    if "moby-dick" in only:
        s = {"emb": 32, "hidden": 128, "batch": 16, "bptt": 50, "lr": 0.003, "clip": 1.0}
        notes.append(f"moby-dick: char LM, LSTM 1x{s['hidden']} (embedding {s['emb']}, untied), batch {s['batch']} streams, "
                     f"bptt {s['bptt']}, Adam lr {s['lr']}, clip {s['clip']}, no dropout, {args.moby_steps} steps, "
                     f"test bits per character (<eos> at line ends counted as a character; eval 10 streams)")
        log("moby-dick: ours ...")
        o = ours(args, "moby-ours", "fetched:moby-dick", common(t, seed) + [
            ("data.tokenizer", "char"), ("model.layers", 1), ("model.embedding-size", s["emb"]),
            ("model.hidden-size", s["hidden"]), ("model.tie-weights", "false"), ("data.min-count", 1),
            ("data.batch-size", s["batch"]), ("data.bptt", s["bptt"]), ("data.random-bptt", "false"),
            ("data.eval-batch-size", 10), ("training.learning-rate", s["lr"]), ("training.clip-norm", s["clip"]),
            ("training.max-steps", args.moby_steps), ("training.log-every-steps", 20)], env)
        log("moby-dick: pytorch ...")
        p = pytorch(args, "moby-pytorch", "lm", [
            "--data", os.path.join(args.data_dir, "moby-dick"), "--embedding", str(s["emb"]), "--hidden", str(s["hidden"]),
            "--batch-size", str(s["batch"]), "--bptt", str(s["bptt"]), "--eval-batch-size", "10", "--lr", str(s["lr"]),
            "--clip", str(s["clip"]), "--max-steps", str(args.moby_steps), "--epochs", "100", "--threads", str(t),
            "--seed", str(seed)], env)
        rows.append(partial({
            "config": "moby-dick char LSTM",
            "ours": f"bpc {o['testBitsPerToken']:.4f}",
            "pytorch": f"bpc {p['test']['bpc']:.4f}",
            "unit": "char/s", "ours_speed": o["trainSpeed"], "pt_speed": p["targetsPerSecond"],
            "ours_wall": o["wall"], "pt_wall": p["wall"], "ours_steps": o["steps"], "pt_steps": p["steps"],
            "ours_raw": o, "pt_raw": p}))

    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"rows": rows, "notes": notes}, f, indent=1)
    print(f"RnnCluster vs PyTorch {rows[0]['pt_raw']['torch'] if rows else ''}, {t} threads each, OPENBLAS_NUM_THREADS=1, seed {seed}, run one after the other")
    for n in notes:
        print(f"- {n}")
    print()
    print("| configuration | ours (test) | ours speed | ours wall | PyTorch (test) | PyTorch speed | PyTorch wall | speed ours/PyTorch |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['ours']} | {r['ours_speed']:.0f} {r['unit']} | {r['ours_wall']:.0f} s | {r['pytorch']} | "
              f"{r['pt_speed']:.0f} {r['unit']} | {r['pt_wall']:.0f} s | {r['ours_speed'] / r['pt_speed']:.2f} |")
    print()
    for r in rows:
        extra = ""
        if "vocabulary" in r["pt_raw"]:
            extra = f", PyTorch vocabulary {r['pt_raw']['vocabulary']}"
            if "targetVocabulary" in r["pt_raw"]:
                extra += f"/{r['pt_raw']['targetVocabulary']}"
        print(f"{r['config']}: test tokens ours {r['ours_raw'].get('testTokens')}; steps ours {r['ours_steps']} / PyTorch {r['pt_steps']}; train targets ours "
              f"{r['ours_raw']['tokensTrained']} / PyTorch {r['pt_raw']['trainTargets']}{extra}")


if __name__ == "__main__":
    main()
