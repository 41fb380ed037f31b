"""Cascade evaluators: per-stage risk control, routing, the cascade folder, registry, CLI and server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from judgeloop import registry
from judgeloop.cli import main
from judgeloop.errors import Conflict, InvalidInput
from judgeloop.evaluators.cascade import CascadeEvaluator
from judgeloop.loop.risk import calibrate
from judgeloop.loop.risk_cascade import REVIEW, automation_report, certify_cascade, route


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# --- the risk control, on synthetic scores -------------------------------------------------------


def _two_experts(n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """Stage 1 is sure and right on 'easy' sessions and unsure on the rest; stage 2 is sure on most."""
    y = rng.integers(0, 2, n)
    easy = rng.random(n) < 0.5
    p1 = np.where(easy, np.where(y == 1, 0.97, 0.03), 0.5 + rng.normal(0, 0.05, n))
    sure2 = rng.random(n) < 0.8
    flip = rng.random(n) < 0.01
    truth2 = np.where(flip, 1 - y, y)
    p2 = np.where(sure2, np.where(truth2 == 1, 0.95, 0.05), 0.5 + rng.normal(0, 0.05, n))
    return [np.clip(p1, 0, 1), np.clip(p2, 0, 1)], y


def test_one_stage_is_exactly_learn_then_test():
    rng = np.random.default_rng(0)
    probs, y = _two_experts(800, rng)
    (rule,) = certify_cascade(probs[:1], [0.5], y, target=0.05, delta=0.1)
    assert rule == calibrate(probs[0], y, target=0.05, delta=0.1)


@pytest.mark.parametrize("method", ["joint", "folds"])
def test_second_stage_decides_what_the_first_leaves_and_the_bound_holds_on_fresh_data(method):
    rng = np.random.default_rng(1)
    probs, y = _two_experts(2000, rng)
    rules = certify_cascade(probs, [0.5, 0.5], y, target=0.05, delta=0.1, method=method)
    assert all(r.certified for r in rules)
    if method == "folds":
        assert rules[0].delta == rules[1].delta == pytest.approx(0.05)  # Bonferroni over two stages
    else:  # one tau for both stages, tested on all 2,000 labels at delta
        assert rules[0].tau == rules[1].tau and rules[0].delta == 0.1
        assert sum(r.n_auto for r in rules) > 0.7 * len(y)
    fresh, y_fresh = _two_experts(4000, rng)
    stage, final, label = route(fresh, [0.5, 0.5], rules)
    auto = stage != REVIEW
    share1, share2 = (stage == 0).mean(), (stage == 1).mean()
    assert 0.4 < share1 < 0.6 and share2 > 0.25  # stage 2 takes most of what stage 1 cannot decide
    assert (label[auto] != y_fresh[auto]).mean() <= 0.05
    assert np.array_equal(final[stage == 0], fresh[0][stage == 0])
    assert np.array_equal(final[stage == 1], fresh[1][stage == 1])
    alone = certify_cascade(probs[:1], [0.5], y, target=0.05, delta=0.1)
    assert auto.mean() > route(fresh[:1], [0.5], alone)[0].__ne__(REVIEW).mean() + 0.2


def test_report_gives_each_target_its_share_error_and_stage_shares():
    rng = np.random.default_rng(2)
    probs, y = _two_experts(1200, rng)
    rows = automation_report(probs, [0.5, 0.5], y, repeats=10)
    assert [r["target"] for r in rows] == [0.01, 0.05, 0.10]
    assert rows[0]["certified_share"] <= rows[2]["certified_share"]
    for r in rows:
        assert sum(r["certified_stage_shares"]) == pytest.approx(r["certified_share"])
        assert r["repeats"] == 10 and r["within_target"] >= 0.8
        assert r["heldout_error"] is None or r["heldout_error"] <= r["target"] + 0.01
    json.dumps(rows, allow_nan=False)  # no NaN in model folders
    with pytest.raises(InvalidInput, match="every stage must score"):
        certify_cascade([probs[0], probs[1][:10]], [0.5, 0.5], y, target=0.05, delta=0.1)
    with pytest.raises(InvalidInput, match="unknown certification method"):
        certify_cascade(probs, [0.5, 0.5], y, target=0.05, delta=0.1, method="best")


def test_joint_certification_holds_its_bound_over_many_fresh_draws():
    """The joint rule's error among auto-decided sessions stays within target on fresh data in at least
    1 - delta of the draws (here well above: the bound is conservative), and it uses all the labels:
    it certifies more than the folds do on the same 600 labels."""
    within, joint_share, folds_share = 0, [], []
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        probs, y = _two_experts(600, rng)
        rules = certify_cascade(probs, [0.5, 0.5], y, target=0.05, delta=0.1)
        fresh, y_fresh = _two_experts(3000, rng)
        stage, _, label = route(fresh, [0.5, 0.5], rules)
        auto = stage != REVIEW
        within += int(not auto.any() or (label[auto] != y_fresh[auto]).mean() <= 0.05)
        joint_share.append(auto.mean())
        folds = certify_cascade(probs, [0.5, 0.5], y, target=0.05, delta=0.1, method="folds")
        folds_share.append((route(fresh, [0.5, 0.5], folds)[0] != REVIEW).mean())
    assert within >= 36
    assert np.mean(joint_share) > np.mean(folds_share)


# --- real models on the bundled data ---------------------------------------------------------------


def _support_csv(path: Path) -> Path:
    """100 short support sessions (10 questions x 10 answers; the 5 helpful answers are good, one label in
    six flipped so that the models are not sure of everything), with ids: short texts keep two
    embedding-head trainings cheap on a busy machine."""
    import csv

    from _server_support import BAD, GOOD, QUESTIONS

    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["session_id", "model_input", "model_output", "good"])
        for i, q in enumerate(QUESTIONS):
            for j, a in enumerate(GOOD + BAD):
                noisy = (3 * i + j) % 6 == 0  # a reviewer disagreeing on one session in six
                writer.writerow([f"q{i}-a{j}", q, a, int((j < len(GOOD)) != noisy)])
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return _support_csv(tmp_path_factory.mktemp("data") / "support.csv")


@pytest.fixture(scope="module")
def stages(data, tmp_path_factory) -> tuple[Path, Path]:
    """Two MiniLM embedding-head models holding out the same half of the rows: stage 1 with label memory
    and a 0.5 threshold, stage 2 without memory and an accuracy-tuned threshold."""
    from judgeloop.io import read_dataset
    from judgeloop.training import examples_from_rows, train_evaluator

    base = tmp_path_factory.mktemp("stages")
    examples = examples_from_rows(read_dataset(data, id_col="session_id").rows)
    common = {"test_size": 0.5, "progress": False, "onnx": False, "seed": 0, "small_data": False}
    train_evaluator(examples, base / "s1", name="fast", **common)
    train_evaluator(examples, base / "s2", name="other", memory=False, threshold="accuracy", **common)
    return base / "s1", base / "s2"


def test_build_from_a_file_writes_one_self_contained_folder(stages, data, tmp_path, capsys):
    out = tmp_path / "cascade"
    args = ["cascade", "build", "--stage", str(stages[0]), "--stage", str(stages[1])]
    args += ["--data", str(data), "--id-col", "session_id", "--target-error", "0.3"]
    assert run([*args, "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    config = json.loads((out / "judgeloop.json").read_text())
    assert config["method"] == "cascade" and [s["dir"] for s in config["stages"]] == ["stages/1", "stages/2"]
    assert (out / "stages" / "2" / "judgeloop.json").is_file()
    trained = set(config["train_ids"])
    assert config["n_calibration"] == len(config["heldout_ids"]) == 50
    assert not trained & set(config["heldout_ids"])
    assert [r["target"] for r in report["report"]] == [0.01, 0.05, 0.10]
    assert report["share"] == pytest.approx(sum(report["stage_shares"]))
    first, second = (s["rule"] for s in config["stages"])
    assert first["delta"] == second["delta"] == 0.1 and first["tau"] == second["tau"]  # joint: one tau
    card = (out / "README.md").read_text()
    assert "## Automation report" in card and "| 5% |" in card
    assert not list(tmp_path.glob(".cascade-*"))  # staging renamed away


def test_routing_follows_each_stage_rule(stages, data):
    from judgeloop.evaluators.learned import LearnedEvaluator
    from judgeloop.io import read_dataset
    from judgeloop.loop.risk import confidence

    models = [LearnedEvaluator.load(d) for d in reversed(stages)]  # the memory-less one first
    heldout = set(models[0].config["heldout_ids"])  # no label memory on these: no p of exactly 0 or 1
    rows = [r for r in read_dataset(data, id_col="session_id").rows if r.session.id in heldout]
    pairs = [(r.session.model_input, r.session.model_output) for r in rows]
    probs = [m.predict_proba(pairs) for m in models]
    conf = np.sort(confidence(probs[0]))
    steps = np.flatnonzero(np.diff(conf) > 0) + 1  # tau_1 at a step leaves some sessions on each side
    assert len(steps), f"stage 1 gives every session the same confidence: {conf}"
    middle = int(steps[np.argmin(abs(steps - len(conf) // 2))])
    rules = [_rule(float(conf[middle]), models[0].threshold), _rule(0.5, models[1].threshold)]
    cascade = CascadeEvaluator(models, rules, {"name": "c", "stages": [{"name": "a"}, {"name": "b"}]}, None)
    staged = cascade.predict_staged(pairs)
    stage, final, _ = route(probs, [m.threshold for m in models], rules)
    expected = [None if s == REVIEW else ["1:a", "2:b"][s] for s in stage]
    assert [p.stage for p in staged] == expected
    assert expected.count("1:a") == len(conf) - middle and expected.count("2:b") == middle
    assert np.allclose([float(p) for p in staged], final, atol=1e-6)
    assert not any(p.needs_review for p in staged)
    strict = CascadeEvaluator(models, [rules[0], _rule(1.0, 0.5)], cascade.config, None)
    assert [p.needs_review for p in strict.predict_staged(pairs)] == [s != "1:a" for s in expected]
    verdicts = cascade.evaluate(pairs[:5])
    assert [v.stage for v in verdicts] == expected[:5] and all(v.latency_ms > 0 for v in verdicts)


def test_mean_logit_stage_scores_are_the_ensemble_of_the_stages_so_far():
    from judgeloop.loop.risk_cascade import stage_scores, stage_thresholds

    p1, p2, p3 = np.array([0.9, 0.2, 0.5]), np.array([0.6, 0.4, 0.99]), np.array([0.1, 0.1, 0.1])
    s1, s2, s3 = stage_scores([p1, p2, p3], "mean_logit")
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert np.allclose(s1, p1)
    assert np.allclose(logit(s2), (logit(p1) + logit(p2)) / 2)
    assert np.allclose(logit(s3), (logit(p1) + logit(p2) + logit(p3)) / 3)
    assert [np.allclose(a, b) for a, b in zip(stage_scores([p1, p2], "own"), [p1, p2], strict=True)] == [1, 1]
    cuts = stage_thresholds([0.5, 0.8], "mean_logit")
    assert cuts[0] == 0.5 and logit(cuts[1]) == pytest.approx(logit(0.8) / 2)
    with pytest.raises(InvalidInput, match="combine|stage score rule"):
        stage_scores([p1], "max")


@pytest.fixture(scope="module")
def other_stage(data, tmp_path_factory) -> Path:
    """A second model unlike `stages` (trained with synthetic negatives), holding out the same rows."""
    from judgeloop.io import read_dataset
    from judgeloop.training import examples_from_rows, train_evaluator

    out = tmp_path_factory.mktemp("other") / "s3"
    examples = examples_from_rows(read_dataset(data, id_col="session_id").rows)
    train_evaluator(
        examples, out, name="augmented", test_size=0.5, progress=False, onnx=False, seed=0,
        small_data=False, memory=False, augment=True,
    )  # fmt: skip
    return out


def test_mean_logit_cascade_serves_what_it_certified(stages, other_stage, data, tmp_path, capsys):
    from judgeloop.evaluators.learned import LearnedEvaluator
    from judgeloop.loop.risk_cascade import stage_scores

    stages = (other_stage, stages[1])
    out = tmp_path / "ensemble"
    args = ["cascade", "build", "--stage", str(stages[1]), "--stage", str(stages[0]), "--combine"]
    args += ["mean_logit", "--data", str(data), "--id-col", "session_id", "--target-error", "0.3"]
    assert run([*args, "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    config = json.loads((out / "judgeloop.json").read_text())
    assert config["combine"] == "mean_logit" and "mean_logit" in (out / "README.md").read_text()
    cascade = CascadeEvaluator.load(out)
    models = [LearnedEvaluator.load(d) for d in (stages[1], stages[0])]
    from judgeloop.io import read_dataset

    heldout = set(config["heldout_ids"])
    rows = [r for r in read_dataset(data, id_col="session_id").rows if r.session.id in heldout]
    pairs = [(r.session.model_input, r.session.model_output) for r in rows]
    own = [m.predict_proba(pairs) for m in models]
    expected = stage_scores(own, "mean_logit")
    assert not np.allclose(expected[1], own[1])  # the ensemble is not stage 2's own score
    got = cascade.stage_probs(pairs)
    assert np.allclose(got[0], expected[0]) and np.allclose(got[1], expected[1])
    staged = cascade.predict_staged(pairs)
    for i, p in enumerate(staged):  # each session carries the score of the stage that decided it
        k = 0 if p.stage == "1:" + config["stages"][0]["name"] else 1
        assert float(p) == pytest.approx(expected[k][i], abs=1e-6)
    assert any(p.stage is None or not p.stage.startswith("1:") for p in staged)


def _rule(tau: float, threshold: float):
    from judgeloop.loop.risk import AutomationRule

    return AutomationRule(tau, 0.05, 0.05, 0.5, 0.0, 0.05, 100, 50, 0, threshold=threshold)


def test_registered_cascade_is_one_version_through_gate_rollback_and_server(stages, data, tmp_path, capsys):
    from fastapi.testclient import TestClient

    from judgeloop.server import create_app
    from judgeloop.server.auth import create_token
    from judgeloop.store import Workspace

    db = f"sqlite:///{tmp_path / 'j.db'}"
    assert run(["import", str(data), "-p", "shop", "--id-col", "session_id", "--db", db]) == 0
    args = ["cascade", "build", "--stage", str(stages[0]), "--stage", str(stages[1]), "-p", "shop"]
    assert run([*args, "--target-error", "0.3", "--out", str(tmp_path / "c"), "--db", db]) == 0
    text = capsys.readouterr().out
    assert "registered shop@1" in text and "promoted shop@1" in text
    ws = Workspace(db)
    assert registry.get_version(ws, "shop").method == "cascade"
    nested = ["cascade", "build", "--stage", "shop@1", "--stage", str(stages[1]), "-p", "shop", "--db", db]
    assert run(nested) == 1  # a registry reference resolves to its folder, and a cascade is not a stage
    assert "is itself a cascade" in capsys.readouterr().err
    ev = registry.load_evaluator("shop", db=db)
    assert isinstance(ev, CascadeEvaluator) and ev.version == "1"
    v = ev.evaluate_llm_session("Where is my order?", "It ships Monday, tracking is in your email.")
    assert v.stage in (*ev.stage_names, None) and v.needs_review == (v.stage is None) and v.latency_ms > 0
    registry.register(ws, "shop", stages[0], project="shop")  # a single model challenges the cascade
    try:
        decision = registry.promote(ws, "shop@2", project="shop")
    except Conflict as exc:
        assert "refused to promote shop@2 over shop@1" in str(exc)
    else:
        assert decision["comparison"]["n"] >= 20
        assert registry.rollback(ws, "shop").version == 1
    assert registry.get_version(ws, "shop").method == "cascade"
    assert run(["evaluate", "--project", "shop", "--db", db]) == 0
    capsys.readouterr()
    stored = ws.verdicts("shop", "shop")
    assert stored and {x.stage for x in stored} <= {*ev.stage_names, None}
    assert any(x.stage for x in stored)
    assert run(["automation", "-p", "shop", "-e", "shop", "--target-error", "0.3", "--db", db, "--json"]) == 0
    auto = json.loads(capsys.readouterr().out)
    assert auto["stages"] == ev.stage_names and [r["target"] for r in auto["report"]] == [0.01, 0.05, 0.10]
    assert all(len(r["certified_stage_shares"]) == 2 for r in auto["report"])
    assert auto["report"][0]["n"] == auto["rule"]["n_calibration"] == 50  # training sessions left out
    token = create_token(ws, "shop", "service")
    with TestClient(create_app(workspace=ws)) as client:
        r = client.post(
            "/v1/evaluate",
            json={"model_input": "Where is my order?", "model_output": "It ships Monday."},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == "1" and body["stage"] in (*ev.stage_names, None)
    assert body["needs_review"] == (body["stage"] is None) and body["latency_ms"] > 0
