"""Batch scoring throughput: `evaluate --engine local` vs `--engine ray` with 1 and 2 workers (issue 18 §2).

    .venv/bin/python -m benchmarks.ray_scoring --model DIR --rows 2000   # results/ray_scoring.json

Data: the first `--rows` distinct sessions of ../shared/datasets/truthfulqa_judge/finetune_truth_train.jsonl
(question = input, answer = output), written once as Parquet. Each engine scores the whole file through
the CLI's own code path (`judgeloop evaluate FILE --model DIR --out X.jsonl [--engine ray --workers N]`,
in this process); the wall time includes Ray's start-up and the actors' model loads, as a user sees it.
The resident memory of each Ray scoring actor is sampled while it runs (psutil, processes named
`ray::MapWorker...`). Medians of `--repeats` runs; the ratio of each to the local engine is taken in
the same process. Writes `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "truthfulqa_judge"
RESULTS = Path(__file__).resolve().parent / "results"


def sessions_file(rows: int, folder: Path) -> Path:
    import pandas as pd

    seen, records = set(), []
    for line in (SHARED / "finetune_truth_train.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        q, _, a = row["prompt"].rsplit("\n", 1)[0].partition("\nA:")
        key = (q.removeprefix("Q:").strip(), a.strip())
        if key in seen or not key[1]:
            continue
        seen.add(key)
        records.append({"model_input": key[0], "model_output": key[1]})
        if len(records) == rows:
            break
    path = folder / "sessions.parquet"
    pd.DataFrame(records).to_parquet(path)
    return path


class ActorMemory:
    """Peak resident memory (MB) of Ray's map actors, sampled every 0.2 s while a run lasts."""

    def __init__(self) -> None:
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for proc in psutil.process_iter(["pid", "cmdline", "memory_info"]):
                cmd = " ".join(proc.info.get("cmdline") or [])
                if "MapWorker" in cmd and proc.info.get("memory_info") is not None:
                    rss = proc.info["memory_info"].rss / 2**20
                    self.peak[proc.info["pid"]] = max(self.peak.get(proc.info["pid"], 0.0), rss)
            self._stop.wait(0.2)

    def __enter__(self) -> ActorMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(data: Path, model: str, out: Path, engine: list[str]) -> float:
    from judgeloop.cli import main

    started = time.perf_counter()
    try:
        main(["evaluate", str(data), "--model", model, "--out", str(out), *engine])
    except SystemExit as exc:
        if exc.code:
            raise
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a model folder (e.g. a strong_encoder --save output)")
    p.add_argument("--rows", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=RESULTS / "ray_scoring.json")
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jl-ray-bench-"))
    data = sessions_file(args.rows, folder)
    configs = {
        "local": [],
        "ray_1_worker": ["--engine", "ray", "--workers", "1"],
        "ray_2_workers": ["--engine", "ray", "--workers", "2"],
    }
    times: dict[str, list[float]] = {k: [] for k in configs}
    memory: dict[str, list[float]] = {k: [] for k in configs if k != "local"}
    loads = []
    for _ in range(args.repeats):
        for name, flags in configs.items():
            with ActorMemory() as mem:
                times[name].append(run(data, args.model, folder / f"{name}.jsonl", flags))
            if name in memory:
                memory[name].extend(mem.peak.values())
            loads.append(os.getloadavg()[0])
    local = statistics.median(times["local"])
    result = {
        "command": "python -m benchmarks.ray_scoring "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "rows": args.rows,
        "model": args.model,
        "machine": f"{os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f} during the runs",
        "seconds": times,
        "median_rows_per_s": {k: args.rows / statistics.median(v) for k, v in times.items()},
        "ratio_to_local": {k: local / statistics.median(v) for k, v in times.items()},
        "actor_peak_rss_mb": {k: (max(v) if v else None) for k, v in memory.items()},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {k: result[k] for k in ("median_rows_per_s", "ratio_to_local", "actor_peak_rss_mb", "machine")},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
