"""Batch scoring on Ray Data: `judgeloop evaluate DATA --model M --engine ray [--ray-address ADDR]`.

    judgeloop evaluate big.parquet --model models/support --out preds.jsonl --engine ray --workers 2
    judgeloop evaluate big.parquet --model shop@3 --out preds.jsonl --engine ray --ray-address ray://head:10001

The file is read and validated by judgeloop's own reader, row by row (`io.stream_dataset`: the same
columns, ids, labels and errors as `--engine local`), and staged as Parquet shards of SHARD_ROWS rows.
Ray Data reads the shards and runs `map_batches` over an actor pool: each actor loads the evaluator once
(from its model folder, resolved on the driver, so a registry name needs no database on the workers)
with ONNX Runtime and torch limited to `threads` threads, and scores its batches. The driver receives
the scores in row order and writes the predictions file as they arrive (to a temporary file renamed
into place at the end, so a failed run leaves no half-written output). Memory on the driver stays
bounded by a shard, whatever the size of the input; the output rows and fields are those of
`--engine local`.

Without an address, a local Ray runtime is started on this machine (`num_cpus` = the workers + 1) and
stopped afterwards; with one, the job joins that cluster (e.g. a KubeRay head) and `staging` must be a
folder every worker can read (shared storage). Ray is an optional extra: `pip install 'judgeloop[ray]'`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judgeloop.errors import InvalidInput
from judgeloop.progress import track

SHARD_ROWS = 1_000  # a Ray Data task scores a whole shard: small shards keep every actor busy
NO_LABEL = -1  # `human` of a row without a human label


@dataclass(frozen=True)
class RayOptions:
    """How to run on Ray: where (`address`; None starts a local runtime), how many actors (`workers`;
    default: the machine's cores), threads per actor, rows per batch, and the staging folder."""

    address: str | None = None
    workers: int | None = None
    threads: int = 1
    batch_size: int = 64
    staging: Path | None = None
    shard_rows: int = SHARD_ROWS


@dataclass(frozen=True)
class ScoredRow:
    """One row's verdict as it comes back from the actors (what the predictions file needs)."""

    row: int
    id: str | None
    human: int | None
    label: int
    probability: float
    needs_review: bool
    stage: str | None


def require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InvalidInput(
            "--engine ray needs Ray, which is not installed",
            field="engine",
            expected="pip install 'judgeloop[ray]', or --engine local",
        ) from None
    return ray


class Scorer:
    """The actor's callable: loads the evaluator once, then scores batches of staged rows."""

    def __init__(self, model_dir: str, name: str, version: str | None, threads: int, batch_size: int) -> None:
        os.environ["JUDGELOOP_ONNX_THREADS"] = str(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        from judgeloop.registry import load_evaluator

        self.evaluator = load_evaluator(model_dir)
        self.evaluator.name, self.evaluator.version = name, version
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        pairs = [
            (json.loads(str(i)), str(o))
            for i, o in zip(batch["input_json"], batch["model_output"], strict=True)
        ]
        verdicts = self.evaluator.evaluate(pairs, batch_size=self.batch_size)
        return {
            "row": batch["row"],
            "id": batch["id"],
            "human": batch["human"],
            "label": np.asarray([int(v.label or 0) for v in verdicts], dtype=np.int64),
            "probability": np.asarray([float(v.probability or 0.0) for v in verdicts], dtype=np.float64),
            "needs_review": np.asarray([bool(v.needs_review) for v in verdicts]),
            "stage": np.asarray([v.stage or "" for v in verdicts], dtype=object),
        }


def stage_rows(rows: Iterable[Any], folder: Path, shard_rows: int = SHARD_ROWS) -> int:
    """Write validated rows (io.ImportedRow) as Parquet shards in `folder`; returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("row", pa.int64()),
            ("id", pa.string()),
            ("human", pa.int8()),
            ("input_json", pa.string()),
            ("model_output", pa.string()),
        ]
    )
    buffer: dict[str, list[Any]] = {name: [] for name in schema.names}
    count, shard = 0, 0

    def flush() -> None:
        nonlocal shard
        if buffer["row"]:
            pq.write_table(pa.table(buffer, schema=schema), folder / f"part-{shard:06d}.parquet")
            shard += 1
            for values in buffer.values():
                values.clear()

    for item in rows:
        good = item.label.good if item.label is not None else None
        buffer["row"].append(item.row)
        buffer["id"].append(item.session.id)
        buffer["human"].append(NO_LABEL if good is None else int(good))
        buffer["input_json"].append(json.dumps(item.session.model_input, ensure_ascii=False))
        buffer["model_output"].append(item.session.model_output)
        count += 1
        if len(buffer["row"]) >= shard_rows:
            flush()
    flush()
    return count


@contextmanager
def ray_runtime(options: RayOptions) -> Iterator[Any]:
    """Ray, initialised: joins `options.address`, or starts a local runtime it stops afterwards."""
    ray = require_ray()
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if options.address:
            kwargs["address"] = options.address
        else:
            # one CPU beyond the actors' for Ray Data's own read tasks (without it the pool starves them)
            kwargs["num_cpus"] = (options.workers or os.cpu_count() or 1) * options.threads + 1
        ray.init(**kwargs)
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def score_rows(evaluator: Any, rows: Iterable[Any], options: RayOptions) -> Iterator[ScoredRow]:
    """Score validated rows (io.ImportedRow, in file order) on Ray; verdicts come back in row order.

    `evaluator` is the loaded evaluator (the driver's check that the model exists and loads); the
    actors load the same folder (`evaluator.path`)."""
    if getattr(evaluator, "path", None) is None:
        raise InvalidInput(
            f"{evaluator!r} has no model folder for Ray workers to load",
            field="model",
            expected="a model directory or a registered version",
        )
    base = options.staging
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="judgeloop-ray-", dir=base))
    try:
        total = stage_rows(rows, folder, options.shard_rows)
        if total == 0:
            return
        with ray_runtime(options) as ray:
            context = ray.data.DataContext.get_current()
            context.execution_options.preserve_order = True
            context.enable_progress_bars = False
            spare = int(ray.cluster_resources().get("CPU", 2)) - 1
            workers = options.workers or max(1, spare // options.threads)
            scored = ray.data.read_parquet(str(folder)).map_batches(
                Scorer,
                fn_constructor_kwargs={
                    "model_dir": str(evaluator.path),
                    "name": evaluator.name,
                    "version": evaluator.version,
                    "threads": options.threads,
                    "batch_size": options.batch_size,
                },
                batch_size=options.batch_size,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=options.threads,
            )
            with track("scoring on Ray", total, unit="rows") as bar:
                for batch in scored.iter_batches(batch_size=options.batch_size, batch_format="numpy"):
                    bar.advance(len(batch["row"]))
                    yield from _scored_rows(batch)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _scored_rows(batch: dict[str, np.ndarray]) -> Iterator[ScoredRow]:
    for i in range(len(batch["row"])):
        human = int(batch["human"][i])
        stage = str(batch["stage"][i])
        yield ScoredRow(
            row=int(batch["row"][i]),
            id=None if batch["id"][i] is None else str(batch["id"][i]),
            human=None if human == NO_LABEL else human,
            label=int(batch["label"][i]),
            probability=float(batch["probability"][i]),
            needs_review=bool(batch["needs_review"][i]),
            stage=stage or None,
        )


@dataclass
class StreamSummary:
    """What reading the file left aside, for the CLI's one-line note (cli.options.report_rows)."""

    empty_outputs: int = 0
    rejects: list[Any] | None = None

    def __post_init__(self) -> None:
        self.rejects = self.rejects or []


def validated_rows(
    path: Path, columns: dict[str, str | None], on_error: str, summary: StreamSummary
) -> Iterator[Any]:
    """The file's rows, validated one at a time as `io.read_dataset` validates them (a repeated id is
    an error, or a reject with on_error="skip"); rejects and empty outputs are counted in `summary`."""
    from judgeloop.io import Reject, stream_dataset

    stream = stream_dataset(path, on_error=on_error, **columns)  # type: ignore[arg-type]
    seen: dict[str, int] = {}
    for item in stream:
        if isinstance(item, Reject):
            summary.rejects.append(item)  # type: ignore[union-attr]
            continue
        sid = item.session.id or ""
        if stream.id_field and sid in seen:
            message = f"duplicate id {sid!r} (first on row {seen[sid]})"
            if on_error != "skip":
                raise InvalidInput(
                    message, file=str(path), row=item.row, field=stream.id_field, expected="unique ids"
                )
            reason = f"{message} (expected unique ids)"
            summary.rejects.append(Reject(item.row, stream.id_field, reason, item.record or {}))  # type: ignore[union-attr]
            continue
        if stream.id_field:
            seen[sid] = item.row
        summary.empty_outputs += not item.session.model_output.strip()
        yield item
