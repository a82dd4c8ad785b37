#!/usr/bin/env python3
"""The reference side of bench/lm-benchmark.sh: RnnCluster's default LSTM language model and
training loop, written in plain PyTorch after the word_language_model example.

    /usr/bin/python3 bench/lm/pytorch_lm.py --data CORPUS_DIR [--steps 300] [--threads N]

Same model (embedding -> dropout -> LSTM with dropout between layers -> dropout -> linear),
same initialisation rules, same tokenisation and vocabulary (lm_data.py), same batching (B
streams, windows of bptt, state carried and detached between windows), same step (mean
cross-entropy, global-norm clipping, plain SGD). Throughput is measured the way RnnCluster's
metrics.jsonl reports it: targets per second over each interval of --log-every steps, the first
interval being warm-up; the reported figure is the mean over the later intervals. Evaluation is
not run, so nothing but training steps is timed.
"""

import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import lm_data


class RNNModel(nn.Module):
    """Embedding -> dropout -> LSTM (dropout between layers) -> dropout -> linear decoder."""

    def __init__(self, vocab_size, embedding_size, hidden_size, layers, dropout, init_range, forget_bias):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab_size, embedding_size)
        self.rnn = nn.LSTM(embedding_size, hidden_size, layers, dropout=dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        self.layers, self.hidden_size = layers, hidden_size
        # RnnCluster's initialisation (Shared/Native/src/model.cpp): uniform encoder/decoder, zero decoder
        # bias, libtorch's default recurrent weights and biases, except the forget gate's slice (gate order
        # i, f, g, o): forget_bias in the input bias and 0 in the hidden bias. The rest of the hidden bias
        # keeps its default uniform draw, as ours does (zeroing all of it was not our model).
        nn.init.uniform_(self.encoder.weight, -init_range, init_range)
        nn.init.uniform_(self.decoder.weight, -init_range, init_range)
        nn.init.zeros_(self.decoder.bias)
        with torch.no_grad():
            for layer in range(layers):
                getattr(self.rnn, f"bias_ih_l{layer}")[hidden_size:2 * hidden_size].fill_(forget_bias)
                getattr(self.rnn, f"bias_hh_l{layer}")[hidden_size:2 * hidden_size].zero_()

    def forward(self, inputs, hidden):
        output, hidden = self.rnn(self.drop(self.encoder(inputs)), hidden)
        return self.decoder(self.drop(output)), hidden

    def init_hidden(self, streams):
        zeros = self.decoder.weight.new_zeros(self.layers, streams, self.hidden_size)
        return zeros, zeros.clone()


def repackage_hidden(hidden):
    """Cut the graph at the window boundary: the next window starts from these values, not through them."""
    return tuple(h.detach() for h in hidden)


def get_batch(inputs, targets, start, bptt):
    """Rows [start, start+bptt) of the time-major streams; the last window of an epoch may be shorter."""
    end = min(start + bptt, inputs.size(0))
    return inputs[start:end], targets[start:end]


def train(model, inputs, targets, args, report):
    """args.steps TBPTT steps over the streams, wrapping (new epoch, zero state) at their end."""
    model.train()
    hidden = model.init_hidden(inputs.size(1))
    cursor, tokens, losses = 0, 0, 0.0
    intervals = []
    started = time.perf_counter()
    for step in range(1, args.steps + 1):
        if cursor >= inputs.size(0):
            cursor, hidden = 0, model.init_hidden(inputs.size(1))
        x, y = get_batch(inputs, targets, cursor, args.bptt)
        cursor += x.size(0)
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        logits, hidden = model(x, hidden)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-args.lr)
        tokens += y.numel()
        losses += loss.item() * y.numel()
        if step % args.log_every == 0:
            now = time.perf_counter()
            interval = {"step": step, "loss": losses / tokens, "tokensPerSecond": tokens / (now - started)}
            intervals.append(interval)
            report(interval)
            started, tokens, losses = time.perf_counter(), 0, 0.0
    return intervals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="corpus directory holding train.txt")
    parser.add_argument("--steps", type=int, default=300, help="training steps to run (default 300)")
    parser.add_argument("--log-every", type=int, default=50, help="steps per timed interval; the first is warm-up (default 50)")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads(N); 0 leaves PyTorch's default (default 0)")
    parser.add_argument("--batch-size", type=int, default=20, help="parallel streams (default 20)")
    parser.add_argument("--bptt", type=int, default=35, help="window length (default 35)")
    parser.add_argument("--embedding-size", type=int, default=200, help="embedding width (default 200)")
    parser.add_argument("--hidden-size", type=int, default=200, help="LSTM width (default 200)")
    parser.add_argument("--layers", type=int, default=2, help="LSTM layers (default 2)")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout on embeddings, between layers and on outputs (default 0.2)")
    parser.add_argument("--lr", type=float, default=20.0, help="SGD learning rate (default 20)")
    parser.add_argument("--clip", type=float, default=0.25, help="global gradient-norm clip (default 0.25)")
    parser.add_argument("--init-range", type=float, default=0.1, help="uniform range of encoder/decoder weights (default 0.1)")
    parser.add_argument("--forget-bias", type=float, default=1.0, help="initial LSTM forget-gate bias (default 1.0)")
    parser.add_argument("--min-count", type=int, default=1, help="vocabulary min-count, as data.min-count (default 1)")
    parser.add_argument("--seed", type=int, default=1234, help="torch.manual_seed (default 1234)")
    parser.add_argument("--dry-run", action="store_true", help="4 steps logged every 2: checks the script runs, measures nothing")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.steps, args.log_every = 4, 2
    if args.steps < 2 * args.log_every:
        parser.error(f"--steps {args.steps} leaves no timed interval after the {args.log_every}-step warm-up")

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    tokens = lm_data.tokenize(lm_data.read_text(f"{args.data}/train.txt"), "word")
    vocabulary = lm_data.build_vocabulary(tokens, args.min_count)
    inputs, targets = lm_data.batchify(lm_data.encode(tokens, vocabulary), args.batch_size)
    model = RNNModel(len(vocabulary), args.embedding_size, args.hidden_size, args.layers, args.dropout, args.init_range, args.forget_bias)
    print(f"pytorch {torch.__version__}: vocabulary {len(vocabulary)}, {inputs.size(1)} streams x {inputs.size(0)} steps, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, {torch.get_num_threads()} threads", file=sys.stderr)

    def report(interval):
        print(f"step {interval['step']}: loss {interval['loss']:.4f}, {interval['tokensPerSecond']:.0f} tokens/s", file=sys.stderr)

    intervals = train(model, inputs, targets, args, report)
    timed = intervals[1:]
    print(json.dumps({
        "implementation": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "vocabulary": len(vocabulary),
        "steps": args.steps,
        "tokensPerSecond": sum(i["tokensPerSecond"] for i in timed) / len(timed),
        "lastLoss": intervals[-1]["loss"],
        "intervals": intervals,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
