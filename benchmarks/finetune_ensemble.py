"""Would averaging fine-tunes reach 0.90? Held-out accuracy of saved fine-tunes alone and averaged.

    .venv/bin/python -m benchmarks.finetune_epochs --epochs 3 --seed 1 --save-logits \\
        --out benchmarks/results/finetune_seed1.json                              # ~25 min
    .venv/bin/python -m benchmarks.finetune_ensemble results/finetune_epochs.json:3 \\
        results/finetune_epochs.json:5 results/finetune_seed1.json:3

Each argument is a finetune_epochs.py result (run with --save-logits) and the epoch whose held-out
logits to use. The held-out rows are the `random` split of train_curve.py. Each member is scored
alone, and every pair and the whole set averaged (logits divided by their standard deviation first, so
no member dominates), with and without the label memory.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402

from benchmarks.train_curve import random_split_rows, with_label_memory  # noqa: E402

HERE = Path(__file__).resolve().parent
console = Console(highlight=False)


def member(spec: str) -> tuple[str, np.ndarray]:
    path, _, epoch = spec.rpartition(":")
    report = json.loads((HERE / path).read_text())
    seed = report.get("seed", 0)
    logits = np.asarray(report["epochs"][int(epoch) - 1]["heldout_logits"], dtype=float)
    return f"seed {seed} epoch {epoch} of {len(report['epochs'])}", logits


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("members", nargs="+", help="RESULT.json:EPOCH")
    p.add_argument("--out", type=Path, default=HERE / "results" / "finetune_ensemble.json")
    args = p.parse_args(argv)

    rows, pairs, truth = random_split_rows()
    members = dict(member(spec) for spec in args.members)

    def score(names: tuple[str, ...]) -> dict[str, object]:
        z = sum(members[n] / members[n].std() for n in names)
        remembered, _ = with_label_memory(rows, pairs, np.asarray(z), truth)
        return {
            "members": list(names),
            "accuracy_no_memory": float(((z >= 0) == truth).mean()),
            "accuracy": float(((remembered >= 0) == truth).mean()),
        }

    results = [
        score(combo) for k in range(1, len(members) + 1) for combo in itertools.combinations(members, k)
    ]
    for r in results:
        console.print(
            f"{r['accuracy']:.4f} (no memory {r['accuracy_no_memory']:.4f})  {' + '.join(r['members'])}"
        )
    args.out.write_text(
        json.dumps(
            {"command": "benchmarks/finetune_ensemble.py " + " ".join(args.members), "results": results},
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
