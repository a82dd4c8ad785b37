#!/usr/bin/env python3
"""Writes a deterministic synthetic word corpus: DIR/train.txt, valid.txt, test.txt.

Words are made-up syllable strings; each token is drawn from a Zipf-like distribution
(probability of the word of rank r proportional to 1 / (r + q) ** s) so the counts look like
natural text: a few very frequent words and a long tail. One sentence per line, of random
length. The same seed and sizes give byte-identical files on every machine (standard library
only), so the benchmark's vocabulary and streams never change between runs.

    python3 bench/lm/make_corpus.py OUT_DIR [--vocab 10000] [--train-tokens 400000] [--seed 1]

Token counts include the end-of-sentence marker the trainers add at each line end. Rare words
may not occur in train.txt at all, so the trainers' vocabulary is a little below --vocab.
"""

import argparse
import itertools
import os
import random
import sys

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["an", "el", "in", "or", "us"]


def make_words(count, rng):
    """count distinct lowercase pseudo-words; frequent (low-rank) words get fewer syllables, as in text."""
    words, seen = [], set()
    while len(words) < count:
        rank = len(words)
        syllables = 1 if rank < 40 else 2 if rank < 3000 else 3
        word = "".join(rng.choice(SYLLABLES) for _ in range(syllables))
        if word not in seen:  # every syllable has two letters, so a word splits into syllables one way only
            seen.add(word)
            words.append(word)
    return words


def write_split(path, tokens, words, cumulative, rng, min_len, max_len):
    """Sentences until the split holds `tokens` tokens (words plus one <eos> per line)."""
    written = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        while written < tokens:
            length = min(rng.randint(min_len, max_len), max(1, tokens - written - 1))
            sentence = rng.choices(words, cum_weights=cumulative, k=length)
            out.write(" ".join(sentence) + "\n")
            written += length + 1
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="directory to write train.txt, valid.txt and test.txt into")
    parser.add_argument("--vocab", type=int, default=10000, help="number of distinct words to draw from (default 10000)")
    parser.add_argument("--train-tokens", type=int, default=400000, help="tokens in train.txt (default 400000)")
    parser.add_argument("--valid-tokens", type=int, default=20000, help="tokens in valid.txt (default 20000)")
    parser.add_argument("--test-tokens", type=int, default=20000, help="tokens in test.txt (default 20000)")
    parser.add_argument("--zipf-s", type=float, default=1.0, help="Zipf exponent s (default 1.0)")
    parser.add_argument("--zipf-q", type=float, default=2.7, help="Zipf-Mandelbrot offset q (default 2.7)")
    parser.add_argument("--min-length", type=int, default=4, help="shortest sentence in words (default 4)")
    parser.add_argument("--max-length", type=int, default=30, help="longest sentence in words (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    args = parser.parse_args(argv)
    if args.vocab < 1 or min(args.train_tokens, args.valid_tokens, args.test_tokens) < 2:
        parser.error("--vocab must be >= 1 and every split needs >= 2 tokens")
    if not 1 <= args.min_length <= args.max_length:
        parser.error("need 1 <= --min-length <= --max-length")

    rng = random.Random(args.seed)
    words = make_words(args.vocab, rng)
    weights = [1.0 / (rank + args.zipf_q) ** args.zipf_s for rank in range(1, args.vocab + 1)]
    cumulative = list(itertools.accumulate(weights))

    os.makedirs(args.out_dir, exist_ok=True)
    for name, tokens in (("train", args.train_tokens), ("valid", args.valid_tokens), ("test", args.test_tokens)):
        # Write to a temporary name first so an interrupted run never leaves a half corpus that looks cached.
        final = os.path.join(args.out_dir, name + ".txt")
        written = write_split(final + ".tmp", tokens, words, cumulative, rng, args.min_length, args.max_length)
        os.replace(final + ".tmp", final)
        print(f"{final}: {written} tokens", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
