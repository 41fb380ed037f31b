"""`judgeloop run`: generate responses from the model under test, then evaluate them with every method
that applies, side by side, and measure each method against the human labels where there are some.

    RUN_DIR/responses.jsonl   one line per prompt (appended as generated: a killed run resumes)
    RUN_DIR/results.json      per method: per-row verdicts, the mean score and pass rate with bootstrap
                              95% CIs, and its agreement with the humans; plus the rows themselves
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.generation import GenerationConfig, PromptItem, generate_responses, read_prompts
from judgeloop.io import atomic_write_text
from judgeloop.sfteval import rows as run_rows
from judgeloop.sfteval.checkspec import NamedCheck, load_checks
from judgeloop.sfteval.methods import (
    Method,
    check_methods,
    ifeval_methods,
    judge_method,
    learned_method,
    reference_methods,
)
from judgeloop.sfteval.summary import clean, human_summary, summarize_method
from judgeloop.types import Verdict

RESPONSES_FILE = "responses.jsonl"
RESULTS_FILE = "results.json"
RESULTS_VERSION = 1

Advance = Callable[[int], None]
Track = Callable[[str, int], Advance]


def no_track(label: str, total: int) -> Advance:
    return lambda n: None


@dataclass
class RunOptions:
    model: str
    prompts: Path
    out_dir: Path
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    limit: int | None = None
    references_col: str = "reference"
    reference_file: Path | None = None
    label_col: str = "good"
    checks: Path | None = None
    judge_model: str | None = None
    rubric: str = "seed"
    base_url: str | None = None
    judge_max_tokens: int = 512
    concurrency: int = 4
    evaluator: str | None = None
    project: str | None = None
    db: str | None = None
    n_resamples: int = 1000
    include_train: bool = False


@dataclass
class _Prepared:
    items: list[PromptItem]
    annotations: dict[str, dict[str, Any]]
    checks: list[NamedCheck]
    judge: Any = None
    evaluator: Any = None


def _prepare(opts: RunOptions) -> _Prepared:
    """Read and validate every input before the (slow) generation starts."""
    items = read_prompts(opts.prompts, opts.limit)
    ref_file = run_rows.read_reference_file(opts.reference_file) if opts.reference_file else None
    annotations = run_rows.prompt_annotations(
        items,
        str(opts.prompts),
        references_col=opts.references_col,
        reference_file=ref_file,
        label_col=opts.label_col,
    )
    prepared = _Prepared(items, annotations, load_checks(opts.checks) if opts.checks else [])
    applicable = (
        prepared.checks
        or opts.judge_model
        or opts.evaluator
        or any(a["reference"] or a["instructions"] for a in annotations.values())
    )
    if not applicable:
        raise InvalidInput(
            "no evaluation method applies to these prompts",
            file=str(opts.prompts),
            expected=f"--checks, --judge-model, --evaluator, a '{opts.references_col}' column or --reference "
            "file, or IFEval prompts with instruction_id_list",
        )
    if opts.judge_model:
        from judgeloop.judging import RubricJudge, load_rubric
        from judgeloop.llm import make_client

        client = make_client(opts.judge_model, opts.base_url, concurrency=opts.concurrency)
        prepared.judge = RubricJudge(client, load_rubric(opts.rubric), max_tokens=opts.judge_max_tokens)
    if opts.evaluator:
        from judgeloop.registry import load_evaluator

        prepared.evaluator = load_evaluator(opts.evaluator, db=opts.db)
    return prepared


def _generate(opts: RunOptions, items: list[PromptItem], track: Track) -> dict[str, Any]:
    out = opts.out_dir / RESPONSES_FILE
    run_rows.check_model(run_rows.read_responses(out), opts.model, out)
    given = run_rows.seed_given(items, str(opts.prompts), out)
    done = run_rows.read_responses(out)
    todo = [p for p in items if p.id not in done]
    advance = track("generating", len(todo)) if todo else None
    result = generate_responses(opts.model, todo, out, opts.generation, on_progress=advance)
    return {
        "given": given,
        "generated": result["generated"],
        "already_answered": len(items) - len(todo) - given,
    }


def _methods(opts: RunOptions, prep: _Prepared, rows: list[run_rows.RunRow], track: Track) -> list[Method]:
    sessions = [r.session() for r in rows]
    methods = check_methods(prep.checks, sessions) + ifeval_methods(rows)
    if any(r.reference for r in rows):
        methods += reference_methods(sessions, track("reference metrics", 4))
    if prep.judge is not None:
        chunk = max(1, opts.concurrency) * 2
        methods.append(judge_method(prep.judge, sessions, chunk, track("LLM judge", len(sessions))))
    if prep.evaluator is not None:
        methods.append(learned_method(prep.evaluator, sessions, track("learned evaluator", len(sessions))))
    return methods


def _with_project(
    opts: RunOptions, rows: list[run_rows.RunRow], methods: list[Method], human: list[int | None]
) -> dict[str, Any]:
    """Store sessions and verdicts; fill in the project's human labels where the file had none."""
    from judgeloop.sfteval import store
    from judgeloop.store import Workspace

    assert opts.project is not None
    ws = Workspace(opts.db)
    try:
        meta = {"run": opts.out_dir.name, "model": opts.model}
        uids = store.store_sessions(ws, opts.project, rows, meta)
        applied = [v for m in methods for v in m.verdicts if _applies(v)]
        stored = store.store_verdicts(ws, opts.project, applied, uids)
        labels = store.project_labels(ws, opts.project, uids)
    finally:
        ws.close()
    added = 0
    for i, row in enumerate(rows):
        if human[i] is None and row.session_id in labels:
            human[i] = labels[row.session_id]
            added += 1
    return {"project": opts.project, "sessions": len(uids), "verdicts": stored, "labels_from_project": added}


def _applies(verdict: Verdict) -> bool:
    """False for the rows a method does not apply to (no IFEval instructions, no reference)."""
    return verdict.status != "abstain"


def run_evaluation(opts: RunOptions, track: Track = no_track) -> dict[str, Any]:
    """Generate (resumably), evaluate with every applicable method, write RUN_DIR/results.json."""
    started = time.time()
    prep = _prepare(opts)
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    counts = _generate(opts, prep.items, track)
    responses = run_rows.read_responses(opts.out_dir / RESPONSES_FILE)
    rows = run_rows.build_rows(prep.items, prep.annotations, responses)
    methods = _methods(opts, prep, rows, track)
    human: list[int | None] = [r.human for r in rows]
    sources = {"prompts_file": sum(h is not None for h in human)}
    store_info = _with_project(opts, rows, methods, human) if opts.project else None
    if store_info:
        sources["project"] = store_info["labels_from_project"]
    ids = [r.id for r in rows]
    results = {
        "version": RESULTS_VERSION,
        "run": {
            "model": opts.model,
            "prompts": str(opts.prompts),
            "n": len(rows),
            **counts,
            "generation": asdict(opts.generation),
            "judge": {"model": opts.judge_model, "rubric": opts.rubric} if opts.judge_model else None,
            "evaluator": opts.evaluator,
            "store": store_info,
            "seconds": round(time.time() - started, 1),
        },
        "human": human_summary(human, sources, opts.n_resamples),
        "methods": [
            summarize_method(
                m,
                ids,
                human,
                opts.n_resamples,
                trained=_trained_rows(m, prep, rows),
                include_train=opts.include_train,
            )
            for m in methods
        ],
        "rows": [_row_record(r, h) for r, h in zip(rows, human, strict=True)],
    }
    results = clean(results)
    atomic_write_text(opts.out_dir / RESULTS_FILE, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results


def _trained_rows(method: Method, prep: _Prepared, rows: list[run_rows.RunRow]) -> frozenset[int]:
    """Indexes of the rows the run's learned evaluator trained on (its model folder's `train_ids`)."""
    if method.kind != "learned" or prep.evaluator is None:
        return frozenset()
    train_ids = {str(i) for i in (getattr(prep.evaluator, "config", {}) or {}).get("train_ids") or []}
    return frozenset(i for i, r in enumerate(rows) if r.session_id in train_ids)


def _row_record(row: run_rows.RunRow, human: int | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "session_id": row.session_id,
        "prompt": row.turns[-1],
        "turns": len(row.turns),
        "response": row.response,
        "reference": row.reference,
        "human": human,
        "source": row.source,
    }
