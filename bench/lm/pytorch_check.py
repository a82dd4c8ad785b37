#!/usr/bin/env python3
"""Loads an RnnCluster checkpoint into a plain PyTorch module and evaluates a text file with it.

    /usr/bin/python3 bench/lm/pytorch_check.py CHECKPOINT_DIR DATA_FILE

CHECKPOINT_DIR is a checkpoint (holding model.safetensors, config.hocon, vocab.json) or a run
directory (its newest committed checkpoint is used). The weights go through
load_state_dict(strict=True) unchanged, which proves our export is PyTorch's state_dict layout;
the evaluation then repeats Evaluator.cs step for step (eval-batch-size streams, windows of bptt,
state carried across windows), so its loss must match `rnncluster eval --checkpoint ... --data
DATA_FILE --json` to float rounding. Prints {"loss": ..., "tokens": ..., ...} as JSON; exits 1
with a message on stderr when anything does not fit.
"""

import json
import math
import os
import re
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import lm_data

SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
}


class CheckError(Exception):
    """A problem with the checkpoint or data, reported without a traceback."""


class RNNModel(nn.Module):
    """Embedding -> stacked RNN -> linear decoder; attribute names give RnnCluster's tensor names."""

    def __init__(self, cell, vocab_size, embedding_size, hidden_size, layers, tie_weights):
        super().__init__()
        self.cell = cell
        self.encoder = nn.Embedding(vocab_size, embedding_size)
        if cell == "lstm":
            self.rnn = nn.LSTM(embedding_size, hidden_size, layers)
        elif cell == "gru":
            self.rnn = nn.GRU(embedding_size, hidden_size, layers)
        elif cell in ("rnn_tanh", "rnn_relu"):
            self.rnn = nn.RNN(embedding_size, hidden_size, layers, nonlinearity=cell[4:])
        else:
            raise CheckError(f"model.cell = {cell!r} is not one of lstm, gru, rnn_tanh, rnn_relu")
        self.decoder = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            if embedding_size != hidden_size:
                raise CheckError(f"model.tie-weights needs embedding-size == hidden-size, got {embedding_size} and {hidden_size}")
            self.decoder.weight = self.encoder.weight

    def forward(self, inputs, hidden):
        output, hidden = self.rnn(self.encoder(inputs), hidden)
        return self.decoder(output), hidden

    def init_hidden(self, streams):
        weight = self.decoder.weight
        zeros = weight.new_zeros(self.rnn.num_layers, streams, self.rnn.hidden_size)
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros


def resolve_checkpoint(path):
    """A checkpoint directory, or the newest committed one under a run directory's checkpoints/."""
    if os.path.isfile(os.path.join(path, "model.safetensors")):
        return path
    root = os.path.join(path, "checkpoints")
    if os.path.isdir(root):
        committed = sorted(
            d for d in os.listdir(root)
            if d.startswith("step-") and os.path.isfile(os.path.join(root, d, "COMMITTED"))
        )
        if committed:
            return os.path.join(root, committed[-1])
    raise CheckError(f"{path}: neither a checkpoint (no model.safetensors) nor a run directory with committed checkpoints")


def read_safetensors(path):
    """name -> tensor, parsed by hand: u64 LE header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise CheckError(f"{path}: {len(blob)} bytes is too short for a safetensors file")
    (header_length,) = struct.unpack("<Q", blob[:8])
    if 8 + header_length > len(blob):
        raise CheckError(f"{path}: header length {header_length} runs past the end of the file ({len(blob)} bytes)")
    try:
        header = json.loads(blob[8:8 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckError(f"{path}: unreadable header: {e}") from e
    data = blob[8 + header_length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(entry.get("dtype"))
        if dtype is None:
            raise CheckError(f"{path}: tensor {name} has unsupported dtype {entry.get('dtype')!r}")
        shape = entry["shape"]
        start, end = entry["data_offsets"]
        count = math.prod(shape)
        itemsize = torch.empty((), dtype=dtype).element_size()
        if not 0 <= start <= end <= len(data) or end - start != count * itemsize:
            raise CheckError(f"{path}: tensor {name} {shape} {entry['dtype']} has bad data_offsets [{start}, {end}) (data is {len(data)} bytes)")
        raw = bytearray(data[start:end])  # a writable copy: frombuffer over bytes would warn
        tensor = torch.frombuffer(raw, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        if sys.byteorder != "little":
            raise CheckError("this check assumes a little-endian host")
        tensors[name] = tensor.reshape(shape).clone()
    return tensors


def read_hocon_values(path):
    """Flat {"section.key": value} from the `key = value` lines config.hocon holds (nested blocks)."""
    values, sections = {}, []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith(("#", "//")):
                continue
            if m := re.fullmatch(r"([\w.-]+)\s*\{", line):
                sections.append(m.group(1))
            elif line == "}":
                if not sections:
                    raise CheckError(f"{path}:{number}: unbalanced '}}'")
                sections.pop()
            elif m := re.fullmatch(r"([\w.-]+)\s*[=:]\s*(.*)", line):
                value = m.group(2)
                if value.startswith('"'):
                    try:
                        value, _ = json.JSONDecoder().raw_decode(value)  # HOCON quoted strings are JSON strings
                    except json.JSONDecodeError as e:
                        raise CheckError(f"{path}:{number}: bad quoted string: {e}") from e
                else:
                    value = re.sub(r"\s*(#|//).*$", "", value)
                values[".".join(sections + [m.group(1)])] = value
            else:
                raise CheckError(f"{path}:{number}: cannot read {line!r}")
    return values


def setting(values, key, convert, path):
    if key not in values:
        raise CheckError(f"{path}: missing {key}")
    try:
        return convert(values[key])
    except ValueError as e:
        raise CheckError(f"{path}: {key} = {values[key]!r}: {e}") from e


def parse_bool(text):
    if text in ("true", "on", "yes"):
        return True
    if text in ("false", "off", "no"):
        return False
    raise ValueError("not a boolean")


def load_model(checkpoint):
    config_path = os.path.join(checkpoint, "config.hocon")
    values = read_hocon_values(config_path)
    cell = setting(values, "model.cell", str, config_path)
    layers = setting(values, "model.layers", int, config_path)
    embedding_size = setting(values, "model.embedding-size", int, config_path)
    hidden_size = setting(values, "model.hidden-size", int, config_path)
    tie = setting(values, "model.tie-weights", parse_bool, config_path)
    eval_batch = setting(values, "data.eval-batch-size", int, config_path)
    bptt = setting(values, "data.bptt", int, config_path)
    invalid_utf8 = values.get("data.invalid-utf8", "error")

    vocab_path = os.path.join(checkpoint, "vocab.json")
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    tokens = vocab.get("tokens")
    kind = vocab.get("tokenizer")
    if not isinstance(tokens, list) or kind not in ("word", "char") or tokens[:2] != [lm_data.UNKNOWN, lm_data.END_OF_SENTENCE]:
        raise CheckError(f"{vocab_path}: expected {{\"tokenizer\": \"word\"|\"char\", \"tokens\": [\"<unk>\", \"<eos>\", ...]}}")

    state = read_safetensors(os.path.join(checkpoint, "model.safetensors"))
    if tie and "encoder.weight" in state:
        # PyTorch's state_dict names a tied matrix twice; loading writes both names into one
        # parameter, so two different copies would pass strict loading silently. Insist they agree.
        if "decoder.weight" not in state:
            state["decoder.weight"] = state["encoder.weight"]
        elif not torch.equal(state["decoder.weight"], state["encoder.weight"]):
            raise CheckError(f"{checkpoint}/model.safetensors: model.tie-weights = true but decoder.weight differs from encoder.weight")
    dtypes = {t.dtype for t in state.values()}
    if len(dtypes) != 1:
        raise CheckError(f"{checkpoint}/model.safetensors: mixed dtypes {sorted(map(str, dtypes))}")

    model = RNNModel(cell, len(tokens), embedding_size, hidden_size, layers, tie).to(dtypes.pop())
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckError(f"{checkpoint}/model.safetensors does not load into the PyTorch module: {e}") from e
    if tie and model.decoder.weight.data_ptr() != model.encoder.weight.data_ptr():
        raise CheckError("tied weights came apart while loading")
    model.eval()
    return model, tokens, kind, eval_batch, bptt, invalid_utf8


@torch.no_grad()
def evaluate(model, inputs, targets, bptt):
    """Evaluator.Evaluate: windows of bptt over all streams, state carried, summed cross-entropy."""
    hidden = model.init_hidden(inputs.size(1))
    loss_sum, count = 0.0, 0
    for start in range(0, inputs.size(0), bptt):
        x, y = inputs[start:start + bptt], targets[start:start + bptt]
        logits, hidden = model(x, hidden)
        loss_sum += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    return loss_sum, count


def main(argv):
    if len(argv) != 2:
        raise CheckError("usage: pytorch_check.py CHECKPOINT_DIR DATA_FILE")
    checkpoint = resolve_checkpoint(argv[0])
    data_path = argv[1]
    model, vocabulary, kind, eval_batch, bptt, invalid_utf8 = load_model(checkpoint)
    try:
        text = lm_data.read_text(data_path, invalid_utf8)
    except OSError as e:
        raise CheckError(f"{data_path}: cannot read: {e}") from e
    except UnicodeDecodeError as e:
        raise CheckError(f"{data_path}: invalid UTF-8 at byte offset {e.start}") from e
    ids = lm_data.encode(lm_data.tokenize(text, kind), vocabulary)
    try:
        inputs, targets = lm_data.batchify(ids, eval_batch)
    except ValueError as e:
        raise CheckError(f"{data_path}: {e}") from e
    loss_sum, count = evaluate(model, inputs, targets, bptt)
    loss = loss_sum / count
    print(json.dumps({
        "checkpoint": checkpoint,
        "data": data_path,
        "tokens": count,
        "loss": loss,
        "perplexity": math.exp(loss),
        "parameters": sum(p.numel() for p in model.parameters()),
    }, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except CheckError as e:
        print(f"pytorch_check: error: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # anything unexpected still fails loudly, with where it came from
        print(f"pytorch_check: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        raise
