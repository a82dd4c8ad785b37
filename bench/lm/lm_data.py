"""Text to ids and ids to streams exactly as RnnCluster does it (Shared/Data), for the PyTorch side.

Kept in one place so the benchmark (pytorch_lm.py) and the checkpoint check (pytorch_check.py)
cannot drift from each other or from the C# rules:

- the file is UTF-8 (a leading BOM is skipped); lines end at "\\n", one "\\r" before it is dropped;
- word level splits a line on .NET whitespace (char.IsWhiteSpace), char level takes every code
  point; every line, even an empty one, ends with <eos>; a final line needs no "\\n";
- ids: <unk> = 0, <eos> = 1, then training tokens seen >= min-count times by descending count,
  ties in ordinal (code point) order;
- a language-model split is inputs ids[:-1], targets ids[1:].
"""

import re
from collections import Counter

import torch

UNKNOWN = "<unk>"
END_OF_SENTENCE = "<eos>"

# char.IsWhiteSpace: categories Zs, Zl, Zp plus the C0/C1 controls \t \n \v \f \r \x85. Python's
# str.split() would also split on \x1c-\x1f, which .NET keeps inside words.
_NET_WHITESPACE = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def read_text(path, invalid_utf8="error"):
    """The file's text, decoded like Utf8TextReader (strict unless invalid_utf8 == "replace")."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace" if invalid_utf8 == "replace" else "strict")


def tokenize(text, kind="word"):
    """Token strings of text, with <eos> at each line end (TokenEnumerator's rules)."""
    if kind not in ("word", "char"):
        raise ValueError(f"unknown tokenizer {kind!r} (known: word, char)")
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # the text's last "\n" ends the last line; it does not start an empty one
    tokens = []
    for line in lines:
        if line.endswith("\r"):
            line = line[:-1]
        if kind == "word":
            tokens.extend(t for t in _NET_WHITESPACE.split(line) if t)
        else:
            tokens.extend(line)
        tokens.append(END_OF_SENTENCE)
    return tokens


def build_vocabulary(tokens, min_count=1):
    """Vocabulary.Build: reserved ids first, then by descending count, ties ordinal."""
    counts = Counter(t for t in tokens if t != END_OF_SENTENCE)
    kept = [t for t, c in counts.items() if c >= min_count]
    # Python compares str by code point; .NET's CompareOrdinal by UTF-16 unit. They differ only
    # between astral characters and U+E000..U+FFFF, which a word corpus does not mix in ties.
    kept.sort(key=lambda t: (-counts[t], t))
    return [UNKNOWN, END_OF_SENTENCE] + kept


def encode(tokens, vocabulary):
    """Ids of tokens; tokens not in the vocabulary become <unk> (0)."""
    index = {t: i for i, t in enumerate(vocabulary)}
    return [index.get(t, 0) for t in tokens]


def batchify(ids, streams):
    """Inputs and targets of a language-model split as time-major [L, B] tensors.

    Stream b holds split positions [b*L, (b+1)*L), L = n // B; the remainder is dropped:

              stream 0   stream 1        stream B-1
      t = 0   s[0]       s[L]      ...   s[(B-1)L]
      t = 1   s[1]       s[L+1]    ...   s[(B-1)L+1]
    """
    data = torch.tensor(ids, dtype=torch.long)
    inputs, targets = data[:-1], data[1:]
    n = inputs.numel()
    if n < 1:
        raise ValueError("the split has fewer than two tokens: nothing to predict")
    b = max(1, min(streams, n))
    length = n // b
    cut = b * length
    return inputs[:cut].view(b, length).t().contiguous(), targets[:cut].view(b, length).t().contiguous()
