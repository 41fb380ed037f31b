"""LLM judging on Ray: `judgeloop judge FILE --out OUT --engine ray [--ray-address ADDR] [--workers N]`.

    judgeloop judge sessions.jsonl --model gpt-4o-mini --out verdicts.jsonl --engine ray --workers 4
    judgeloop judge --project shop --db postgresql://db/judgeloop --model local --engine ray --ray-address ray://head:10001

The sessions are cut into chunks and spread over a pool of Ray actors (`ray.util.ActorPool`). Each actor
builds the judge the local path builds (`JudgeSpec.build`: the same client, runner, concurrency, retries
and parameters) once, and judges its chunks; a local model is loaded once per actor. When judging a
project, every actor's runner uses the workspace's LLM cache (`llm.cache.StoreCache` on the same
database URL, SQLite on one machine or PostgreSQL on a cluster), so a response cached by any actor, or
by an earlier local run, is a hit for all of them, under the cache's own rules (only reproducible calls
are cached). Chunks come back in session order, so the file and the store receive what `--engine local`
writes. The actors' usage (calls, cached, tokens, cost) is summed for the run's summary.

Ray is an optional extra (`pip install 'judgeloop[ray]'`); the runtime is `ray_engine.ray_runtime`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from judgeloop.llm.runner import Usage
from judgeloop.ray_engine import RayOptions, ray_runtime
from judgeloop.types import Session, Verdict


@dataclass(frozen=True)
class JudgeSpec:
    """Everything an actor needs to build the judge (plain values: it travels to the workers)."""

    model: str
    base_url: str | None
    rubric: Any  # a Rubric, or a name for pairwise
    pairwise: bool = False
    short: bool = False
    name: str | None = None
    concurrency: int = 4
    options: dict[str, Any] = field(default_factory=dict)
    cache_db: str | None = None  # a workspace URL: the runner caches in its llm_cache table

    def build(self) -> tuple[Any, Any]:
        """(judge, runner), as `judgeloop judge` builds them."""
        from judgeloop.judging import make_judge
        from judgeloop.llm import make_client

        cache = None
        if self.cache_db is not None:
            from judgeloop.llm.cache import StoreCache
            from judgeloop.store import Workspace

            cache = StoreCache(Workspace(self.cache_db))
        runner = make_client(self.model, self.base_url, concurrency=self.concurrency, cache=cache)
        judge = make_judge(runner, self.rubric, self.pairwise, self.short, self.name, **self.options)
        return judge, runner


class JudgeActor:
    """One Ray actor: builds the judge once, then judges chunks of sessions."""

    def __init__(self, spec: JudgeSpec) -> None:
        self.judge, self.runner = spec.build()
        self._reported = Usage()

    def evaluate(self, sessions: list[Session]) -> tuple[list[Verdict], Usage]:
        """The chunk's verdicts, and the usage spent on it."""
        verdicts = self.judge.evaluate(sessions)
        now = self.runner.usage
        spent = Usage(
            **{f.name: getattr(now, f.name) - getattr(self._reported, f.name) for f in fields(Usage)}
        )
        self._reported = Usage(**{f.name: getattr(now, f.name) for f in fields(Usage)})
        return verdicts, spent


def judge_chunks(
    spec: JudgeSpec, sessions: list[Session], chunk: int, options: RayOptions, usage: Usage
) -> Iterator[list[Verdict]]:
    """The verdicts of `sessions`, chunk by chunk in order, judged on Ray actors; `usage` is added to
    as chunks come back."""
    if not sessions:
        return
    chunks = [sessions[i : i + chunk] for i in range(0, len(sessions), chunk)]
    with ray_runtime(options) as ray:
        from ray.util import ActorPool

        spare = int(ray.cluster_resources().get("CPU", 2))
        workers = min(options.workers or max(1, spare - 1), len(chunks))
        remote = ray.remote(num_cpus=options.threads)(JudgeActor)
        pool = ActorPool([remote.remote(spec) for _ in range(workers)])
        for verdicts, spent in pool.map(lambda actor, part: actor.evaluate.remote(part), chunks):
            for f in fields(Usage):
                setattr(usage, f.name, getattr(usage, f.name) + getattr(spent, f.name))
            yield verdicts
