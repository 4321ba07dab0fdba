"""How long ECFP sequences are: words and BPE pieces per molecule on the corpus and on labelled sets.

Why: ``ecfp-mlm``'s CPU ``max_length`` (256) and the rule that a fine-tune's default ``max_length`` means the
checkpoint's were chosen from these figures (docs/models.md, "ECFP tokens"); rerun this to check them for another
corpus size or vocabulary. It trains the BPE exactly as ``greenft pretrain ecfp-mlm`` does (same class, same
settings) on ``--corpus-size`` MOSES molecules and reports, per set, the median / p99 / max of words and pieces
and the share of molecules longer than ``max_length - 2`` pieces for a few ``max_length`` values.

Usage::

    python benchmarks/ecfp_token_lengths.py [--corpus-size 10000] [--vocab-size 10000] [--datasets bbbp lipo]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from greenft.data.corpus import load_corpus
from greenft.data.ecfp_words import ecfp_words
from greenft.data.loading import load_molecules
from greenft.data.registry import get_dataset_spec
from greenft.models.sequence.ecfp_tokenizer import DEFAULT_MIN_FREQUENCY, EcfpTokenizer

MAX_LENGTHS = (128, 256, 512)


def _row(name: str, tokenizer: EcfpTokenizer, word_lists: list[list[str]]) -> str:
    words = np.array([len(w) for w in word_lists])
    pieces = np.array([tokenizer.pieces(w) for w in word_lists])
    cut = ", ".join(f"{100 * float(np.mean(pieces > m - 2)):.1f} % > {m}" for m in MAX_LENGTHS)
    return (
        f"| {name} | {len(word_lists):,} | {np.median(words):.0f} / {np.percentile(words, 99):.0f} / {words.max()} | "
        f"{np.median(pieces):.0f} / {np.percentile(pieces, 99):.0f} / {pieces.max()} | {cut} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-size", type=int, default=10_000)
    parser.add_argument("--vocab-size", type=int, default=10_000)
    parser.add_argument("--min-frequency", type=int, default=DEFAULT_MIN_FREQUENCY)
    parser.add_argument("--datasets", nargs="*", default=["bbbp", "lipo"])
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = load_corpus(args.corpus_size, 0)
    corpus_words = [ecfp_words(s) for s in corpus.smiles]
    words_s = time.perf_counter() - started
    tokenizer = EcfpTokenizer.build(corpus_words, 512, args.vocab_size, args.min_frequency)
    print(
        f"BPE: {tokenizer.vocab_size:,} entries (asked {args.vocab_size:,}), trained on {len(corpus_words):,} "
        "molecules; "
        f"words {words_s:.1f} s, BPE {time.perf_counter() - started - words_s:.1f} s\n"
    )
    print("| set | molecules | words median / p99 / max | pieces median / p99 / max | truncated at max_length |")
    print("|---|---|---|---|---|")
    print(_row(f"MOSES sample ({args.corpus_size:,})", tokenizer, corpus_words))
    for name in args.datasets:
        molecules = load_molecules(get_dataset_spec(name))
        print(_row(name, tokenizer, [ecfp_words(s) for s in molecules.smiles]))


if __name__ == "__main__":
    main()
