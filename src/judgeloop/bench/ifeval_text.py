"""Text helpers for the IFEval checkers: word counts, a punkt-like sentence splitter, word tokens.

The reference IFEval code counts words with NLTK's `\\w+` regexp tokenizer, sentences with NLTK's
pretrained English punkt model, and capitalised words with `nltk.word_tokenize`. The punkt model cannot
be downloaded everywhere, so this module implements the behaviour the checkers depend on, with no NLTK:

* `count_words`: the number of `\\w+` runs.
* `split_sentences`: punkt's decision procedure. A candidate end is `.`, `?` or `!` followed by white
  space and a next word, or by closing punctuation. `?` and `!` always end a sentence. A period ends one
  unless it closes a known abbreviation (`Mr.`, `e.g.`, `U.S.`), an initial (`J. Smith`) or a number
  (`1. first`), where the case of the next word decides, as punkt's orthographic heuristic does. A hand
  written abbreviation list and a list of common lower-case words stand in for the trained model. New
  lines alone never end a sentence (punkt does not split on them either).
* `word_tokens`: Treebank-style tokens: brackets, quotes, `;@#$%&*?!`, ellipses and clitics (`'s`,
  `n't`) split off, hyphenated words and dotted acronyms kept whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+")

# --- punkt-like sentence splitting ----------------------------------------------------------------

_NON_WORD = r"[)\";}\]*:@'({\[!?]"
_MULTI_CHAR = r"(?:-{2,}|\.{2,}|(?:\.\s){2,}\.)"
_CANDIDATE = re.compile(rf"\S*[.?!](?=(?P<after>{_NON_WORD}|\s+(?P<next>\S+)))")
_PUNKT_TOKEN = re.compile(
    rf"{_MULTI_CHAR}"
    rf"|(?=[^(\"`{{\[:;&#*@)}}\]\-,])\S+?"
    rf"(?=\s|$|{_NON_WORD}|{_MULTI_CHAR}|,(?=$|\s|{_NON_WORD}|{_MULTI_CHAR}))"
    r"|\S"
)
_NUMBER = re.compile(r"^-?[.,]?\d[\d,.-]*\.?$")
_INITIAL = re.compile(r"[^\W\d]\.$")
_ELLIPSIS = re.compile(r"^\.\.+$")
_REALIGN = re.compile(r"[\"')\]}]+?(?:\s+|(?=--)|$)")
_SENTENCE_END = (".", "?", "!")

ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st jr sr messrs mme mlle rev hon gen col lt capt sgt cpl maj adm gov sen rep pres
    inc ltd co corp bros llc plc dept univ assn assoc
    vs etc cf al e.g i.e viz approx a.m p.m a.d b.c ca
    u.s u.s.a u.k u.n e.u d.c n.y l.a ph.d m.d b.a m.a b.s m.s
    jan feb apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri sat
    mt ft ave blvd hwy
    calif fla ariz conn mass mich minn okla tenn tex wis colo
    """.split()
)
"""Abbreviations (lower case, final period dropped) after which a period does not end a sentence."""

COMMON_WORDS = frozenset(
    """
    a about above after again against all also although an and another any are as at because before
    being below besides between both but by can could did do does doing during each either even every
    few first for from further had has have having he her here hers herself him himself his how however
    if in into is it its itself just last later let many may maybe me meanwhile might more moreover most
    much must my myself neither never next no nor not now of often on once one only or other others our
    ours ourselves out over perhaps rather second she should since so some still such than that the their
    theirs them themselves then there therefore these they third this those though thus to today too under
    unless until up upon us very was we were what whatever when whenever where whereas wherever whether
    which while who whom whose why will with within without would yet you your yours yourself yourselves
    additionally also always another finally furthermore here instead lastly overall please remember
    sometimes usually yes
    """.split()
)
"""Words English text uses in lower case: a capitalised one after an abbreviation starts a sentence."""


@dataclass
class _Token:
    text: str
    sentbreak: bool = False
    abbr: bool = False
    ellipsis: bool = False

    @property
    def kind(self) -> str:
        """punkt's token type: lower-cased, numbers collapsed, a sentence-final period dropped."""
        kind = "##number##" if _NUMBER.match(self.text) else self.text.lower()
        if self.sentbreak and len(kind) > 1 and kind.endswith("."):
            return kind[:-1]
        return kind


def _first_pass(token: _Token) -> None:
    text = token.text
    if text in _SENTENCE_END:
        token.sentbreak = True
    elif _ELLIPSIS.match(text):
        token.ellipsis = True
    elif text.endswith(".") and not text.endswith(".."):
        stem = text[:-1].lower()
        if stem in ABBREVIATIONS or stem.split("-")[-1] in ABBREVIATIONS:
            token.abbr = True
        else:
            token.sentbreak = True


def _starts_sentence(token: _Token) -> bool | None:
    """punkt's orthographic heuristic: True, False, or None when it cannot tell."""
    if token.text in ";:,.!?":
        return False
    first = token.text[0]
    if first.isupper():
        return True if token.kind.rstrip(".") in COMMON_WORDS else None
    if first.islower():
        return False
    return None


def _second_pass(token: _Token, nxt: _Token) -> None:
    if not token.text.endswith("."):
        return
    initial = bool(_INITIAL.match(token.text))
    if (token.abbr or token.ellipsis) and not initial:
        if _starts_sentence(nxt) is True:
            token.sentbreak = True
        return
    if initial or _NUMBER.match(token.text):
        verdict = _starts_sentence(nxt)
        proper_noun = verdict is None and nxt.text[0].isupper()
        if verdict is False or (initial and proper_noun):
            token.sentbreak, token.abbr = False, True


def _contains_break(context: str) -> bool:
    """Whether punkt would end a sentence inside `context` (its last token does not count)."""
    tokens = [_Token(t) for t in _PUNKT_TOKEN.findall(context)]
    for token in tokens:
        _first_pass(token)
    for token, nxt in zip(tokens, tokens[1:], strict=False):
        _second_pass(token, nxt)
    return any(t.sentbreak for t in tokens[:-1])


def _raw_slices(text: str) -> list[tuple[int, int]]:
    slices, start = [], 0
    for match in _CANDIDATE.finditer(text):
        if _contains_break(match.group() + match.group("after")):
            slices.append((start, match.end()))
            start = match.start("next") if match.group("next") else match.end()
    slices.append((start, len(text.rstrip())))
    return slices


def split_sentences(text: str) -> list[str]:
    """Sentences of `text` as punkt's English model would cut them (see the module docstring)."""
    sentences: list[str] = []
    shift = 0
    slices = _raw_slices(text)
    for index, (start, stop) in enumerate(slices):
        start += shift
        shift = 0
        if index + 1 < len(slices):
            following = text[slices[index + 1][0] : slices[index + 1][1]]
            moved = _REALIGN.match(following)
            if moved:
                stop = slices[index + 1][0] + len(moved.group().rstrip())
                shift = moved.end()
        if text[start:stop]:
            sentences.append(text[start:stop])
    return sentences


def count_sentences(text: str) -> int:
    return len(split_sentences(text))


def count_words(text: str) -> int:
    """Number of `\\w+` runs, as NLTK's RegexpTokenizer(r"\\w+") counts them."""
    return len(_WORD.findall(text))


# --- Treebank-like word tokens --------------------------------------------------------------------

_SPLIT_ALWAYS = re.compile(r"(\.{2,}|--|[;@#$%&*?!()\[\]{}<>\"“”‘’«»„`])")
_SPLIT_COLON_COMMA = re.compile(r"([:,])(?=\D|$)")
_CONTRACTION = re.compile(r"(?i)^(can)(not)$|^(gon|wan)(na)$|^(got)(ta)$|^(lem|gim)(me)$")
_CLITIC = re.compile(r"^(.*[^' ])('[sSmMdD]|'ll|'LL|'re|'RE|'ve|'VE|n't|N'T|')$")


def _split_clitics(piece: str) -> list[str]:
    contraction = _CONTRACTION.match(piece)
    if contraction:
        return [part for part in contraction.groups() if part]
    clitic = _CLITIC.match(piece)
    if clitic:
        return [clitic.group(1), clitic.group(2)]
    if len(piece) > 1 and piece.startswith("'"):
        return ["'", piece[1:]]
    return [piece]


def word_tokens(text: str) -> list[str]:
    """Treebank-style word tokens, close to `nltk.word_tokenize` for counting capitalised words."""
    tokens: list[str] = []
    for chunk in text.split():
        chunk = _SPLIT_COLON_COMMA.sub(r" \1 ", _SPLIT_ALWAYS.sub(r" \1 ", chunk))
        for piece in chunk.split():
            trailing: list[str] = []
            if len(piece) > 1 and piece.endswith(".") and piece.count(".") == 1:
                piece, trailing = piece[:-1], ["."]
            tokens.extend(_split_clitics(piece) + trailing)
    return tokens
