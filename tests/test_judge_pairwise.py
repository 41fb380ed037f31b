"""PairwiseJudge: both orders, FastChat's inconsistent-is-a-tie rule, and the bias measures."""

from __future__ import annotations

import math
import re

import pytest

from judgeloop.errors import InvalidInput
from judgeloop.judging import PairwiseJudge, bias_report, length_bias, position_bias, position_consistency
from judgeloop.judging.pairwise import combine
from judgeloop.llm import ScriptedClient
from judgeloop.types import Session, Verdict


def pair(i: int, a: str, b: str) -> Session:
    return Session(id=f"p{i}", model_input=f"question {i}", model_output=a, output_b=b)


def by_content(prefer: str):
    """A judge that picks the answer containing `prefer` wherever it is shown."""

    def script(messages, params):
        user = messages[-1]["content"]
        first = re.search(r"<<<OUTPUT_A\n(.*?)\nOUTPUT_A>>>", user, re.DOTALL).group(1)
        second = re.search(r"<<<OUTPUT_B\n(.*?)\nOUTPUT_B>>>", user, re.DOTALL).group(1)
        if prefer in first and prefer not in second:
            return "Assistant A is better. [[A]]"
        if prefer in second and prefer not in first:
            return "Assistant B is better. [[B]]"
        return "Equal. [[C]]"

    return script


def always_first(messages, params):
    return "The first one is better.\n\n[[A]]"


def test_both_orders_are_asked_and_a_consistent_winner_is_kept():
    client = ScriptedClient(by_content("good"))
    verdicts = PairwiseJudge(client).evaluate([pair(1, "good answer", "bad answer"), pair(2, "bad", "good")])
    assert [v.label for v in verdicts] == [1, 0]
    assert verdicts[0].scores == {"order1": "A", "order2": "A", "consistent": True, "winner": "A"}
    assert verdicts[1].score == 0.0 and verdicts[1].scores["winner"] == "B"
    assert len(client.calls) == 4
    first, second = client.calls[0]["messages"][-1]["content"], client.calls[1]["messages"][-1]["content"]
    assert first.index("good answer") < first.index("bad answer")
    assert second.index("bad answer") < second.index("good answer")  # swapped


def test_a_judge_that_always_picks_the_first_position_yields_ties():
    verdicts = PairwiseJudge(ScriptedClient(always_first)).evaluate(
        [pair(i, "x" * i, "y") for i in range(1, 5)]
    )
    assert all(v.status == "ok" and v.label is None and v.score == 0.5 for v in verdicts)
    assert all(v.scores["consistent"] is False for v in verdicts)
    assert position_consistency(verdicts) == 0.0
    assert position_bias(verdicts) == 1.0


def test_combine_follows_fastchat():
    assert combine("A", "A")["label"] == 1
    assert combine("B", "B")["label"] == 0
    assert combine("tie", "tie")["scores"]["consistent"] is True
    assert combine("A", "B")["label"] is None and combine("A", "tie")["label"] is None


def test_an_unreadable_game_after_repair_is_an_error_verdict():
    client = ScriptedClient(["[[A]]", "no idea", "still no idea"])
    [v] = PairwiseJudge(client).evaluate([pair(1, "a", "b")])
    assert v.status == "error" and v.label is None
    assert v.error is not None and v.error.startswith("order2: after one repair")
    assert "still no idea" in (v.raw or "")


def test_repair_rescues_a_game():
    client = ScriptedClient(["I like A.", "[[A]]", "[[B]]"])
    [v] = PairwiseJudge(client).evaluate([pair(1, "a", "b")])
    assert v.status == "ok" and v.label == 1 and len(client.calls) == 3


def test_sessions_without_a_second_output_are_rejected_with_the_row():
    with pytest.raises(InvalidInput, match="row 2"):
        PairwiseJudge(ScriptedClient([])).evaluate(
            [pair(1, "a", "b"), Session(model_input="q", model_output="a")]
        )


def test_length_bias_is_the_correlation_of_winning_with_length():
    sessions = [pair(i, "long " * (10 + i), "short") for i in range(4)] + [
        pair(10 + i, "short", "long " * (10 + i)) for i in range(4)
    ]
    longer_wins = PairwiseJudge(ScriptedClient(by_content("long"))).evaluate(sessions)
    assert length_bias(longer_wins, sessions) > 0.9
    shorter_wins = PairwiseJudge(ScriptedClient(by_content("short"))).evaluate(sessions)
    assert length_bias(shorter_wins, sessions) < -0.9
    report = bias_report(longer_wins, sessions)
    assert report["position_consistency"] == 1.0 and math.isnan(report["position_bias"])
    assert report["n"] == 8 and report["n_error"] == 0 and report["n_tie"] == 0


def test_measures_ignore_error_verdicts():
    err = Verdict(evaluator="x", status="error", error="boom")
    assert math.isnan(position_consistency([err]))


def test_mt_bench_pairwise_prompt_from_the_templates_file(shared_datasets):
    path = shared_datasets / "mt_bench" / "judge_prompts.jsonl"
    client = ScriptedClient(["[[B]]", "[[A]]"])
    [v] = PairwiseJudge.from_mt_bench(client, path).evaluate([pair(1, "first answer", "second answer")])
    assert v.label == 0 and v.evaluator == "judge:mt-bench:pair-v2"
    user = client.calls[0]["messages"][-1]["content"]
    assert "[The Start of Assistant A's Answer]\nfirst answer\n[The End of Assistant A's Answer]" in user
    assert client.calls[0]["messages"][0]["content"].startswith("Please act as an impartial judge")
