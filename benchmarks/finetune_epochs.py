"""How many epochs does the all-labels fine-tune want? Held-out accuracy after every epoch.

    .venv/bin/python -m benchmarks.finetune_epochs --epochs 6   # ~40 min; results/finetune_epochs.json

The `random` split of train_curve.py (2,000 fixed held-out rows of
../shared/datasets/truthfulqa_judge/finetune_truth_train.jsonl, 17,880 training rows) and the fitting
code of `judgeloop train` (`fit_estimator`: calibration slice, validation slice, best epoch kept), with
`--epochs` and `--patience` set. After each epoch the held-out rows are scored too, with and without
the label memory, for the record only: the epoch that is kept is chosen on the validation slice. The
held-out logits of each epoch go to the JSON (`--save-logits`) and the fitted model to `--keep-model`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rich.console import Console  # noqa: E402

from benchmarks.train_curve import random_split_rows, with_label_memory  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
console = Console(highlight=False)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="the fit's seed")
    p.add_argument("--save-logits", action="store_true", help="held-out logits of every epoch in the JSON")
    p.add_argument("--keep-model", type=Path, help="save the fitted estimator here")
    p.add_argument("--out", type=Path, default=RESULTS / "finetune_epochs.json")
    args = p.parse_args(argv)

    from judgeloop.stats import accuracy, bootstrap
    from judgeloop.training import fit_estimator, make_estimator
    from judgeloop.training.base_encoder import resolve_base_model
    from judgeloop.training.methods.finetune import FineTune, _score

    rows, pairs, truth = random_split_rows()
    epochs: list[dict] = []
    validate = FineTune._validate

    def validate_and_score(self: FineTune, val_rows, val_labels):  # type: ignore[no-untyped-def]
        record = validate(self, val_rows, val_labels)
        logits = self.decision_function(pairs)
        remembered, _ = with_label_memory(rows, pairs, logits, truth)
        entry = {
            **record,
            "heldout_accuracy": float(((logits >= 0) == truth).mean()),
            "heldout_accuracy_memory": float(((remembered >= 0) == truth).mean()),
        }
        if args.save_logits:
            entry["heldout_logits"] = [round(float(v), 4) for v in logits]
        epochs.append(entry)
        console.print({k: v for k, v in entry.items() if k != "heldout_logits"})
        return record

    FineTune._validate = validate_and_score  # type: ignore[method-assign]
    params = {"epochs": args.epochs, "patience": args.patience, "lr": args.lr, "num_threads": args.threads}
    estimator = make_estimator("finetune", resolve_base_model(None), args.seed, params, True)
    started = time.perf_counter()
    fit_estimator(estimator, rows, args.seed, False)
    seconds = time.perf_counter() - started
    FineTune._validate = validate  # type: ignore[method-assign]
    logits = estimator.decision_function(pairs)
    remembered, memory = with_label_memory(rows, pairs, logits, truth)
    predicted = (remembered >= 0).astype(int)
    acc = bootstrap(accuracy, truth, predicted, n_resamples=1000, seed=0)
    kept = max(range(len(epochs)), key=lambda i: _score(epochs[i]))  # the rule FineTune keeps by
    report = {
        "command": "benchmarks/finetune_epochs.py "
        f"--epochs {args.epochs} --patience {args.patience} --seed {args.seed}",
        "seed": args.seed,
        "params": params,
        "n_train": len(rows),
        "train_seconds": round(seconds, 1),
        "load_avg_1m": os.getloadavg()[0],
        "epochs": epochs,
        "kept_epoch": kept + 1,
        "accuracy": acc.value,
        "accuracy_ci": [acc.low, acc.high],
        **memory,
    }
    if args.save_logits:
        report["heldout_logits_final"] = [round(float(v), 4) for v in logits]
    if args.keep_model:
        args.keep_model.mkdir(parents=True, exist_ok=True)
        estimator.save(args.keep_model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"kept epoch {kept + 1}: held-out accuracy {acc.value:.4f} [{acc.low:.4f}, {acc.high:.4f}]")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
