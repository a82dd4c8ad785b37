#!/usr/bin/env python3
"""The verdict of a soak run (bench/soak.sh): reads its output directory, prints a table of checks,
writes it to verdict.txt and exits 0 only when every check holds.

Reads: soak.env (the soak's parameters), faults.csv (every fault, the step it landed after, how long
recovery took), resources.csv (VmRSS/VmHWM/threads/fds per process every sample), run/metrics.jsonl
and run/summary.json (the cluster's run), run/logs/coordinator*.log, reference/metrics.jsonl and
reference/summary.json (the unfailed in-process run of the same steps).
"""

import csv
import json
import os
import re
import statistics
import sys


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            for part in line.split() if not line.startswith("settings=") else [line.strip()]:
                if "=" in part:
                    key, value = part.split("=", 1)
                    env[key] = value
    return env


def read_metrics(path):
    """(train, valid): lists of (step, record) in file order; a line that does not parse is an error."""
    train, valid = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{number}: not JSON ({e})")
            kind = record.get("kind")
            # A skipped step (training.numerics: non-finite or a loss spike) uses up its step number too.
            if kind in ("train", "skipped"):
                train.append((record["step"], record))
            elif kind == "valid":
                valid.append((record["step"], record))
    return train, valid


def lineage(train):
    """Walks the train lines in order. Returns (final, redos, gaps): final = step -> the record that
    the run kept (the last one written for that step); redos = (after_step, resumed_after) for each
    place where the run went back, i.e. recomputed steps it had logged; gaps = (from, to) skipped."""
    final, redos, gaps = {}, [], []
    previous = 0
    for step, record in train:
        if step <= previous:
            redos.append((previous, step - 1))
            # Everything the run logged after the point it resumed from is superseded.
            for s in range(step, previous + 1):
                final.pop(s, None)
        elif step > previous + 1:
            gaps.append((previous + 1, step - 1))
        final[step] = record
        previous = step
    return final, redos, gaps


def last_per_step(records):
    out = {}
    for step, record in records:
        out[step] = record
    return out


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


class Table:
    def __init__(self):
        self.rows = []

    def add(self, check, ok, detail):
        self.rows.append((check, ok, detail))

    def passed(self):
        return all(ok is not False for _, ok, _ in self.rows)

    def render(self):
        width = max(len(c) for c, _, _ in self.rows)
        lines = [f"{'check'.ljust(width)}  result  detail", f"{'-' * width}  ------  ------"]
        for check, ok, detail in self.rows:
            mark = "PASS" if ok is True else "FAIL" if ok is False else "info"
            lines.append(f"{check.ljust(width)}  {mark:<6}  {detail}")
        return "\n".join(lines)


def kb_to_mib(kb):
    return f"{int(kb) / 1024:.1f}"


def main(out):
    env = read_env(os.path.join(out, "soak.env"))
    run = os.path.join(out, "run")
    reference = os.path.join(out, "reference")
    checkpoint_every = int(env["checkpoint_every"])
    tolerance = float(env["loss_tolerance"])
    margin = float(env["memory_margin"])
    # Written by soak.sh since --throughput-floor; older outputs judged at the old fixed 70 %.
    floor = float(env.get("throughput_floor", "0.7"))
    warmup = int(env["warmup"])
    sample_every = int(env["sample_every"])
    table = Table()
    details = []

    # --- faults -------------------------------------------------------------------------------
    faults = read_csv(os.path.join(out, "faults.csv"))
    by_kind = {}
    for fault in faults:
        kind_counts = by_kind.setdefault(fault["kind"], {"injected": 0, "survived": 0})
        kind_counts["injected"] += 1
        if fault["outcome"].startswith("survived"):
            kind_counts["survived"] += 1
    for kind in ("worker-kill", "worker-pause", "coordinator-kill"):
        counts = by_kind.get(kind, {"injected": 0, "survived": 0})
        recovered = [int(f["recovered_s"]) for f in faults if f["kind"] == kind and f["recovered_s"]]
        slowest = f", slowest recovery {max(recovered)} s" if recovered else ""
        not_downed = sum(1 for f in faults if f["kind"] == kind and f["outcome"] == "survived-not-downed")
        extra = f", {not_downed} not downed" if not_downed else ""
        table.add(f"faults: {kind}", counts["injected"] == counts["survived"],
                  f"{counts['survived']} of {counts['injected']} survived{extra}{slowest}")
    cluster_exit = env.get("cluster_exit", "unknown")
    table.add("cluster stopped by SIGTERM", cluster_exit == "130",
              f"exit status {cluster_exit} (130: checkpointed at a step boundary and stopped)")

    # --- steps ---------------------------------------------------------------------------------
    summary_path = os.path.join(run, "summary.json")
    metrics_path = os.path.join(run, "metrics.jsonl")
    if not os.path.exists(summary_path) or not os.path.exists(metrics_path):
        table.add("steps", False, f"missing {summary_path} or {metrics_path}")
        return finish(out, table, details)
    with open(summary_path, encoding="utf-8") as f:
        summary = json.load(f)
    steps = summary["steps"]
    train, valid = read_metrics(metrics_path)
    final, redos, gaps = lineage(train)
    contiguous = sorted(final) == list(range(1, steps + 1))
    table.add("steps: lineage 1..N", contiguous and not gaps,
              f"N = {steps}; final lineage {'is' if contiguous else 'is NOT'} 1..{steps}; "
              f"{len(gaps)} gaps{(' ' + str(gaps[:5])) if gaps else ''}"
              + ("" if contiguous else f"; missing {sorted(set(range(1, steps + 1)) - set(final))[:5]}, beyond N {sorted(s for s in final if s > steps)[:5]}"))
    coordinator_kills = by_kind.get("coordinator-kill", {}).get("injected", 0)
    lost = [after - resumed for after, resumed in redos]
    table.add("steps: redone only after coordinator kills", len(redos) <= coordinator_kills,
              f"{len(redos)} resumes behind the last logged step, {coordinator_kills} coordinator kills "
              f"(a worker fault must cost no step)")
    worst = max(lost) if lost else 0
    table.add("steps lost per coordinator kill", worst <= checkpoint_every,
              f"total {sum(lost)}, per kill {lost or '[]'}; at most {checkpoint_every} (checkpoint.every-steps)")
    details.append("resumes (last logged step -> resumed after step): " + (", ".join(f"{a}->{r}" for a, r in redos) or "none"))

    # Logged resumes, for the record: standby rebuilds and checkpoint resumes.
    for name in sorted(os.listdir(os.path.join(run, "logs"))):
        if not name.startswith("coordinator"):
            continue
        with open(os.path.join(run, "logs", name), encoding="utf-8", errors="replace") as f:
            for line in f:
                if ("Rebuilt the run from the workers" in line or "Not rebuilding from the workers" in line
                        or "resuming after step" in line):
                    details.append(f"{name}: {line.strip()[:200]}")

    # --- the reference -------------------------------------------------------------------------
    reference_summary = os.path.join(reference, "summary.json")
    if not os.path.exists(reference_summary):
        table.add("reference run", False, f"missing {reference_summary} (see reference.log)")
        return finish(out, table, details)
    with open(reference_summary, encoding="utf-8") as f:
        ref = json.load(f)
    ref_train, ref_valid = read_metrics(os.path.join(reference, "metrics.jsonl"))
    ref_steps = last_per_step(ref_train)
    table.add("tokens: exactly N steps' worth", summary["tokensTrained"] == ref["tokensTrained"] and ref["steps"] == steps,
              f"run {summary['tokensTrained']} tokens in {steps} steps, unfailed reference {ref['tokensTrained']} in {ref['steps']}")

    # Until the first fault nothing differs from the reference: the same floats, step for step.
    first_fault = min((int(f["after_step"]) for f in faults if f["after_step"]), default=steps)
    prefix = [s for s in range(1, min(first_fault, steps) + 1)]
    mismatched = [s for s in prefix if s in final and s in ref_steps and final[s]["loss"] != ref_steps[s]["loss"]]
    table.add("prefix before the first fault bit-identical", bool(prefix) and not mismatched,
              f"steps 1..{len(prefix)}: {len(mismatched)} losses differ from the reference"
              + (f" (first at step {mismatched[0]})" if mismatched else ""))

    # The final validation loss: the last validation step both runs logged.
    run_valid = last_per_step([(s, r) for s, r in valid if s in final or s == steps])
    ref_valid_by_step = last_per_step(ref_valid)
    common = sorted(set(run_valid) & set(ref_valid_by_step))
    if common:
        at = common[-1]
        a, b = run_valid[at]["loss"], ref_valid_by_step[at]["loss"]
        rel = abs(a - b) / abs(b)
        table.add("final validation loss vs unfailed", rel <= tolerance,
                  f"at step {at}: {a:.5f} vs {b:.5f}, relative difference {rel:.4%} (tolerance {tolerance:.1%})")
    else:
        table.add("final validation loss vs unfailed", False, "no validation step logged by both runs")

    # --- resources -----------------------------------------------------------------------------
    samples = read_csv(os.path.join(out, "resources.csv"))
    lineages = {}
    for row in samples:
        lineages.setdefault((row["node"], row["pid"]), []).append(row)
    memory_ok, handles_ok, judged = True, True, 0
    details.append("")
    details.append("memory per process lineage (MiB; baseline = the first sample a warm-up after the lineage started, or after it took the coordinator singleton over)")
    details.append(f"{'node':<14} {'pid':>7} {'from':>6} {'base@s':>6} {'rss':>7} {'hwm':>7} {'last@s':>6} {'rss':>7} {'hwm':>7} "
                   f"{'thr':>9} {'fds':>9}  verdict")
    takeovers = takeover_times(run, samples)
    for (node, pid), rows in sorted(lineages.items(), key=lambda kv: (int(kv[1][0]["elapsed_s"]), kv[0][0])):
        first = int(rows[0]["elapsed_s"])
        # A standby that takes the run over opens its files and the workers' connections and starts
        # training: its baseline is taken after that, like a process's after its start.
        took_over = [t for t in takeovers.get(node, []) if first - sample_every <= t <= int(rows[-1]["elapsed_s"])]
        if took_over:
            first = max(first, took_over[-1])
        base = next((r for r in rows if int(r["elapsed_s"]) >= first + warmup), None)
        last = rows[-1]
        if base is None or int(last["elapsed_s"]) - int(base["elapsed_s"]) < 2 * sample_every:
            details.append(f"{node:<14} {pid:>7} {first:>6} {'-':>6} {'':>7} {'':>7} {last['elapsed_s']:>6} "
                           f"{kb_to_mib(last['vm_rss_kb']):>7} {kb_to_mib(last['vm_hwm_kb']):>7} {'':>9} {'':>9}  too short to judge")
            continue
        judged += 1
        rss_ok = int(last["vm_rss_kb"]) <= int(base["vm_rss_kb"]) * (1 + margin)
        hwm_ok = int(last["vm_hwm_kb"]) <= int(base["vm_hwm_kb"]) * (1 + margin)
        # Thread pools grow and shrink by a few; a queue that needs a thread or a socket per item does not.
        thr_ok = int(last["threads"]) <= int(base["threads"]) + 8
        fds_ok = int(last["fds"]) <= int(base["fds"]) + 16
        memory_ok &= rss_ok and hwm_ok
        handles_ok &= thr_ok and fds_ok
        verdict = "flat" if rss_ok and hwm_ok and thr_ok and fds_ok else "GROWS"
        details.append(f"{node:<14} {pid:>7} {first:>6} {base['elapsed_s']:>6} {kb_to_mib(base['vm_rss_kb']):>7} {kb_to_mib(base['vm_hwm_kb']):>7} "
                       f"{last['elapsed_s']:>6} {kb_to_mib(last['vm_rss_kb']):>7} {kb_to_mib(last['vm_hwm_kb']):>7} "
                       f"{base['threads'] + '->' + last['threads']:>9} {base['fds'] + '->' + last['fds']:>9}  {verdict}")
    table.add("memory flat per lineage (VmRSS, VmHWM)", memory_ok and judged > 0,
              f"{judged} of {len(lineages)} lineages long enough to judge; last sample within {margin:.0%} of the baseline")
    table.add("no growing queue (threads, fds)", handles_ok and judged > 0,
              "last sample within +8 threads and +16 fds of the baseline, per judged lineage")

    # Step throughput: a queue that grows delays every step. Compare the median tokens/s of the first and
    # last tenth of the final lineage (the coordinator's fixed window delay dominates a step).
    ordered = [final[s]["tokensPerSecond"] for s in sorted(final) if "tokensPerSecond" in final[s]]
    tenth = max(1, len(ordered) // 10)
    if len(ordered) >= 20:
        early, late = statistics.median(ordered[:tenth]), statistics.median(ordered[-tenth:])
        table.add("no growing queue (step throughput)", late >= floor * early,
                  f"median tokens/s first tenth {early:.0f}, last tenth {late:.0f} (at least {floor:.0%})")
    deadline_lines = 0
    for name in os.listdir(os.path.join(run, "logs")):
        if name.startswith("coordinator"):
            with open(os.path.join(run, "logs", name), encoding="utf-8", errors="replace") as f:
                deadline_lines += sum(1 for line in f if "passed its deadline" in line)
    launcher_log = os.path.join(run, "logs", "launcher.log")
    unstoppable = []
    if os.path.exists(launcher_log):
        with open(launcher_log, encoding="utf-8", errors="replace") as f:
            unstoppable = [line.split(":", 1)[1].strip() for line in f if "did not stop within" in line]
    table.add("nodes that ignored the final SIGTERM", None,
              f"{len(unstoppable)}" + (f": {'; '.join(unstoppable)}" if unstoppable else ""))
    skipped = sum(1 for s in final if final[s].get("kind") == "skipped")
    table.add("steps skipped by training.numerics", None, f"{skipped} in the final lineage")
    table.add("steps past parallel.step-deadline", None, f"{deadline_lines} warnings in the coordinator logs")
    return finish(out, table, details)


def takeover_times(run, samples):
    """node -> elapsed seconds (on resources.csv's clock) at which that coordinator's node started the
    coordinator singleton. Log lines carry the UTC time of day only: matched against the samples' day."""
    import datetime
    if not samples:
        return {}
    start = datetime.datetime.strptime(samples[0]["time"], "%Y-%m-%dT%H:%M:%SZ") - datetime.timedelta(seconds=int(samples[0]["elapsed_s"]))
    pattern = re.compile(r"^info: (\d\d:\d\d:\d\d)\.\d+ The coordinator singleton started on this node")
    out = {}
    for name in os.listdir(os.path.join(run, "logs")):
        if not name.startswith("coordinator"):
            continue
        with open(os.path.join(run, "logs", name), encoding="utf-8", errors="replace") as f:
            for line in f:
                m = pattern.match(line)
                if m:
                    t = datetime.datetime.combine(start.date(), datetime.time.fromisoformat(m.group(1)))
                    if t < start - datetime.timedelta(hours=12):
                        t += datetime.timedelta(days=1)
                    out.setdefault(name[:-4], []).append(int((t - start).total_seconds()))
    return out


def finish(out, table, details):
    text = table.render() + "\n\n" + "\n".join(details) + "\n"
    text += f"\nverdict: {'PASS' if table.passed() else 'FAIL'}\n"
    with open(os.path.join(out, "verdict.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0 if table.passed() else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: verdict.py SOAK-OUTPUT-DIR\n")
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
