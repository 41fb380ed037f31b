"""Pieces of the server on their own: sampling, review bands, the model cache's swaps, the batcher."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from _server_support import fake_model_dir, make_env
from judgeloop import registry
from judgeloop.errors import InvalidInput
from judgeloop.evaluators.learned import LearnedEvaluator
from judgeloop.server.batcher import Batcher
from judgeloop.server.catalog import Scope
from judgeloop.server.model_cache import LoadedModel, ModelCache, review_band
from judgeloop.server.schemas import EvaluateIn, parse_items
from judgeloop.server.scoring import is_sampled
from judgeloop.store import Workspace


class ScriptedModel(LearnedEvaluator):
    """A LearnedEvaluator whose scores are scripted, where only scheduling is under test:
    P(good) = len(output)/100 (its verdicts, threshold and review band are LearnedEvaluator's own)."""

    def __init__(self, delay: float = 0.0, fail: bool = False, band=None) -> None:
        config = {"threshold": 0.5, **({"review_band": list(band)} if band else {})}
        super().__init__(None, config)
        self.delay, self.fail, self.calls = delay, fail, []

    def predict_proba(self, pairs):
        self.calls.append(len(pairs))
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("model exploded")
        return np.array([len(o) / 100 for _, o in pairs])


def loaded(model, name="m", version=1) -> LoadedModel:
    return LoadedModel(name, version, None, model)


def test_sampling_is_deterministic_and_close_to_the_rate():
    ids = [f"session-{i}" for i in range(20_000)]
    share = sum(is_sampled(i, 0.1) for i in ids) / len(ids)
    assert 0.09 < share < 0.11
    assert [is_sampled(i, 0.1) for i in ids[:200]] == [is_sampled(i, 0.1) for i in ids[:200]]
    assert not any(is_sampled(i, 0.0) for i in ids[:100]) and all(is_sampled(i, 1.0) for i in ids[:100])
    assert {i for i in ids if is_sampled(i, 0.05)} <= {i for i in ids if is_sampled(i, 0.1)}


def test_review_band_from_the_model_config():
    assert review_band({}) is None
    assert review_band({"review_band": [0.3, 0.7]}) == (0.3, 0.7)
    assert review_band({"target_error": {"low": 0.2, "high": 0.6}}) == (0.2, 0.6)
    assert review_band({"review_band": [0.8, 0.2]}) is None
    m = loaded(ScriptedModel(band=(0.4, 0.6)))
    assert m.needs_review(0.5) and not m.needs_review(0.61) and not loaded(ScriptedModel()).needs_review(0.5)
    v = m.verdict(0.55, 0.012, "s1")
    assert (v.label, v.needs_review, v.latency_ms, v.version, v.session_id) == (1, True, 12.0, "1", "s1")


def test_parse_items_names_fields_and_rows():
    items, many = parse_items(
        {"model_input": "q", "model_output": "a"}, EvaluateIn, max_items=5, max_chars=10
    )
    assert not many and items[0].model_output == "a"
    with pytest.raises(InvalidInput) as err:
        parse_items(
            [{"model_input": "q", "model_output": "a"}, {"model_input": "q"}],
            EvaluateIn,
            max_items=5,
            max_chars=10,
        )
    assert (err.value.row, err.value.field) == (1, "model_output")
    with pytest.raises(InvalidInput) as err:
        parse_items({"model_input": "q", "model_output": "a" * 11}, EvaluateIn, max_items=5, max_chars=10)
    assert err.value.field == "model_output" and "limit is 10" in str(err.value)
    with pytest.raises(InvalidInput) as err:
        parse_items("text", EvaluateIn, max_items=5, max_chars=10)
    assert err.value.field == "body"


def test_batcher_batches_concurrent_jobs_and_keeps_their_order():
    model = ScriptedModel(delay=0.05)
    batcher = Batcher(window_s=0.0, max_size=8)
    first = batcher.submit(loaded(model), [("q", "x")])  # runs alone while the others queue
    time.sleep(0.01)
    futures = [batcher.submit(loaded(model), [("q", "x" * n)]) for n in range(1, 6)]
    assert first.result(5) == [0.01]
    assert [f.result(5) for f in futures] == [[n / 100] for n in range(1, 6)]
    assert model.calls == [1, 5]
    big = batcher.submit(loaded(model), [("q", "x")] * 20)  # one job over max_size: split in chunks
    assert len(big.result(5)) == 20 and model.calls[-3:] == [8, 8, 4]
    batcher.close()


def test_batcher_gives_errors_to_the_waiting_requests_and_keeps_running():
    batcher = Batcher(max_size=4)
    bad = batcher.submit(loaded(ScriptedModel(fail=True)), [("q", "a")])
    with pytest.raises(RuntimeError, match="exploded"):
        bad.result(5)
    assert batcher.submit(loaded(ScriptedModel()), [("q", "ab")]).result(5) == [0.02]
    batcher.close()


def test_batcher_runs_guardrail_jobs_before_background_ones():
    model = ScriptedModel(delay=0.03)
    order: list[str] = []
    batcher = Batcher(max_size=1)
    blocker = batcher.submit(loaded(model), [("q", "a")])
    time.sleep(0.01)
    background = [batcher.submit(loaded(model), [("q", "b")], background=True) for _ in range(3)]
    urgent = batcher.submit(loaded(model), [("q", "c")])
    for name, fut in [("bg", f) for f in background] + [("urgent", urgent)]:
        fut.add_done_callback(lambda _, name=name: order.append(name))
    blocker.result(5)
    urgent.result(5)
    [f.result(5) for f in background]
    assert order[0] == "urgent"
    batcher.close()


def test_model_cache_swaps_champions_without_blocking_requests(tmp_path):
    env = make_env(tmp_path, [fake_model_dir(tmp_path / "a"), fake_model_dir(tmp_path / "b")])
    release = threading.Event()

    def loader(info):
        if info.version == 2:
            release.wait(10)  # a slow load of the new champion
        return ScriptedModel()

    swaps = []
    cache = ModelCache(
        env.ws, refresh_s=0.05, loader=loader, on_swap=lambda old, new: swaps.append(new.version)
    )
    scope = Scope("shop", _pid(env.ws, "shop"))
    assert cache.resolve(scope).version == 1
    other_process = Workspace(env.url)
    registry.promote(other_process, "support@2", project="shop", force=True)
    assert cache.resolve(scope).version == 1  # within refresh_s: not even looked up
    time.sleep(0.06)
    assert cache.resolve(scope).version == 1  # v2 loads in the background; v1 keeps serving
    release.set()
    deadline = time.monotonic() + 5
    while cache.resolve(scope).version != 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert swaps == [2]
    assert cache.resolve(scope, "support@1").version == 1  # pinned versions stay available
    cache.close()


def _pid(ws: Workspace, project: str) -> int:
    with ws.db() as db:
        return ws.project_id(db, project)
