"""IFEval checkers and text helpers on hand-made responses: one passing and one failing case per id."""

from __future__ import annotations

from typing import Any

import pytest

from judgeloop.bench.ifeval_checks import CHECKERS, Checker, build_checker, compare, register
from judgeloop.bench.ifeval_text import count_sentences, count_words, split_sentences, word_tokens

IFEVAL_IDS = {
    "change_case:capital_word_frequency",
    "change_case:english_capital",
    "change_case:english_lowercase",
    "combination:repeat_prompt",
    "combination:two_responses",
    "detectable_content:number_placeholders",
    "detectable_content:postscript",
    "detectable_format:constrained_response",
    "detectable_format:json_format",
    "detectable_format:multiple_sections",
    "detectable_format:number_bullet_lists",
    "detectable_format:number_highlighted_sections",
    "detectable_format:title",
    "keywords:existence",
    "keywords:forbidden_words",
    "keywords:frequency",
    "keywords:letter_frequency",
    "language:response_language",
    "length_constraints:nth_paragraph_first_word",
    "length_constraints:number_paragraphs",
    "length_constraints:number_sentences",
    "length_constraints:number_words",
    "punctuation:no_comma",
    "startend:end_checker",
    "startend:quotation",
}

# (instruction id, kwargs, a response that follows it, a response that does not)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("keywords:existence", {"keywords": ["cat", "dog"]}, "My Cat met a DOG.", "Only a cat here."),
    (
        "keywords:frequency",
        {"keyword": "ai", "frequency": 3, "relation": "at least"},
        "AI, ai and Ai.",
        "ai and AI only.",
    ),
    (
        "keywords:frequency",
        {"keyword": "fun", "frequency": 2, "relation": "less than"},
        "It was fun.",
        "Fun, and funny too.",  # sub-strings count, as in the reference
    ),
    ("keywords:forbidden_words", {"forbidden_words": ["bad", "evil"]}, "A badge is fine.", "That is BAD."),
    (
        "keywords:letter_frequency",
        {"letter": "z", "let_frequency": 2, "let_relation": "less than"},
        "A zebra.",
        "Zig zag.",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "#", "let_frequency": 2, "let_relation": "at least"},
        "#one #two",
        "#one two",
    ),
    (
        "language:response_language",
        {"language": "fr"},
        "Ceci est une phrase écrite en français pour vérifier la détection de la langue.",
        "This is a sentence written in English to check that language detection works.",
    ),
    (
        "change_case:english_capital",
        {},
        "THIS IS AN ENGLISH SENTENCE WRITTEN ENTIRELY IN CAPITAL LETTERS FOR THE TEST.",
        "THIS IS AN ENGLISH SENTENCE WITH one lower-case word in it, so it fails.",
    ),
    (
        "change_case:english_lowercase",
        {},
        "this is an english sentence written entirely in lowercase letters for the test.",
        "this is an english sentence with One capitalised word in it, so it fails.",
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "at least"},
        "NASA's and ESA's teams met.",
        "Only NASA's team came.",
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 3, "capital_relation": "less than"},
        "I met the CEO.",
        "I met the CEO and the CTO.",
    ),
    (
        "length_constraints:number_words",
        {"num_words": 5, "relation": "less than"},
        "one two three four",
        "one two-three four five",
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": "at least"},
        "Mr. Smith came. He saw! Did he leave?",
        "Mr. Smith paid $3.50 for it. He left e.g. at noon.",
    ),
    (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 2},
        "One.\n***\nTwo.",
        "One.\n***\n\n***\nTwo.",
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
        'First.\n\n"Then, it ended.',
        "First.\n\nAfter that, it ended.",
    ),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[name] at [address]", "[name] only"),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\n\np.s. see you", "Hi. PS see you"),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Hi.\nP.P.S. more", "Hi.\nP.S. more"),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n**b**\n- c", "* a\n* b\n- c"),
    ("detectable_format:constrained_response", {}, "Well. My answer is maybe.", "My answer is: yes."),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 2},
        "*one* and **two**",
        "*one* and * *",
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "SECTION", "num_sections": 2},
        "SECTION 1\na\nSECTION 2\nb",
        "SECTION 1\na\nSection 2\nb",
    ),
    ("detectable_format:json_format", {}, '```json\n{"a": [1, 2]}\n```', '{"a": 1} and more'),
    ("detectable_format:title", {}, "<<My title>>\ntext", "<< >> and <<no\ntitle>>"),
    ("combination:two_responses", {}, "one\n******\ntwo", "same\n******\nsame"),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "say hi. Hi!", "Hi! Say hi."),
    (
        "startend:end_checker",
        {"end_phrase": "Any other questions?"},
        'Done. any other questions?"',
        "Any other questions? Bye.",
    ),
    ("startend:quotation", {}, '  "quoted"  ', 'quoted"'),
    ("punctuation:no_comma", {}, "no commas here", "one, two"),
]


def test_the_registry_holds_exactly_the_25_ifeval_ids() -> None:
    assert set(CHECKERS) == IFEVAL_IDS
    assert all(CHECKERS[iid].instruction_id == iid for iid in IFEVAL_IDS)


def test_every_id_has_a_hand_made_case() -> None:
    assert {case[0] for case in CASES} == IFEVAL_IDS


@pytest.mark.parametrize(
    ("iid", "kwargs", "good", "bad"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_checker_passes_and_fails(iid: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    checker = build_checker(iid, kwargs)
    assert checker.check(good) is True
    assert checker.check(bad) is False


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("a\n***\nb\n***\nc", False),  # three paragraphs, two wanted
        ("***\na\n***\nb\n***", True),  # empty first and last parts do not count
        ("a *** b", True),
    ],
)
def test_paragraphs_split_on_the_markdown_divider(response: str, expected: bool) -> None:
    assert (
        build_checker("length_constraints:number_paragraphs", {"num_paragraphs": 2}).check(response)
        is expected
    )


def test_nth_paragraph_counts_paragraphs_exactly() -> None:
    checker = build_checker(
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "hi"},
    )
    assert checker.check("Hi there.\n\nBye.")
    assert not checker.check("Hi there.\n\nBye.\n\nAgain.")
    assert not checker.check("Hi there.")


def test_two_responses_rejects_an_empty_middle_part() -> None:
    checker = build_checker("combination:two_responses", {})
    assert not checker.check("a\n******\n\n******\nb")
    assert checker.check("******\na\n******\nb\n******")


def test_json_accepts_plain_and_fenced_json() -> None:
    checker = build_checker("detectable_format:json_format", {})
    assert checker.check('{"a": 1}')
    assert checker.check('```\n["x"]\n```')
    assert not checker.check("```json\nnot json\n```")


def test_language_checkers_count_undetectable_text_as_followed() -> None:
    assert build_checker("language:response_language", {"language": "de"}).check("1234 !!!")


def test_english_capital_rejects_another_language() -> None:
    checker = build_checker("change_case:english_capital", {})
    assert not checker.check("CECI EST UNE PHRASE ÉCRITE EN FRANÇAIS ET EN MAJUSCULES POUR LE TEST.")


def test_none_kwargs_are_ignored() -> None:
    checker = build_checker("punctuation:no_comma", {"num_words": None, "relation": None})
    assert checker.check("fine")


@pytest.mark.parametrize(
    ("iid", "kwargs"),
    [
        ("length_constraints:number_words", {"num_words": 3, "relation": "more than"}),
        ("length_constraints:number_words", {"num_words": 3}),
        ("punctuation:no_comma", {"unexpected": 1}),
    ],
)
def test_bad_arguments_are_refused(iid: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        build_checker(iid, kwargs)


def test_compare_relations() -> None:
    assert compare(2, "less than", 3) and not compare(3, "less than", 3)
    assert compare(3, "at least", 3) and not compare(2, "at least", 3)
    with pytest.raises(ValueError):
        compare(1, "at most", 2)


def test_register_refuses_a_duplicate_id() -> None:
    with pytest.raises(ValueError, match="registered twice"):

        @register("punctuation:no_comma")
        class Again(Checker):
            pass

    assert CHECKERS["punctuation:no_comma"].__name__ == "NoComma"


# --- text helpers ---------------------------------------------------------------------------------


def test_count_words_counts_word_runs() -> None:
    assert count_words("Hello, world! It's a well-known fact: 3.5 apples.") == 11
    assert count_words("") == 0


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hello world. This is Mr. Smith. He paid $3.50 for it!", 3),
        ("Use e.g. apples. The U.S. Army is big. I live in the U.S. The end.", 4),
        ("J. K. Rowling wrote it. Plan B. The rest.", 3),
        ('He said "hi." Then he left.', 2),
        ("Why? Because! Fine", 3),
        ("A heading\n\nno period on it. Then more", 2),  # new lines alone do not end a sentence
        ("Tips:\n1. Drink water.\n2. sleep well", 3),  # '1.' before a capital word ends one, as punkt does
        ("It costs 3.14 dollars, i.e. cheap.", 1),
        ("", 0),
        ("   ", 0),
    ],
)
def test_sentence_splitter_behaves_like_punkt(text: str, sentences: int) -> None:
    assert count_sentences(text) == sentences, split_sentences(text)


def test_split_sentences_returns_the_sentences() -> None:
    assert split_sentences("Dr. Smith came. He left.") == ["Dr. Smith came.", "He left."]


def test_word_tokens_split_like_treebank() -> None:
    tokens = word_tokens("NASA's AI-driven (CEO) DON'T I'm U.S. Q&A \"WOW,\" end.")
    assert tokens == [
        "NASA", "'s", "AI-driven", "(", "CEO", ")", "DO", "N'T", "I", "'m", "U.S.",
        "Q", "&", "A", '"', "WOW", ",", '"', "end", ".",
    ]  # fmt: skip
