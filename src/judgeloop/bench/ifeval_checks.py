"""The 25 verifiable-instruction checkers of IFEval, registered by instruction id.

Each checker is a small dataclass built from one instruction's `kwargs` (the fields are the kwargs names
of IFEval's input_data.jsonl) with a `check(response) -> bool`. The semantics follow the IFEval paper
(Zhou et al. 2023, arXiv 2311.07911) and its reference implementation, quirks included, because the
published figures depend on them:

* "less than N" means count < N; "at least N" means count >= N.
* keywords are matched case-insensitively as sub-strings (`keywords:frequency` counts "cat" inside
  "category"); forbidden words only as whole words.
* `length_constraints:number_paragraphs` splits on the markdown divider `***`, while
  `length_constraints:nth_paragraph_first_word` splits on blank lines (`\\n\\n`).
* highlighted sections are `*text*` on one line (a `**bold**` span counts too); sections start with the
  splitter word followed by a number (`SECTION 2`); placeholders are `[...]`.
* `change_case:english_capital` / `english_lowercase` use `str.isupper` / `str.islower` plus language
  detection; a text whose language cannot be detected counts as followed.

One deliberate difference: `keywords:letter_frequency` counts the character it is given. Two IFEval
prompts ask for a non-letter ('!' and '#'); the reference code swaps those for a random letter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from judgeloop.bench.ifeval_text import count_sentences, count_words, word_tokens

RELATIONS = ("less than", "at least")


class Checker:
    """One verifiable instruction with its arguments; `check` says whether a response follows it."""

    instruction_id: ClassVar[str] = ""

    def check(self, response: str) -> bool:
        raise NotImplementedError


CheckerT = TypeVar("CheckerT", bound=type[Checker])
CHECKERS: dict[str, type[Checker]] = {}


def register(instruction_id: str) -> Callable[[CheckerT], CheckerT]:
    """Class decorator: make a checker the one for `instruction_id`."""

    def decorate(cls: CheckerT) -> CheckerT:
        if instruction_id in CHECKERS:
            raise ValueError(f"instruction id {instruction_id!r} is registered twice")
        cls.instruction_id = instruction_id
        CHECKERS[instruction_id] = cls
        return cls

    return decorate


def build_checker(instruction_id: str, kwargs: dict[str, object]) -> Checker:
    """The checker for one instruction. Unknown ids raise KeyError, bad arguments TypeError/ValueError."""
    cls = CHECKERS[instruction_id]
    return cls(**{k: v for k, v in kwargs.items() if v is not None})


def compare(count: int, relation: str, threshold: int) -> bool:
    """IFEval's two relations: 'less than' is count < threshold, 'at least' is count >= threshold."""
    if relation == "less than":
        return count < threshold
    if relation == "at least":
        return count >= threshold
    raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")


def _require_relation(relation: str) -> None:
    if relation not in RELATIONS:
        raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")


def detect_language(text: str) -> str | None:
    """langdetect's language code for `text` (seeded, so repeatable), or None when it cannot tell."""
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0
    try:
        return str(detect(text))
    except LangDetectException:
        return None


# --- keywords -------------------------------------------------------------------------------------


@register("keywords:existence")
@dataclass
class KeywordsExistence(Checker):
    keywords: list[str]

    def check(self, response: str) -> bool:
        return all(re.search(re.escape(k), response, flags=re.IGNORECASE) for k in self.keywords)


@register("keywords:frequency")
@dataclass
class KeywordFrequency(Checker):
    keyword: str
    frequency: int
    relation: str

    def __post_init__(self) -> None:
        _require_relation(self.relation)

    def check(self, response: str) -> bool:
        found = re.findall(re.escape(self.keyword.strip()), response, flags=re.IGNORECASE)
        return compare(len(found), self.relation, self.frequency)


@register("keywords:forbidden_words")
@dataclass
class ForbiddenWords(Checker):
    forbidden_words: list[str]

    def check(self, response: str) -> bool:
        return not any(
            re.search(rf"\b{re.escape(w)}\b", response, flags=re.IGNORECASE) for w in self.forbidden_words
        )


@register("keywords:letter_frequency")
@dataclass
class LetterFrequency(Checker):
    letter: str
    let_frequency: int
    let_relation: str

    def __post_init__(self) -> None:
        _require_relation(self.let_relation)

    def check(self, response: str) -> bool:
        count = response.lower().count(self.letter.strip().lower())
        return compare(count, self.let_relation, self.let_frequency)


# --- language and case ----------------------------------------------------------------------------


@register("language:response_language")
@dataclass
class ResponseLanguage(Checker):
    language: str

    def check(self, response: str) -> bool:
        detected = detect_language(response)
        return detected is None or detected == self.language


@register("change_case:english_capital")
@dataclass
class EnglishCapital(Checker):
    def check(self, response: str) -> bool:
        return response.isupper() and detect_language(response) in ("en", None)


@register("change_case:english_lowercase")
@dataclass
class EnglishLowercase(Checker):
    def check(self, response: str) -> bool:
        return response.islower() and detect_language(response) in ("en", None)


@register("change_case:capital_word_frequency")
@dataclass
class CapitalWordFrequency(Checker):
    capital_frequency: int
    capital_relation: str

    def __post_init__(self) -> None:
        _require_relation(self.capital_relation)

    def check(self, response: str) -> bool:
        capitals = sum(1 for token in word_tokens(response) if token.isupper())
        return compare(capitals, self.capital_relation, self.capital_frequency)


# --- length ---------------------------------------------------------------------------------------


@register("length_constraints:number_words")
@dataclass
class NumberOfWords(Checker):
    num_words: int
    relation: str

    def __post_init__(self) -> None:
        _require_relation(self.relation)

    def check(self, response: str) -> bool:
        return compare(count_words(response), self.relation, self.num_words)


@register("length_constraints:number_sentences")
@dataclass
class NumberOfSentences(Checker):
    num_sentences: int
    relation: str

    def __post_init__(self) -> None:
        _require_relation(self.relation)

    def check(self, response: str) -> bool:
        return compare(count_sentences(response), self.relation, self.num_sentences)


@register("length_constraints:number_paragraphs")
@dataclass
class NumberOfParagraphs(Checker):
    """Paragraphs are separated by the markdown divider `***`; an empty one inside the text fails."""

    num_paragraphs: int

    def check(self, response: str) -> bool:
        paragraphs = re.split(r"\s?\*\*\*\s?", response)
        last = len(paragraphs) - 1
        count = 0
        for index, paragraph in enumerate(paragraphs):
            if paragraph.strip():
                count += 1
            elif index not in (0, last):
                return False
        return count == self.num_paragraphs


def _first_word(paragraph: str) -> str:
    """The paragraph's first word, lower-cased, without leading quotes and cut at punctuation."""
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    cut = re.search(r"[.,?!'\"]", word)
    return (word[: cut.start()] if cut else word).lower()


@register("length_constraints:nth_paragraph_first_word")
@dataclass
class NthParagraphFirstWord(Checker):
    """Paragraphs are separated by blank lines (`\\n\\n`); paragraph n must start with `first_word`."""

    num_paragraphs: int
    nth_paragraph: int
    first_word: str

    def check(self, response: str) -> bool:
        paragraphs = response.split("\n\n")
        count = sum(1 for p in paragraphs if p.strip())
        # As in the reference: the count skips empty paragraphs, the index does not.
        if not 0 < self.nth_paragraph <= count:
            return False
        paragraph = paragraphs[self.nth_paragraph - 1].strip()
        if not paragraph:
            return False
        return count == self.num_paragraphs and _first_word(paragraph) == self.first_word.lower()


# --- detectable content and format ----------------------------------------------------------------


@register("detectable_content:number_placeholders")
@dataclass
class Placeholders(Checker):
    num_placeholders: int

    def check(self, response: str) -> bool:
        return len(re.findall(r"\[.*?\]", response)) >= self.num_placeholders


@register("detectable_content:postscript")
@dataclass
class Postscript(Checker):
    postscript_marker: str

    def check(self, response: str) -> bool:
        marker = self.postscript_marker.strip()
        if marker == "P.P.S":
            pattern = r"\s*p\.\s?p\.\s?s.*$"
        elif marker == "P.S.":
            pattern = r"\s*p\.\s?s\..*$"
        else:
            pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
        return bool(re.search(pattern, response.lower(), flags=re.MULTILINE))


@register("detectable_format:number_bullet_lists")
@dataclass
class BulletLists(Checker):
    """Exactly n markdown bullets: lines starting with `* ` (not `**`) or `-`."""

    num_bullets: int

    def check(self, response: str) -> bool:
        stars = re.findall(r"^\s*\*[^*].*$", response, flags=re.MULTILINE)
        dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
        return len(stars) + len(dashes) == self.num_bullets


@register("detectable_format:constrained_response")
@dataclass
class ConstrainedResponse(Checker):
    options: ClassVar[tuple[str, ...]] = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

    def check(self, response: str) -> bool:
        text = response.strip()
        return any(option in text for option in self.options)


@register("detectable_format:number_highlighted_sections")
@dataclass
class HighlightedSections(Checker):
    """At least n non-empty `*highlighted*` spans on one line; each `**bold**` span counts as well."""

    num_highlights: int

    def check(self, response: str) -> bool:
        single = [h for h in re.findall(r"\*[^\n*]*\*", response) if h.strip("*").strip()]
        double = [h for h in re.findall(r"\*\*[^\n*]*\*\*", response) if h[2:-2].strip()]
        return len(single) + len(double) >= self.num_highlights


@register("detectable_format:multiple_sections")
@dataclass
class MultipleSections(Checker):
    """At least n sections, each opened by the splitter word and a number, e.g. `SECTION 1`."""

    section_spliter: str
    num_sections: int

    def check(self, response: str) -> bool:
        splitter = re.escape(self.section_spliter.strip())
        sections = re.split(rf"\s?{splitter}\s?\d+\s?", response)
        return len(sections) - 1 >= self.num_sections


@register("detectable_format:json_format")
@dataclass
class JsonFormat(Checker):
    """The whole response parses as JSON once a surrounding ``` / ```json fence is removed."""

    def check(self, response: str) -> bool:
        text = response.strip()
        for fence in ("```json", "```Json", "```JSON", "```"):
            text = text.removeprefix(fence)
        text = text.removesuffix("```").strip()
        try:
            json.loads(text)
        except ValueError:
            return False
        return True


@register("detectable_format:title")
@dataclass
class Title(Checker):
    def check(self, response: str) -> bool:
        titles = re.findall(r"<<[^\n]+>>", response)
        return any(t.lstrip("<").rstrip(">").strip() for t in titles)


# --- combinations, start and end, punctuation -----------------------------------------------------


@register("combination:two_responses")
@dataclass
class TwoResponses(Checker):
    """Two different responses separated by `******` (empty parts allowed only at either end)."""

    def check(self, response: str) -> bool:
        parts = response.split("******")
        last = len(parts) - 1
        answers = []
        for index, part in enumerate(parts):
            if part.strip():
                answers.append(part.strip())
            elif index not in (0, last):
                return False
        return len(answers) == 2 and answers[0] != answers[1]


@register("combination:repeat_prompt")
@dataclass
class RepeatPrompt(Checker):
    prompt_to_repeat: str

    def check(self, response: str) -> bool:
        return response.strip().lower().startswith(self.prompt_to_repeat.strip().lower())


@register("startend:end_checker")
@dataclass
class EndPhrase(Checker):
    end_phrase: str

    def check(self, response: str) -> bool:
        return response.strip().strip('"').lower().endswith(self.end_phrase.strip().lower())


@register("startend:quotation")
@dataclass
class Quotation(Checker):
    def check(self, response: str) -> bool:
        text = response.strip()
        return len(text) > 1 and text[0] == '"' and text[-1] == '"'


@register("punctuation:no_comma")
@dataclass
class NoComma(Checker):
    def check(self, response: str) -> bool:
        return "," not in response
