"""Synthetic negatives for tiny label sets: a good answer made bad in ways that are bad everywhere.

- off_topic: the input paired with the output of another input (labelled bad);
- incomplete: a good output cut to its first 30-60% of words (labelled bad).
Only training rows are augmented (never the held-out or calibration rows). Off by default: measured
on held-out human labels it hurts, on TruthfulQA and on the bundled support set alike (BENCHMARKS.md):
the extra negatives push the head to call nearly every session bad (kappa 0.00 at 30 and 100 labels).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from judgeloop.training.examples import Example

MIN_WORDS_TO_TRUNCATE = 8


def augment_examples(examples: Sequence[Example], seed: int = 0, per_good: int = 1) -> list[Example]:
    """The rows plus up to `per_good` off_topic and `per_good` incomplete negatives per good row."""
    rng = random.Random(seed)
    good = [ex for ex in examples if ex.label == 1]
    out = list(examples)
    for ex in good:
        for k in range(per_good):
            swapped = _off_topic(ex, examples, rng)
            if swapped is not None:
                out.append(replace(swapped, id=f"aug:off_topic:{k}:{ex.key}"))
            cut = _incomplete(ex, rng)
            if cut is not None:
                out.append(replace(cut, id=f"aug:incomplete:{k}:{ex.key}"))
    return out


def _off_topic(ex: Example, pool: Sequence[Example], rng: random.Random) -> Example | None:
    for _ in range(10):
        other = pool[rng.randrange(len(pool))]
        if other.model_input != ex.model_input and other.model_output != ex.model_output:
            return replace(ex, model_output=other.model_output, label=0)
    return None


def _incomplete(ex: Example, rng: random.Random) -> Example | None:
    words = ex.model_output.split()
    if len(words) < MIN_WORDS_TO_TRUNCATE:
        return None
    keep = max(1, int(len(words) * rng.uniform(0.3, 0.6)))
    return replace(ex, model_output=" ".join(words[:keep]), label=0)
