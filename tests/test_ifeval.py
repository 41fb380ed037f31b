"""IFEval scoring: the published GPT-4 figures, strict vs loose, loading, bad input, the CLI.

Golden figures: Zhou et al. 2023, "Instruction-Following Evaluation for Large Language Models"
(arXiv 2311.07911), results table, GPT-4 on the 541 IFEval prompts: prompt-level strict 76.89,
instruction-level strict 83.57, prompt-level loose 79.30, instruction-level loose 85.37 (checked against
the paper's results as listed on paperswithcode.com/paper/instruction-following-evaluation-for-large).
The responses scored are the GPT-4 responses the authors ship with their code
(input_response_data_gpt4_20231107_145030.jsonl).

Two prompts (keys 1122 and 1129) ask for the frequency of '#' and '!'. The reference code replaces a
non-letter by a random letter, drawn anew in its strict and in its loose run, so their outcome there is
a coin toss; judgeloop counts the character asked for. The exact-match test accepts either outcome on
those two instructions.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from judgeloop.bench.ifeval import (
    IFEvalInput,
    IFEvalResult,
    RowResult,
    load_ifeval_inputs,
    load_responses,
    loose_variants,
    score_ifeval,
    score_ifeval_files,
    score_row,
    summarize,
)
from judgeloop.cli import app, main
from judgeloop.errors import InvalidInput

INPUT = "ifeval/input_data.jsonl"
GPT4_RESPONSES = "ifeval/input_response_data_gpt4_20231107_145030.jsonl"
PUBLISHED_GPT4 = {"prompt_strict": 76.89, "inst_strict": 83.57, "prompt_loose": 79.30, "inst_loose": 85.37}
RANDOM_LETTER_KEYS = (1122, 1129)
LETTER_ID = "keywords:letter_frequency"


@pytest.fixture(scope="module")
def gpt4_result(shared_datasets: Path) -> IFEvalResult:
    return score_ifeval_files(shared_datasets / INPUT, shared_datasets / GPT4_RESPONSES)


# --- golden -------------------------------------------------------------------------------------------


def test_gpt4_responses_give_the_published_figures(gpt4_result: IFEvalResult) -> None:
    figures = gpt4_result.as_dict()
    assert figures["n"] == 541
    assert figures["n_instructions"] == 834
    for name, published in PUBLISHED_GPT4.items():
        assert 100 * figures[name] == pytest.approx(published, abs=0.5), name


def _with_letter_outcomes(
    rows: list[RowResult], outcomes: dict[int, bool], *, loose: bool
) -> list[RowResult]:
    """Rows where the letter-frequency verdict of the given keys is replaced by the given outcome."""
    field = "followed_loose" if loose else "followed_strict"
    patched = []
    for row in rows:
        if row.key in outcomes:
            verdicts = [
                outcomes[row.key] if iid == LETTER_ID else followed
                for iid, followed in zip(row.instruction_id_list, getattr(row, field), strict=True)
            ]
            row = dataclasses.replace(row, **{field: verdicts})
        patched.append(row)
    return patched


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_gpt4_figures_match_exactly_up_to_the_random_letter_prompts(
    gpt4_result: IFEvalResult, mode: str
) -> None:
    wanted = (PUBLISHED_GPT4[f"prompt_{mode}"], PUBLISHED_GPT4[f"inst_{mode}"])
    found = []
    for outcome in itertools.product([True, False], repeat=len(RANDOM_LETTER_KEYS)):
        rows = _with_letter_outcomes(
            gpt4_result.rows, dict(zip(RANDOM_LETTER_KEYS, outcome, strict=True)), loose=mode == "loose"
        )
        figures = summarize(rows).as_dict()
        got = (round(100 * figures[f"prompt_{mode}"], 2), round(100 * figures[f"inst_{mode}"], 2))
        found.append(got)
        if got == wanted:
            return
    pytest.fail(f"{mode}: published {wanted}, got one of {found}")


def test_gpt4_breakdown_covers_every_instruction(gpt4_result: IFEvalResult) -> None:
    breakdown = gpt4_result.as_dict()["breakdown"]
    assert len(breakdown) == 25
    assert sum(entry["n"] for entry in breakdown.values()) == 834
    for entry in breakdown.values():
        assert 0 <= entry["strict"] <= entry["loose"] <= 1


def test_gpt4_non_letter_prompts_count_the_character_asked_for(gpt4_result: IFEvalResult) -> None:
    rows = {row.key: row for row in gpt4_result.rows}
    for key in RANDOM_LETTER_KEYS:
        row = rows[key]
        assert row.followed_strict[row.instruction_id_list.index(LETTER_ID)] is True


# --- scoring ------------------------------------------------------------------------------------------


def _item(key: int, prompt: str, *instructions: tuple[str, dict[str, Any]]) -> IFEvalInput:
    return IFEvalInput(key, prompt, [i for i, _ in instructions], [k for _, k in instructions])


def test_loose_variants_are_the_eight_of_ifeval() -> None:
    variants = loose_variants("Sure!\n*Body* text\nBye")
    assert variants == [
        "Sure!\n*Body* text\nBye",
        "*Body* text\nBye",
        "Sure!\n*Body* text",
        "*Body* text",
        "Sure!\nBody text\nBye",
        "Body text\nBye",
        "Sure!\nBody text",
        "Body text",
    ]


def test_loose_forgives_a_preamble_line_and_strict_does_not() -> None:
    item = _item(1, "p", ("startend:quotation", {}), ("punctuation:no_comma", {}))
    row = score_row(item, 'Sure, here it is:\n"quoted answer"')
    assert row.followed_strict == [False, False]
    assert row.followed_loose == [True, True]
    assert not row.all_strict and row.all_loose


def test_blank_response_follows_nothing() -> None:
    row = score_row(_item(1, "p", ("punctuation:no_comma", {})), "   \n ")
    assert row.followed_strict == [False] and row.followed_loose == [False]


def test_score_ifeval_computes_the_four_figures() -> None:
    inputs = [
        _item(1, "a", ("punctuation:no_comma", {}), ("startend:quotation", {})),
        _item(2, "b", ("punctuation:no_comma", {})),
    ]
    result = score_ifeval(inputs, {"a": "no comma here", "b": "fine"})
    assert result.as_dict() | {"breakdown": None} == {
        "prompt_strict": 0.5,
        "inst_strict": 2 / 3,
        "prompt_loose": 0.5,
        "inst_loose": 2 / 3,
        "n": 2,
        "n_instructions": 3,
        "breakdown": None,
    }
    assert result.as_dict()["breakdown"]["punctuation:no_comma"] == {"n": 2, "strict": 1.0, "loose": 1.0}
    assert [row.key for row in result.failures()] == [1]


def test_a_missing_response_names_the_prompt_key() -> None:
    inputs = [_item(7, "a", ("punctuation:no_comma", {})), _item(42, "b", ("punctuation:no_comma", {}))]
    with pytest.raises(InvalidInput, match="key.* 42") as info:
        score_ifeval(inputs, {"a": "x"})
    assert info.value.field == "prompt"


def test_an_unknown_instruction_built_in_code_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown instruction id"):
        score_ifeval([_item(3, "a", ("nope:nothing", {}))], {"a": "x"})


# --- loading and bad input ----------------------------------------------------------------------------


def _write(path: Path, *lines: Any) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


GOOD_ROW = {"key": 1, "prompt": "Say hi", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def test_loaders_read_inputs_and_responses(tmp_path: Path) -> None:
    inputs = load_ifeval_inputs(_write(tmp_path / "in.jsonl", GOOD_ROW, ""))
    assert inputs == [IFEvalInput(1, "Say hi", ["punctuation:no_comma"], [{}])]
    responses = load_responses(_write(tmp_path / "r.jsonl", {"prompt": "Say hi", "response": "hi"}))
    assert responses == {"Say hi": "hi"}


def test_the_shipped_inputs_load(shared_datasets: Path) -> None:
    inputs = load_ifeval_inputs(shared_datasets / INPUT)
    assert len(inputs) == 541
    assert len({i for item in inputs for i in item.instruction_id_list}) == 25


@pytest.mark.parametrize(
    ("line", "row", "field", "message"),
    [
        ('{"key": 1, "prompt": ', 2, None, "broken JSON line"),
        ("[1, 2]", 2, None, "where an object was expected"),  # io.read_records' message
        ({k: v for k, v in GOOD_ROW.items() if k != "kwargs"}, 2, "kwargs", "missing field"),
        (GOOD_ROW | {"key": "1"}, 2, "key", "wrong type"),
        (GOOD_ROW | {"key": True}, 2, "key", "wrong type"),
        (GOOD_ROW | {"instruction_id_list": ["nope:x"]}, 2, "instruction_id_list", "unknown instruction id"),
        (GOOD_ROW | {"kwargs": []}, 2, "kwargs", "1 instruction ids but 0 kwargs"),
        (GOOD_ROW | {"kwargs": [[]]}, 2, "kwargs", "not an object"),
        (
            GOOD_ROW
            | {"instruction_id_list": ["length_constraints:number_words"], "kwargs": [{"num_words": 3}]},
            2,
            "kwargs",
            "bad arguments",
        ),
    ],
)
def test_bad_input_lines_are_reported(
    tmp_path: Path, line: Any, row: int, field: str | None, message: str
) -> None:
    path = _write(tmp_path / "in.jsonl", GOOD_ROW, line)
    with pytest.raises(InvalidInput, match=message) as info:
        load_ifeval_inputs(path)
    assert (info.value.file, info.value.row, info.value.field) == (str(path), row, field)


def test_a_response_line_without_response_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.jsonl", {"prompt": "a", "response": "x"}, {"prompt": "b"})
    with pytest.raises(InvalidInput) as info:
        load_responses(path)
    assert (info.value.row, info.value.field) == (2, "response")


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file") as info:  # io.read_records' message
        load_ifeval_inputs(tmp_path / "absent.jsonl")
    assert info.value.file == str(tmp_path / "absent.jsonl")


# --- CLI ----------------------------------------------------------------------------------------------


def test_cli_prints_and_writes_the_gpt4_figures(shared_datasets: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "result.json"
    args = ["--input", str(shared_datasets / INPUT), "--responses", str(shared_datasets / GPT4_RESPONSES)]
    result = CliRunner().invoke(app, ["bench", "ifeval", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "prompt-level strict" in result.output and "%" in result.output
    figures = json.loads(out.read_text())
    for name, published in PUBLISHED_GPT4.items():
        assert 0 <= figures[name] <= 1
        assert 100 * figures[name] == pytest.approx(published, abs=0.5)
        assert f"{100 * figures[name]:.2f}" in result.output
    assert len(figures["breakdown"]) == 25
    assert all(not all(f["followed_strict"]) for f in figures["failures"])


def test_cli_on_a_small_file(tmp_path: Path) -> None:
    inputs = _write(tmp_path / "in.jsonl", GOOD_ROW, GOOD_ROW | {"key": 2, "prompt": "Again"})
    responses = _write(
        tmp_path / "r.jsonl", {"prompt": "Say hi", "response": "hi"}, {"prompt": "Again", "response": "a, b"}
    )
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        app, ["bench", "ifeval", "--input", str(inputs), "--responses", str(responses), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "50.00" in result.output
    figures = json.loads(out.read_text())
    assert figures["prompt_strict"] == 0.5 and figures["inst_loose"] == 0.5
    assert figures["failures"] == [
        {
            "key": 2,
            "instruction_id_list": ["punctuation:no_comma"],
            "followed_strict": [False],
            "followed_loose": [False],
        }
    ]


def test_cli_turns_bad_input_into_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = _write(tmp_path / "in.jsonl", GOOD_ROW, '{"broken')
    with pytest.raises(SystemExit) as info:
        main(["bench", "ifeval", "--input", str(inputs), "--responses", str(tmp_path / "none.jsonl")])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "row 2" in err and "broken JSON line" in err


def test_cli_reports_a_missing_response_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = _write(tmp_path / "in.jsonl", GOOD_ROW | {"key": 99})
    responses = _write(tmp_path / "r.jsonl", {"prompt": "something else", "response": "x"})
    with pytest.raises(SystemExit):
        main(["bench", "ifeval", "--input", str(inputs), "--responses", str(responses)])
    err = capsys.readouterr().err
    assert "99" in err and "r.jsonl" in err


def test_cli_bench_lists_ifeval() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    assert "ifeval" in result.output
