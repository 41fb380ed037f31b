"""AlpacaEval-style win rate: the published alpaca-7b figures, hand-made cases, bad input, the CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from judgeloop.bench.winrate import (
    build_annotations,
    compute_winrate,
    load_annotations,
    load_model_outputs,
    normalize_preference,
    save_annotations,
    winrate_from_file,
    winrate_from_preferences,
)
from judgeloop.cli.bench_winrate import winrate_command
from judgeloop.errors import InvalidInput

ANNOTATIONS = "alpaca_eval/results/alpaca-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json"
LEADERBOARD = "alpaca_eval/leaderboards/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
GOLDEN_FIELDS = (
    "win_rate",
    "standard_error",
    "n_wins",
    "n_wins_base",
    "n_draws",
    "n_total",
    "discrete_win_rate",
    "avg_length",
)


def _row(a: str, b: str, preference: object, instruction: str = "q") -> dict[str, object]:
    return {"instruction": instruction, "output_1": a, "output_2": b, "preference": preference}


def _published(shared: Path, model: str) -> dict[str, str]:
    with (shared / LEADERBOARD).open(newline="", encoding="utf-8") as f:
        rows = {r[""]: r for r in csv.DictReader(f)}
    return rows[model]


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


# --- golden -------------------------------------------------------------------------------------------


def test_alpaca_7b_matches_the_published_leaderboard(shared_datasets: Path) -> None:
    result = winrate_from_file(shared_datasets / ANNOTATIONS).as_dict()
    published = _published(shared_datasets, "alpaca-7b")
    assert round(result["win_rate"], 4) == 2.5915
    for field in GOLDEN_FIELDS:
        text = published[field]
        assert round(result[field], _decimals(text)) == float(text), field
    assert result["n_missing"] == 0


def test_cli_writes_the_golden_figures(shared_datasets: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("winrate")(winrate_command)
    out = tmp_path / "sub" / "result.json"
    result = CliRunner().invoke(app, ["--annotations", str(shared_datasets / ANNOTATIONS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2.5915" in result.output
    figures = json.loads(out.read_text())
    published = _published(shared_datasets, "alpaca-7b")
    assert figures["win_rate"] == pytest.approx(2.591450540223603, abs=1e-12)
    assert round(figures["standard_error"], _decimals(published["standard_error"])) == float(
        published["standard_error"]
    )
    assert {"n_wins", "n_draws", "n_total"} <= set(figures)
    assert "length_controlled_winrate" not in figures


# --- hand-made cases ----------------------------------------------------------------------------------


def test_small_case_by_hand() -> None:
    rows = [_row("a", "bb", 2.0), _row("a", "b", 1.0), _row("a", "bbb", 1.5), _row("a", "bbbb", 1.75)]
    r = compute_winrate(rows)
    # preference - 1 = [1, 0, 0.5, 0.75]: mean 0.5625, squared deviations sum to 0.546875
    assert r.win_rate == pytest.approx(56.25)
    assert r.standard_error == pytest.approx(math.sqrt(0.546875 / 3) / 2 * 100)
    assert (r.n_wins, r.n_wins_base, r.n_draws, r.n_total, r.n_missing) == (2, 1, 1, 4, 0)
    assert r.discrete_win_rate == pytest.approx(62.5)  # 1.75 rounds to a win: (1 + 0 + 0.5 + 1) / 4
    assert r.avg_length == 2  # int(mean([2, 1, 3, 4]))


def test_missing_preferences_are_dropped_and_zero_is_a_draw() -> None:
    rows = [_row("a", "b", 2.0), _row("a", "b", None), _row("a", "b", float("nan")), _row("a", "b", 1.0)]
    rows.append({"instruction": "q", "output_1": "a", "output_2": "b"})  # no preference key at all
    r = compute_winrate(rows)
    assert (r.win_rate, r.n_total, r.n_missing) == (50.0, 2, 3)
    zero = compute_winrate([_row("a", "b", 0), _row("a", "b", 2)])
    assert (zero.win_rate, zero.n_draws, zero.n_wins) == (75.0, 1, 1)


def test_one_annotation_has_no_standard_error() -> None:
    r = compute_winrate([_row("a", "b", 2.0)])
    assert r.win_rate == 100.0 and math.isnan(r.standard_error)
    assert r.as_dict()["standard_error"] is None
    json.dumps(r.as_dict(), allow_nan=False)


def test_normalize_preference() -> None:
    assert normalize_preference(1) == 1.0
    assert normalize_preference(0) == 1.5
    assert normalize_preference(None) is None
    assert normalize_preference(float("nan")) is None


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [2.5, 0.5, -1, "2", True, [2]])
def test_bad_preference_names_the_row(bad: object) -> None:
    with pytest.raises(InvalidInput, match=r"row 1.*preference"):
        compute_winrate([_row("a", "b", 2.0), _row("a", "b", bad)])


def test_no_preference_at_all_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="none of the 2 annotations"):
        winrate_from_preferences([None, None])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"preference": 2}), "expected a JSON list"),
        (json.dumps([1, 2]), "must be a JSON object"),
        (json.dumps([{"instruction": "q", "output_1": "a", "preference": 2}]), "field 'output_2'"),
        (json.dumps([{"instruction": "q", "output_1": "a", "output_2": 3, "preference": 2}]), "string"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "annotations.json"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=message):
        winrate_from_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        load_annotations(tmp_path / "nope.json")


# --- building annotations with a judge ------------------------------------------------------------------


def _outputs(generator: str, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"instruction": i, "output": o, "generator": generator, "dataset": "t"} for i, o in pairs]


def _longer_wins(instruction: str, output_1: str, output_2: str) -> float | None:
    if len(output_1) == len(output_2):
        return None
    return 2.0 if len(output_2) > len(output_1) else 1.0


def test_build_annotations_pairs_by_instruction() -> None:
    baseline = _outputs("base", [("q1", "short"), ("q2", "a much longer answer"), ("q3", "same")])
    model = _outputs("mine", [("q3", "SAME"), ("q1", "a longer answer"), ("q2", "tiny")])
    annotations = build_annotations(baseline, model, _longer_wins)
    assert [a["instruction"] for a in annotations] == ["q1", "q2", "q3"]
    assert [a["preference"] for a in annotations] == [2.0, 1.0, None]
    assert annotations[0]["output_2"] == "a longer answer"
    assert annotations[0]["generator_1"] == "base" and annotations[0]["generator_2"] == "mine"
    assert annotations[0]["annotator"] == "_longer_wins"
    r = compute_winrate(annotations)
    assert (r.win_rate, r.n_total, r.n_missing) == (50.0, 2, 1)


def test_build_annotations_refuses_gaps_and_bad_judges() -> None:
    baseline = _outputs("base", [("q1", "a"), ("q2", "b")])
    with pytest.raises(InvalidInput, match="1 baseline instruction"):
        build_annotations(baseline, _outputs("m", [("q1", "x")]), _longer_wins)
    with pytest.raises(InvalidInput, match=r"judge out_of_range.*row 0.*Got 7"):
        build_annotations(baseline, baseline, lambda i, a, b: 7, annotator="out_of_range")


def test_model_outputs_round_trip(shared_datasets: Path, tmp_path: Path) -> None:
    root = shared_datasets / "alpaca_eval" / "results"
    baseline = load_model_outputs(root / "gpt4_1106_preview" / "model_outputs.json")
    model = load_model_outputs(root / "alpaca-7b" / "model_outputs.json")
    assert len(baseline) == len(model) == 805
    annotations = build_annotations(baseline, model, _longer_wins, annotator="length")
    path = tmp_path / "annotations.json"
    save_annotations(annotations, path)
    r = winrate_from_file(path)
    assert r.n_total + r.n_missing == 805
    assert r.avg_length == 396  # the leaderboard's avg_length for alpaca-7b
    assert r.win_rate < 10  # alpaca-7b's answers are far shorter than gpt-4-turbo's


def test_load_model_outputs_needs_output(tmp_path: Path) -> None:
    path = tmp_path / "model_outputs.json"
    path.write_text(json.dumps([{"instruction": "q"}]))
    with pytest.raises(InvalidInput, match="field 'output'"):
        load_model_outputs(path)
