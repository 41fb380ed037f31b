"""How long a fresh process takes to load a custom evaluator and give its first verdict, and its memory.

    .venv/bin/python -m benchmarks.startup              # 7 rounds, ~2 min; results/startup.json

The evaluator is what `judgeloop train` writes for the bundled support set by default (embedding_head
on the MiniLM encoder with an ONNX encoder pass), trained once into a temp folder. Each round starts
one new Python process per runtime, alternating which goes first:
- `onnx`: the default load (`JUDGELOOP_RUNTIME=auto`): ONNX Runtime and the tokenizer's
  tokenizer.json; neither transformers nor torch is imported.
- `torch`: `JUDGELOOP_RUNTIME=torch`, the baseline: transformers, torch and the safetensors weights.
  Before commit 3f3730b the ONNX load also went through it (it loaded the torch weights it never used);
  `--baseline-src DIR` adds a third process per round, `onnx (baseline)`, the default load with
  DIR (e.g. a `git worktree` of an older commit's src/) first on PYTHONPATH.
Each process imports judgeloop, loads the evaluator and scores one session; it reports the load time,
the first verdict's latency and its peak resident memory (VmHWM). The table gives medians over the rounds, the
process's whole wall time as seen from outside, and the ratio onnx / torch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

console = Console(highlight=False)
RESULTS = Path(__file__).resolve().parent / "results"
PROBE = """
import json, resource, sys, time
def peak_mb():
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's peak over the fork)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
import judgeloop
ev = judgeloop.load_evaluator(sys.argv[1])
loaded = time.perf_counter()
ev.evaluate_llm_session("Where is my order #4411?", "It shipped yesterday and arrives Friday.")
done = time.perf_counter()
print(json.dumps({
    "runtime": ev.runtime,
    "load_s": loaded - started,
    "first_verdict_ms": 1000 * (done - loaded),
    "max_rss_mb": peak_mb(),
    "torch_imported": "torch" in sys.modules,
}))
"""


def probe(model: Path, runtime: str, src: Path | None = None) -> dict[str, float]:
    env = {**os.environ, "JUDGELOOP_RUNTIME": "auto" if runtime == "onnx" else runtime}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(model)], capture_output=True, text=True, env=env, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    if result["runtime"] != runtime:
        raise RuntimeError(f"asked for {runtime}, the process ran {result['runtime']}")
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--baseline-src", type=Path, help="also load with this src/ folder first on PYTHONPATH")
    p.add_argument("--out", type=Path, default=RESULTS / "startup.json")
    args = p.parse_args(argv)

    from judgeloop.assets import EXAMPLE_DATASET
    from judgeloop.cli import main as cli

    variants: dict[str, tuple[str, Path | None]] = {"onnx": ("onnx", None), "torch": ("torch", None)}
    if args.baseline_src:
        variants["onnx (baseline)"] = ("onnx", args.baseline_src.resolve())
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="judgeloop-startup-") as tmp:
        model = Path(tmp) / "model"
        cli(["train", str(EXAMPLE_DATASET), "--out", str(model)])
        from judgeloop.artifact import ModelArtifact

        onnx_file = ModelArtifact.load(model).onnx
        for r in tqdm(range(args.rounds), desc="rounds"):
            names = list(variants)
            for name in names if r % 2 == 0 else names[::-1]:
                runs[name].append(probe(model, *variants[name]))
    keys = ("process_s", "load_s", "first_verdict_ms", "max_rss_mb")
    medians = {rt: {k: statistics.median(x[k] for x in rs) for k in keys} for rt, rs in runs.items()}
    ratios = {k: medians["onnx"][k] / medians["torch"][k] for k in keys}
    baseline = medians.get("onnx (baseline)")
    table = Table(title=f"fresh process: load + first verdict ({args.rounds} rounds, medians)")
    for column in ("runtime", "process s", "load s", "first verdict ms", "peak RSS MB", "torch imported"):
        table.add_column(column)
    for rt in variants:
        m = medians[rt]
        imported = {x["torch_imported"] for x in runs[rt]}
        table.add_row(
            rt,
            f"{m['process_s']:.2f}",
            f"{m['load_s']:.2f}",
            f"{m['first_verdict_ms']:.1f}",
            f"{m['max_rss_mb']:.0f}",
            "/".join(str(v).lower() for v in sorted(imported)),
        )
    table.add_row("onnx / torch", *(f"{ratios[k]:.2f}x" for k in keys), "")
    if baseline:
        table.add_row("onnx / baseline", *(f"{medians['onnx'][k] / baseline[k]:.2f}x" for k in keys), "")
    console.print(table)
    report = {
        "command": f"benchmarks/startup.py --rounds {args.rounds}"
        + (f" --baseline-src {args.baseline_src}" if args.baseline_src else ""),
        "onnx_file": onnx_file,
        "load_avg_1m": os.getloadavg()[0],
        "medians": medians,
        "ratios_onnx_to_torch": ratios,
        "ratios_onnx_to_baseline": {k: medians["onnx"][k] / baseline[k] for k in keys} if baseline else None,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
