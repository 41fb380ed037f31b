"""Schema-guided decoding for a local causal LM: the JSON skeleton is forced, only values are chosen.

A 135M model rarely writes valid JSON on its own. For the flat schemas judges use, we do not need a
grammar engine: the keys, quotes, commas and braces are fed to the model as fixed text, and the model
only decides

- each enumerated value (an integer range, an `enum`, a boolean), by greedy (or sampled) decoding
  restricted to the token sequences of the allowed values (a trie walk: "1" vs "10" is decided by
  whether the model prefers "0" or the next skeleton token after "1"), and
- each free string, token by token, with tokens that would break out of the string (quotes, control
  characters, special tokens) masked, until the model picks a token that starts with a quote, the
  token budget is spent, or the string starts to repeat itself (its last `REPEAT_SPAN` tokens already
  occur earlier in it: the repeat is dropped and the string closed).

The result is always a JSON object that validates against the schema. Supported schemas: an object
whose properties are `{"type": "integer", "minimum": a, "maximum": b}` (b - a <= 100), `"number"` with
integral bounds (decoded as integers), `{"enum": [...]}` of scalars, `{"type": "boolean"}` and
`{"type": "string"}` (optionally `maxLength`). Anything else raises `UnsupportedSchema`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from judgeloop.llm.base import LLMError

MAX_RANGE = 100
# A pass over a few tokens (one decoding step) is bound by per-operator overhead, not arithmetic: a
# second thread adds little, and when other processes hold the cores the two threads wait on each other
# (measured on 2 cores at load 4.5: 162 ms per step with 1 thread, 1,089 ms with 2). Such passes run on
# one thread; prompt passes keep torch's setting.
FEW_TOKENS = 16
REPEAT_SPAN = 8  # a free string stops once its last this-many tokens repeat an earlier stretch of it


class UnsupportedSchema(LLMError):
    """The schema is outside the subset that `SchemaDecoder` can enforce."""


@dataclass(frozen=True)
class FieldPlan:
    name: str
    kind: str  # "choice" | "string"
    choices: tuple[str, ...] = ()  # JSON literals, e.g. '1', '"yes"', 'true'
    max_chars: int | None = None


def plan_schema(schema: dict[str, Any]) -> list[FieldPlan]:
    """The fields to decode, in the schema's property order; raises `UnsupportedSchema`."""
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise UnsupportedSchema("only JSON schemas of type 'object' with 'properties' are supported")
    if not schema["properties"]:
        raise UnsupportedSchema("the schema has no properties")
    return [_plan_field(name, spec) for name, spec in schema["properties"].items()]


def _plan_field(name: str, spec: Any) -> FieldPlan:
    if not isinstance(spec, dict):
        raise UnsupportedSchema(f"property {name!r} is not a schema object")
    if "enum" in spec:
        values = spec["enum"]
        if not values or not all(v is None or isinstance(v, str | int | float | bool) for v in values):
            raise UnsupportedSchema(f"property {name!r}: enum values must be scalars")
        return FieldPlan(name, "choice", tuple(json.dumps(v, ensure_ascii=False) for v in values))
    kind = spec.get("type")
    if kind == "boolean":
        return FieldPlan(name, "choice", ("true", "false"))
    if kind == "string":
        return FieldPlan(name, "string", max_chars=spec.get("maxLength"))
    if kind in ("integer", "number"):
        low, high = spec.get("minimum"), spec.get("maximum")
        if not (isinstance(low, int | float) and isinstance(high, int | float)) or low != int(low):
            raise UnsupportedSchema(f"property {name!r}: numbers need integral 'minimum' and 'maximum'")
        if not 0 <= high - low <= MAX_RANGE:
            raise UnsupportedSchema(f"property {name!r}: range wider than {MAX_RANGE}")
        return FieldPlan(name, "choice", tuple(str(i) for i in range(int(low), int(high) + 1)))
    raise UnsupportedSchema(f"property {name!r}: type {kind!r} is not supported")


def skeleton(fields: list[FieldPlan]) -> list[str]:
    """The fixed text around the values: len(fields) + 1 pieces (before each value, and the end)."""
    pieces, closing = [], ""
    for i, f in enumerate(fields):
        sep = "{" if i == 0 else ", "
        pieces.append(f'{closing}{sep}"{f.name}": ' + ('"' if f.kind == "string" else ""))
        closing = '"' if f.kind == "string" else ""
    pieces.append(closing + "}")
    return pieces


class Vocab:
    """Per-tokenizer masks: tokens allowed inside a JSON string, and tokens that close one."""

    def __init__(self, tokenizer: Any) -> None:
        import torch

        size = len(tokenizer)
        texts = tokenizer.batch_decode([[i] for i in range(size)])
        special = set(tokenizer.all_special_ids)
        ok = [
            bool(t) and i not in special and '"' not in t and "\\" not in t and t.isprintable()
            for i, t in enumerate(texts)
        ]
        self.size = size
        self.string_ok = torch.tensor(ok, dtype=torch.bool)
        self.closers = torch.tensor([t.startswith('"') for t in texts], dtype=torch.bool)


class SchemaDecoder:
    """One schema-guided generation over a model with a KV cache (not thread-safe: hold the model lock).

    Tokens whose value is already known (the prompt, the skeleton, the rest of a choice once only one
    choice is left) are queued and reach the model in one forward pass, when the next decision needs
    logits; the last skeleton piece is never run at all. A choice-only schema thus costs one forward pass
    per decision: a pairwise verdict {"verdict": "A"} is the prompt's pass and nothing more.
    """

    def __init__(self, model: Any, tokenizer: Any, vocab: Vocab, *, temperature: float, seed: int | None):
        import torch

        self.model, self.tokenizer, self.vocab = model, tokenizer, vocab
        self.temperature = temperature
        self.generator = torch.Generator().manual_seed(seed if seed is not None else 0)
        self.past: Any = None
        self.pending: list[int] = []  # known tokens not yet run through the model
        self.last: Any = None  # logits after the last token run
        self.fed = 0  # tokens after the prompt (the completion's length)
        self.passes = 0  # forward passes run

    def run(
        self, prompt_ids: list[int], fields: list[FieldPlan], max_tokens: int, skip: int = 0
    ) -> tuple[str, int]:
        """(the JSON text, completion tokens). `skip`: the first prompt tokens are already in `self.past`
        (a cached shared prefix), so only the rest of the prompt is run."""
        pieces = [self._encode(p) for p in skeleton(fields)]
        self.pending = list(prompt_ids[skip:])
        values: dict[str, Any] = {}
        for i, f in enumerate(fields):
            self._push(pieces[i])
            if f.kind == "choice":
                values[f.name] = json.loads(self._choose(f.choices, pieces[i + 1][0]))
            else:
                reserve = sum(len(p) for p in pieces[i + 1 :]) + 2 * (len(fields) - i - 1)
                budget = max(0, max_tokens - self.fed - reserve)
                values[f.name] = self._string(budget, f.max_chars)
        self._push(pieces[-1])
        return json.dumps(values, ensure_ascii=False), self.fed

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def _push(self, ids: list[int]) -> None:
        """Known completion tokens: queued, run with the next pass that needs logits."""
        self.pending += ids
        self.fed += len(ids)

    def _logits(self) -> Any:
        """Logits for the next token (one forward pass over the queued tokens, if any)."""
        import torch

        if self.pending:
            with _threads(1 if len(self.pending) <= FEW_TOKENS else None):
                out = self.model(
                    input_ids=torch.tensor([self.pending]), past_key_values=self.past, use_cache=True
                )
            self.past, self.pending = out.past_key_values, []
            self.last = out.logits[0, -1].float()
            self.passes += 1
        return self.last

    def _pick(self, scores: Any) -> int:
        import torch

        if self.temperature <= 0:
            return int(torch.argmax(scores))
        probs = torch.softmax(scores / self.temperature, dim=-1)
        return int(torch.multinomial(probs, 1, generator=self.generator))

    def _choose(self, choices: tuple[str, ...], follow: int) -> str:
        """Walk the trie of the choices' tokens; END (stop here) is scored by the next skeleton token."""
        import torch

        seqs = {c: self._encode(c) for c in choices}
        alive, depth = list(choices), 0
        while True:
            done = [c for c in alive if len(seqs[c]) == depth]
            nexts = sorted({seqs[c][depth] for c in alive if len(seqs[c]) > depth})
            options = nexts + ([follow] if done else [])
            if len(options) == 1:
                pick = options[0]  # forced: no pass needed
            else:
                pick = options[self._pick(self._logits()[torch.tensor(options)])]
            if done and pick == follow and pick not in nexts:
                return done[0]
            alive = [c for c in alive if len(seqs[c]) > depth and seqs[c][depth] == pick]
            self._push([pick])
            depth += 1
            if len(alive) == 1:
                self._push(seqs[alive[0]][depth:])
                return alive[0]

    def _string(self, budget: int, max_chars: int | None) -> str:
        tokens: list[int] = []
        for _ in range(budget):
            allowed = self.vocab.string_ok | self.vocab.closers if tokens else self.vocab.string_ok
            scores = self._logits()[: self.vocab.size].masked_fill(~allowed, float("-inf"))
            tok = self._pick(scores)
            if self.vocab.closers[tok]:
                break
            tokens.append(tok)
            self._push([tok])
            if _loops(tokens):
                del tokens[-REPEAT_SPAN:]  # the string is closed before the repeat
                break
            if max_chars is not None and len(self.tokenizer.decode(tokens)) >= max_chars:
                break
        text = str(self.tokenizer.decode(tokens)).strip()
        return text[:max_chars] if max_chars is not None else text


def _loops(tokens: list[int]) -> bool:
    """Whether the last REPEAT_SPAN tokens already occur earlier in `tokens`: greedy decoding of a small
    model falls into loops ("the input is not correct, and the input is not correct, ..."), and each
    looped token costs a forward pass without adding anything."""
    n = REPEAT_SPAN
    if len(tokens) < 2 * n:
        return False
    tail = tokens[-n:]
    return any(tokens[i : i + n] == tail for i in range(len(tokens) - 2 * n + 1))


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to `n` for the block (None: left as it is)."""
    import torch

    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
