#!/usr/bin/env python3
"""PyTorch reference modules for RnnCluster's task models, and a check that runs one case.

    /usr/bin/python3 bench/tasks/pytorch_tasks.py CASE_DIR

CASE_DIR holds model.safetensors (our exported parameters) and case.json (the architecture and one
padded batch, written by Tests/Interop/TaskPyTorchCompatibilityTests.cs). The modules below are built
from plain nn.Embedding, nn.LSTM/GRU/RNN, nn.Linear and nn.Sequential, so their state_dict names ARE
the names our bridge gives its tensors; the weights go through load_state_dict(strict=True)
unchanged, and the file's tensor order must equal the module's state_dict order.

  acceptor    encoder (Embedding) -> rnn (packed, optionally bidirectional) -> pooling over valid
              positions (last | mean | max | attention with attention.query) -> head (Sequential)
  transducer  encoder -> rnn (packed) -> head at every valid position
  seq2seq     encoder_embedding -> encoder (packed) -> [bridge, bridge_cell when bidirectional]
              -> decoder (from the encoder's final states, teacher forced) -> output

Prints {"loss": ..., "count": ..., "correct": ..., "gradients": {name: [...]}} as JSON, the loss being
the SUM of cross-entropy over counted targets and the gradients those of that sum; seq2seq cases also
print "greedy": the greedy decoding of every source. Exits 1 with a message when anything does not fit.
"""

import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lm"))
from pytorch_check import CheckError, read_safetensors  # noqa: E402  (shared safetensors reader)


def recurrent(cell, input_size, hidden_size, layers, bidirectional):
    if cell == "lstm":
        return nn.LSTM(input_size, hidden_size, layers, bidirectional=bidirectional)
    if cell == "gru":
        return nn.GRU(input_size, hidden_size, layers, bidirectional=bidirectional)
    if cell in ("rnn_tanh", "rnn_relu"):
        return nn.RNN(input_size, hidden_size, layers, nonlinearity=cell[4:], bidirectional=bidirectional)
    raise CheckError(f"cell {cell!r} is not one of lstm, gru, rnn_tanh, rnn_relu")


def classifier_head(features, hidden, classes, activation):
    """Sequential(Linear) or Sequential(Linear, Tanh|ReLU, Linear): children 0 and 2 hold the weights."""
    if hidden == 0:
        return nn.Sequential(nn.Linear(features, classes))
    if activation not in ("tanh", "relu"):
        raise CheckError(f"head activation {activation!r} is not tanh or relu")
    return nn.Sequential(nn.Linear(features, hidden), nn.Tanh() if activation == "tanh" else nn.ReLU(), nn.Linear(hidden, classes))


def valid_positions(lengths, steps):
    """[steps, batch] bool: True where t < lengths[b]."""
    return torch.arange(steps).unsqueeze(1) < lengths.unsqueeze(0)


def encode_packed(embedding, rnn, tokens, lengths):
    """Runs rnn over the valid positions only; padding (any value, e.g. -1) is never looked up."""
    packed = pack_padded_sequence(embedding(tokens.clamp(min=0)), lengths, enforce_sorted=False)
    return rnn(packed)


class AttentionPooling(nn.Module):
    """softmax over valid positions of (state . query), then the weighted sum of the states."""

    def __init__(self, features):
        super().__init__()
        self.query = nn.Parameter(torch.empty(features))

    def forward(self, states, valid):
        scores = (states @ self.query).masked_fill(~valid, float("-inf"))
        return (scores.softmax(0).unsqueeze(2) * states).sum(0)


class Acceptor(nn.Module):
    def __init__(self, c):
        super().__init__()
        directions = 2 if c["bidirectional"] else 1
        features = directions * c["hidden"]
        self.pooling = c["pooling"]
        self.encoder = nn.Embedding(c["vocabulary"], c["embedding"])
        self.rnn = recurrent(c["cell"], c["embedding"], c["hidden"], c["layers"], c["bidirectional"])
        if self.pooling == "attention":
            self.attention = AttentionPooling(features)
        elif self.pooling not in ("last", "mean", "max"):
            raise CheckError(f"pooling {self.pooling!r} is not last, mean, max or attention")
        self.head = classifier_head(features, c["head_hidden"], c["classes"], c["head_activation"])

    def forward(self, tokens, lengths):
        output, hidden = encode_packed(self.encoder, self.rnn, tokens, lengths)
        if self.pooling == "last":
            h = hidden[0] if isinstance(hidden, tuple) else hidden  # [layers * directions, B, H]
            directions = 2 if self.rnn.bidirectional else 1
            pooled = torch.cat(list(h[-directions:]), dim=1)  # top layer: [forward; reverse]
        else:
            steps = tokens.size(0)
            states, _ = pad_packed_sequence(output, total_length=steps)  # [T, B, F], zeros at padding
            valid = valid_positions(lengths, steps)
            if self.pooling == "mean":
                pooled = states.sum(0) / lengths.unsqueeze(1).to(states.dtype)
            elif self.pooling == "max":
                pooled = states.masked_fill(~valid.unsqueeze(2), float("-inf")).amax(0)
            else:
                pooled = self.attention(states, valid)
        return self.head(pooled)


class Transducer(nn.Module):
    def __init__(self, c):
        super().__init__()
        features = (2 if c["bidirectional"] else 1) * c["hidden"]
        self.encoder = nn.Embedding(c["vocabulary"], c["embedding"])
        self.rnn = recurrent(c["cell"], c["embedding"], c["hidden"], c["layers"], c["bidirectional"])
        self.head = classifier_head(features, c["head_hidden"], c["classes"], c["head_activation"])

    def forward(self, tokens, lengths):
        output, _ = encode_packed(self.encoder, self.rnn, tokens, lengths)
        states, _ = pad_packed_sequence(output, total_length=tokens.size(0))
        return self.head(states)  # [T, B, C]; padding rows are masked out of the loss by the caller


class Seq2Seq(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bidirectional = c["bidirectional"]
        self.lstm = c["cell"] == "lstm"
        hidden = c["hidden"]
        self.encoder_embedding = nn.Embedding(c["vocabulary"], c["embedding"])
        self.encoder = recurrent(c["cell"], c["embedding"], hidden, c["layers"], c["bidirectional"])
        if self.bidirectional:
            self.bridge = nn.Linear(2 * hidden, hidden)
            if self.lstm:
                self.bridge_cell = nn.Linear(2 * hidden, hidden)
        self.decoder_embedding = nn.Embedding(c["target_vocabulary"], c["decoder_embedding"])
        self.decoder = recurrent(c["cell"], c["decoder_embedding"], hidden, c["layers"], False)
        self.output = nn.Linear(hidden, c["target_vocabulary"])

    def start(self, source, lengths):
        """The decoder's initial state: the encoder's finals, bridged when the encoder is bidirectional."""
        _, hidden = encode_packed(self.encoder_embedding, self.encoder, source, lengths)
        if not self.bidirectional:
            return hidden

        def join(t):  # [L*2, B, H] -> [L, B, 2H]: each layer's forward and reverse finals side by side
            layers, batch, size = t.size(0) // 2, t.size(1), t.size(2)
            return t.view(layers, 2, batch, size).transpose(1, 2).reshape(layers, batch, 2 * size)

        if self.lstm:
            h, c = hidden
            return torch.tanh(self.bridge(join(h))), self.bridge_cell(join(c))
        return torch.tanh(self.bridge(join(hidden)))

    def forward(self, source, lengths, decoder_inputs):
        output, _ = self.decoder(self.decoder_embedding(decoder_inputs.clamp(min=0)), self.start(source, lengths))
        return self.output(output)  # [T, B, Vt]

    @torch.no_grad()
    def greedy(self, source, lengths, bos, eos, max_length):
        state = self.start(source, lengths)
        batch = source.size(1)
        token = torch.full((1, batch), bos, dtype=torch.long)
        outputs = [[] for _ in range(batch)]
        done = [False] * batch
        for _ in range(max_length):
            output, state = self.decoder(self.decoder_embedding(token), state)
            token = self.output(output).argmax(2)
            for b in range(batch):
                if not done[b]:
                    outputs[b].append(int(token[0, b]))
                    done[b] = int(token[0, b]) == eos
            if all(done):
                break
        return outputs


def tensor(case, key, shape):
    values = case[key]
    if len(values) != shape[0] * (shape[1] if len(shape) > 1 else 1):
        raise CheckError(f"case.json: {key} has {len(values)} values, expected shape {shape}")
    return torch.tensor(values, dtype=torch.long).reshape(shape)


def cross_entropy_sum(logits, targets):
    """Summed cross-entropy, count and right argmax over targets != -1 (logits [N, C], targets [N])."""
    loss = F.cross_entropy(logits, targets, ignore_index=-1, reduction="sum")
    counted = targets != -1
    correct = (logits.argmax(1) == targets) & counted
    return loss, int(counted.sum()), int(correct.sum())


def load(model, case_dir):
    state = read_safetensors(os.path.join(case_dir, "model.safetensors"))
    expected = list(model.state_dict().keys())
    if list(state.keys()) != expected:
        raise CheckError(f"tensor order {list(state.keys())} differs from the module's state_dict order {expected}")
    dtypes = {t.dtype for t in state.values()}
    if len(dtypes) != 1:
        raise CheckError(f"mixed dtypes {sorted(map(str, dtypes))}")
    model.to(dtypes.pop())
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckError(f"model.safetensors does not load into the PyTorch module: {e}") from e
    model.eval()  # dropout is off on our side too
    return model


def run(case_dir):
    with open(os.path.join(case_dir, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    kind = case["kind"]
    modules = {"acceptor": Acceptor, "transducer": Transducer, "seq2seq": Seq2Seq}
    if kind not in modules:
        raise CheckError(f"kind {kind!r} is not acceptor, transducer or seq2seq")
    model = load(modules[kind](case), case_dir)
    steps, batch = case["steps"], len(case["lengths"])
    tokens = tensor(case, "tokens", (steps, batch))
    lengths = torch.tensor(case["lengths"], dtype=torch.long)
    result = {}
    if kind == "acceptor":
        loss, count, correct = cross_entropy_sum(model(tokens, lengths), tensor(case, "labels", (batch,)))
    elif kind == "transducer":
        tags = tensor(case, "tags", (steps, batch)).masked_fill(~valid_positions(lengths, steps), -1)
        logits = model(tokens, lengths)
        loss, count, correct = cross_entropy_sum(logits.reshape(-1, logits.size(-1)), tags.reshape(-1))
    else:
        target_steps = case["target_steps"]
        logits = model(tokens, lengths, tensor(case, "decoder_inputs", (target_steps, batch)))
        targets = tensor(case, "decoder_targets", (target_steps, batch))
        loss, count, correct = cross_entropy_sum(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        result["greedy"] = model.greedy(tokens, lengths, case["bos"], case["eos"], case["max_length"])
    loss.backward()
    result.update({
        "loss": loss.item(),
        "count": count,
        "correct": correct,
        "gradients": {name: p.grad.reshape(-1).tolist() for name, p in model.named_parameters()},
    })
    return result


def main(argv):
    if len(argv) != 1:
        raise CheckError("usage: pytorch_tasks.py CASE_DIR")
    print(json.dumps(run(argv[0])))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except CheckError as e:
        print(f"pytorch_tasks: error: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # anything unexpected still fails loudly, with where it came from
        print(f"pytorch_tasks: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        raise
