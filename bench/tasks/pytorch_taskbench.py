#!/usr/bin/env python3
"""The PyTorch side of bench/tasks-benchmark.sh: RnnCluster's task models and training loops on the
fetched data sets, with the same data files, tokenisation, vocabulary, model, optimizer and budget.

    /usr/bin/python3 bench/tasks/pytorch_taskbench.py acceptor --data DIR --pooling max [...]
    /usr/bin/python3 bench/tasks/pytorch_taskbench.py seq2seq  --data DIR [...]
    /usr/bin/python3 bench/tasks/pytorch_taskbench.py lm       --data DIR [...]

Prints one JSON object on stdout (metrics, counts, vocabulary sizes, training seconds, counted
targets per second); progress goes to stderr.

The rules copied from Shared/Data and Shared/Training:
- TSV lines are FIELD<TAB>FIELD split at the first tab; word tokens split on .NET whitespace, char
  tokens are code points (lm_data.tokenize, without the <eos> a task example does not get);
- task vocabulary: <unk> <eos> <pad> <bos>, then training tokens seen >= min-count times by
  descending count (ties ordinal); labels in ordinal order;
- max-length: an example longer than it (source, or target for encoder-decoders) is truncated;
- batches: each epoch shuffles the examples, takes pools of batch-size x 50, sorts each pool longest
  first, cuts it into batches and shuffles the batches (BucketBatcher; our shuffles differ in RNG);
- loss: mean cross-entropy over the step's counted targets (one per acceptor example; every target
  token plus <eos> for encoder-decoders; every next token for the LM), clipped to the global norm,
  then the optimizer step;
- initialisation: embeddings uniform(+-init-range), LSTM and Linear PyTorch/libtorch defaults, the
  LSTM forget gate's input bias = forget-bias and its hidden bias 0, attention query uniform(+-1/sqrt F);
- metrics: accuracy and macro-F1 (mean over the classes seen in gold or predictions of
  2TP/(2TP+FP+FN)); greedy decoding up to 2 x (batch source length) + 2 tokens, the output cut at
  <eos>, token edit distance against the reference (target ids, <unk> included, no <eos>);
  LM: the split's ids in eval-batch-size streams, bptt windows, state carried, mean loss / ln 2.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "lm"))
import lm_data  # noqa: E402
from pytorch_lm import RNNModel, repackage_hidden  # noqa: E402
from pytorch_tasks import Acceptor, Seq2Seq  # noqa: E402

PAD, BOS, EOS, UNK = 2, 3, 1, 0
FIRST = 4


def log(message):
    print(message, file=sys.stderr, flush=True)


def read_pairs(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            first, second = line.split("\t", 1)
            pairs.append((first, second))
    return pairs


def tokens_of(text, kind):
    return [t for t in lm_data.tokenize(text, kind) if t != lm_data.END_OF_SENTENCE]


def task_vocabulary(sequences, min_count):
    counted = lm_data.build_vocabulary([t for s in sequences for t in s], min_count)[2:]
    return ["<unk>", "<eos>", "<pad>", "<bos>"] + counted


_indexes = {}


def encode(tokens, vocabulary):
    index = _indexes.get(id(vocabulary))
    if index is None:
        index = _indexes[id(vocabulary)] = {t: i for i, t in enumerate(vocabulary)}
    return [index.get(t, UNK) for t in tokens]


def bucket_batches(count, lengths, batch_size, rng, pool_batches=50):
    order = list(range(count))
    rng.shuffle(order)
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, count, pool):
        rows = sorted(order[start:start + pool], key=lambda i: -lengths[i])
        batches.extend(rows[i:i + batch_size] for i in range(0, len(rows), batch_size))
    rng.shuffle(batches)
    return batches


def padded(sequences, fill=PAD):
    steps = max(len(s) for s in sequences)
    t = torch.full((steps, len(sequences)), fill, dtype=torch.long)
    for b, s in enumerate(sequences):
        t[:len(s), b] = torch.tensor(s, dtype=torch.long)
    return t


def initialise(module, init_range, forget_bias):
    """RnnCluster's rules on top of PyTorch's defaults (which equal libtorch's)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("embedding.weight") or name == "encoder.weight":
                p.uniform_(-init_range, init_range)
            elif name == "attention.query":
                p.uniform_(-1.0 / math.sqrt(p.numel()), 1.0 / math.sqrt(p.numel()))
        for rnn in module.modules():
            if isinstance(rnn, nn.LSTM):
                h = rnn.hidden_size
                for name, p in rnn.named_parameters():
                    if name.startswith("bias_ih"):
                        p[h:2 * h].fill_(forget_bias)
                    elif name.startswith("bias_hh"):
                        p[h:2 * h].zero_()


def optimizer_for(model, args):
    return torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-8)


def macro_f1(gold, predicted):
    counts = {}
    for g, p in zip(gold, predicted):
        if g == p:
            c = counts.setdefault(g, [0, 0, 0])
            c[0] += 1
        else:
            counts.setdefault(g, [0, 0, 0])[2] += 1
            counts.setdefault(p, [0, 0, 0])[1] += 1
    return sum(2 * tp / (2 * tp + fp + fn) for tp, fp, fn in counts.values()) / len(counts)


def edit_distance(a, b):
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
        previous = current
    return previous[-1]


def train_steps(args, batches_of_epoch, step_fn, model):
    """Runs epochs of batches until args.epochs or args.max_steps; returns (steps, targets, seconds, last loss)."""
    optimizer = optimizer_for(model, args)
    steps, targets, loss_sum = 0, 0, 0.0
    started = time.perf_counter()
    for epoch in range(args.epochs):
        for batch in batches_of_epoch(epoch):
            if args.max_steps and steps >= args.max_steps:
                break
            model.train()
            optimizer.zero_grad()
            loss, count = step_fn(batch)
            (loss / count).backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            steps += 1
            targets += count
            loss_sum += loss.item()
            if steps % args.log_every == 0:
                log(f"step {steps}: loss {loss_sum / targets:.4f}, {targets / (time.perf_counter() - started):.0f} targets/s")
        if args.max_steps and steps >= args.max_steps:
            break
    seconds = time.perf_counter() - started
    return steps, targets, seconds


# ---------------------------------------------------------------- acceptor

def acceptor(args):
    splits = {s: read_pairs(os.path.join(args.data, f"{s}.tsv")) for s in ("train", "valid", "test")}
    tokens = {s: [tokens_of(text, "word") for _, text in pairs] for s, pairs in splits.items()}
    vocabulary = task_vocabulary(tokens["train"], args.min_count)
    labels = sorted({label for label, _ in splits["train"]})
    data = {}
    truncated = {}
    for s in splits:
        ids = [encode(t, vocabulary) for t in tokens[s]]
        truncated[s] = sum(len(x) > args.max_length for x in ids)
        ids = [x[:args.max_length] for x in ids]
        data[s] = (ids, [labels.index(label) for label, _ in splits[s]])
    config = {"vocabulary": len(vocabulary), "embedding": args.embedding, "hidden": args.hidden, "layers": args.layers,
              "cell": "lstm", "bidirectional": args.bidirectional, "pooling": args.pooling, "head_hidden": 0,
              "head_activation": "tanh", "classes": len(labels)}
    model = Acceptor(config)
    initialise(model, args.init_range, args.forget_bias)
    log(f"acceptor {args.pooling}: vocabulary {len(vocabulary)}, {len(labels)} labels, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, examples {[len(data[s][0]) for s in data]}")
    rng = random.Random(args.seed)
    ids, gold = data["train"]
    lengths = [len(x) for x in ids]

    def step(rows):
        tokens_ = padded([ids[i] for i in rows])
        logits = model(tokens_, torch.tensor([lengths[i] for i in rows]))
        return F.cross_entropy(logits, torch.tensor([gold[i] for i in rows]), reduction="sum"), len(rows)

    steps, targets, seconds = train_steps(args, lambda e: bucket_batches(len(ids), lengths, args.batch_size, rng), step, model)

    @torch.no_grad()
    def evaluate(split):
        model.eval()
        xs, ys = data[split]
        order = sorted(range(len(xs)), key=lambda i: -len(xs[i]))
        predicted = {}
        for start in range(0, len(order), args.eval_batch_size):
            rows = order[start:start + args.eval_batch_size]
            logits = model(padded([xs[i] for i in rows]), torch.tensor([len(xs[i]) for i in rows]))
            for i, p in zip(rows, logits.argmax(1).tolist()):
                predicted[i] = p
        p = [predicted[i] for i in range(len(xs))]
        return {"accuracy": sum(a == b for a, b in zip(p, ys)) / len(ys), "macroF1": macro_f1(ys, p), "examples": len(ys)}

    return {"vocabulary": len(vocabulary), "steps": steps, "trainTargets": targets, "trainSeconds": seconds,
            "targetsPerSecond": targets / seconds, "truncated": truncated,
            "valid": evaluate("valid"), "test": evaluate("test")}


# ---------------------------------------------------------------- encoder-decoder

def seq2seq(args):
    splits = {s: read_pairs(os.path.join(args.data, f"{s}.tsv")) for s in ("train", "valid", "test")}
    sources = {s: [tokens_of(a, "char") for a, _ in p] for s, p in splits.items()}
    targets = {s: [tokens_of(b, "word") for _, b in p] for s, p in splits.items()}
    source_vocabulary = task_vocabulary(sources["train"], args.min_count)
    target_vocabulary = task_vocabulary(targets["train"], args.min_count)
    data, truncated = {}, {}
    for s in splits:
        xs = [encode(t, source_vocabulary) for t in sources[s]]
        ys = [encode(t, target_vocabulary) for t in targets[s]]
        truncated[s] = sum(len(x) > args.max_length or len(y) > args.max_length for x, y in zip(xs, ys))
        data[s] = ([x[:args.max_length] for x in xs], [y[:args.max_length] for y in ys])
    config = {"vocabulary": len(source_vocabulary), "target_vocabulary": len(target_vocabulary), "embedding": args.embedding,
              "decoder_embedding": args.decoder_embedding or args.embedding, "hidden": args.hidden, "layers": args.layers,
              "cell": "lstm", "bidirectional": args.bidirectional}
    model = Seq2Seq(config)
    initialise(model, args.init_range, args.forget_bias)
    log(f"seq2seq: vocabularies {len(source_vocabulary)} / {len(target_vocabulary)}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, examples {[len(data[s][0]) for s in data]}")
    rng = random.Random(args.seed)
    xs, ys = data["train"]
    lengths = [len(x) for x in xs]

    def step(rows):
        src = padded([xs[i] for i in rows])
        dec_in = padded([[BOS] + ys[i] for i in rows])
        dec_out = padded([ys[i] + [EOS] for i in rows], fill=-1)
        logits = model(src, torch.tensor([lengths[i] for i in rows]), dec_in)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), dec_out.reshape(-1), ignore_index=-1, reduction="sum")
        return loss, int((dec_out != -1).sum())

    steps, trained, seconds = train_steps(args, lambda e: bucket_batches(len(xs), lengths, args.batch_size, rng), step, model)

    @torch.no_grad()
    def evaluate(split):
        model.eval()
        sx, sy = data[split]
        limit = len(sx) if args.eval_limit <= 0 else min(args.eval_limit, len(sx))
        order = sorted(range(limit), key=lambda i: -len(sx[i]))
        distance = exact = reference = 0
        for start in range(0, len(order), args.eval_batch_size):
            rows = order[start:start + args.eval_batch_size]
            src = padded([sx[i] for i in rows])
            outputs = model.greedy(src, torch.tensor([len(sx[i]) for i in rows]), BOS, EOS, 2 * src.size(0) + 2)
            for i, out in zip(rows, outputs):
                out = out[:-1] if out and out[-1] == EOS else out
                distance += edit_distance(out, sy[i])
                exact += out == sy[i]
                reference += len(sy[i])
        return {"per": distance / reference, "exactMatch": exact / limit, "editDistance": distance / limit,
                "referenceTokens": reference, "examples": limit}

    decode_started = time.perf_counter()
    test = evaluate("test")
    log(f"test decoding: {time.perf_counter() - decode_started:.1f} s")
    return {"vocabulary": len(source_vocabulary), "targetVocabulary": len(target_vocabulary), "steps": steps,
            "trainTargets": trained, "trainSeconds": seconds, "targetsPerSecond": trained / seconds,
            "truncated": truncated, "test": test}


# ---------------------------------------------------------------- character language model

def lm(args):
    tokens = {s: lm_data.tokenize(lm_data.read_text(os.path.join(args.data, f"{s}.txt")), "char") for s in ("train", "valid", "test")}
    vocabulary = lm_data.build_vocabulary(tokens["train"], args.min_count)
    inputs, targets = lm_data.batchify(lm_data.encode(tokens["train"], vocabulary), args.batch_size)
    model = RNNModel(len(vocabulary), args.embedding, args.hidden, args.layers, 0.0, args.init_range, args.forget_bias)
    log(f"lm: vocabulary {len(vocabulary)}, {inputs.size(1)} streams x {inputs.size(0)} steps, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters")
    state = {"hidden": model.init_hidden(inputs.size(1)), "cursor": 0}

    def windows(epoch):
        state["hidden"], cursor = model.init_hidden(inputs.size(1)), 0
        while cursor < inputs.size(0):
            yield cursor
            cursor += args.bptt

    def step(cursor):
        x, y = inputs[cursor:cursor + args.bptt], targets[cursor:cursor + args.bptt]
        logits, hidden = model(x, repackage_hidden(state["hidden"]))
        state["hidden"] = hidden
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum"), y.numel()

    steps, trained, seconds = train_steps(args, windows, step, model)

    @torch.no_grad()
    def evaluate(split):
        model.eval()
        xs, ys = lm_data.batchify(lm_data.encode(tokens[split], vocabulary), args.eval_batch_size)
        hidden = model.init_hidden(xs.size(1))
        loss, count = 0.0, 0
        for start in range(0, xs.size(0), args.bptt):
            logits, hidden = model(xs[start:start + args.bptt], hidden)
            y = ys[start:start + args.bptt]
            loss += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
            count += y.numel()
        return {"loss": loss / count, "bpc": loss / count / math.log(2), "targets": count}

    return {"vocabulary": len(vocabulary), "steps": steps, "trainTargets": trained, "trainSeconds": seconds,
            "targetsPerSecond": trained / seconds, "valid": evaluate("valid"), "test": evaluate("test")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("acceptor", "seq2seq", "lm"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--pooling", default="last")
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--embedding", type=int, default=64)
    parser.add_argument("--decoder-embedding", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--min-count", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eval-batch-size", type=int, default=64)
    parser.add_argument("--eval-limit", type=int, default=0, help="decode only the first N test examples (0 = all)")
    parser.add_argument("--bptt", type=int, default=35)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument("--init-range", type=float, default=0.1)
    parser.add_argument("--forget-bias", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--log-every", type=int, default=50)
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    result = {"acceptor": acceptor, "seq2seq": seq2seq, "lm": lm}[args.kind](args)
    result.update({"implementation": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads()})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
