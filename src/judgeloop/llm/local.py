"""A local causal LM through transformers: the bundled SmolLM2 GGUF by default, or any folder / hub id.

The model is loaded lazily on the first call and cached per process (`judgeloop.causal_lm`); calls on
one model are serialised by its lock, since `generate()` is not thread-safe. Prompts go through the
tokenizer's chat template. Temperature 0 means greedy decoding.

With a JSON schema the output is produced by `judgeloop.llm.constrained.SchemaDecoder` (the JSON
skeleton is forced, only values are decoded), so it always parses; schemas outside its subset raise
`UnsupportedSchema`.
"""

from __future__ import annotations

import time
from typing import Any

from judgeloop.llm.base import Completion, Message, check_messages
from judgeloop.llm.constrained import SchemaDecoder, Vocab, plan_schema

BUNDLED_STRING_TOKENS = 48  # the bundled model's rationale budget (tokens)


class LocalClient:
    """An `LLMClient` over a transformers causal LM (spec as in `judgeloop.causal_lm`)."""

    supports_json_schema: bool = True  # flat rubric schemas, via constrained decoding

    def __init__(
        self, spec: str = "local", *, max_string_tokens: int | None = None, prefix_cache: bool = True
    ) -> None:
        self.spec = spec
        bundled = spec in ("local", "smollm2", "local:smollm2")
        self.model = "local" if bundled else spec
        # Each token of a free string (a judge's rationale) is one forward pass: the bundled 135M model
        # shows the machinery, so its rationale is kept short; a model of the user's gets more room.
        if max_string_tokens is None:
            max_string_tokens = BUNDLED_STRING_TOKENS if bundled else 160
        self.max_string_tokens = max_string_tokens
        self._vocab: Vocab | None = None
        self._prefix = PrefixCache(enabled=prefix_cache)

    def __repr__(self) -> str:
        return f"LocalClient(spec={self.spec!r})"

    def load(self) -> Any:
        """The loaded model (once per process and spec)."""
        from judgeloop.causal_lm import load_causal_lm

        return load_causal_lm(self.spec)

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        check_messages(messages)
        fields = plan_schema(json_schema) if json_schema is not None else None
        lm = self.load()
        prompt_ids = self._prompt_ids(lm.tokenizer, messages)
        start = time.perf_counter()
        with lm.lock:
            if fields is not None:
                text, n_out = self._constrained(lm, prompt_ids, fields, max_tokens, temperature, seed)
            else:
                text, n_out = _generate(lm, prompt_ids, max_tokens, temperature, seed)
        latency = (time.perf_counter() - start) * 1000
        return Completion(
            text=text,
            prompt_tokens=len(prompt_ids),
            completion_tokens=n_out,
            model=self.model,
            latency_ms=latency,
            raw={"constrained": fields is not None, "spec": self.spec},
        )

    def _prompt_ids(self, tokenizer: Any, messages: list[Message]) -> list[int]:
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        return list(tokenizer.encode(str(text), add_special_tokens=False))

    def _constrained(
        self,
        lm: Any,
        prompt_ids: list[int],
        fields: Any,
        max_tokens: int,
        temperature: float,
        seed: int | None,
    ) -> tuple[str, int]:
        import torch

        if self._vocab is None:
            self._vocab = Vocab(lm.tokenizer)
        decoder = SchemaDecoder(lm.model, lm.tokenizer, self._vocab, temperature=temperature, seed=seed)
        budget = min(max_tokens, self.max_string_tokens + 64)
        with torch.inference_mode():
            decoder.past, known = self._prefix.lookup(prompt_ids)
            result = decoder.run(prompt_ids, fields, budget, skip=known)
            self._prefix.store(prompt_ids, decoder.past)
        return result


class PrefixCache:
    """The KV cache of the last prompt, so that the next prompt's shared beginning (a judge's system
    prompt and rubric: about 40% of the seed rubric's prompt) is not run through the model again.
    Used under the model's lock."""

    MIN_SHARED = 16  # tokens; below this a copy of the cache costs more than it saves

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.ids: list[int] = []
        self.cache: Any = None

    def lookup(self, prompt_ids: list[int]) -> tuple[Any, int]:
        """(a copy of the cache cut to the shared prefix, its length), or (None, 0)."""
        import copy

        shared = 0
        for a, b in zip(self.ids, prompt_ids[:-1], strict=False):  # at least one token left to run
            if a != b:
                break
            shared += 1
        if self.cache is None or shared < self.MIN_SHARED:
            return None, 0
        cache = copy.deepcopy(self.cache)
        _cut(cache, shared)
        return cache, shared

    def store(self, prompt_ids: list[int], cache: Any) -> None:
        """Keep `cache` (the prompt and the completion after it) cut back to the prompt."""
        if (
            not self.enabled
            or cache is None
            or not hasattr(cache, "crop")
            or cache.get_seq_length() < len(prompt_ids)
        ):
            self.ids, self.cache = [], None  # nothing (or not the whole prompt) was run: keep nothing
            return
        _cut(cache, len(prompt_ids))
        self.ids, self.cache = list(prompt_ids), cache


def _cut(cache: Any, length: int) -> None:
    """Keep the first `length` positions of a transformers cache (a negative `crop` removes tokens
    from the end, in old and new transformers alike)."""
    extra = int(cache.get_seq_length()) - length
    if extra > 0:
        cache.crop(-extra)


def _generate(
    lm: Any, prompt_ids: list[int], max_tokens: int, temperature: float, seed: int | None
) -> tuple[str, int]:
    import torch

    tok = lm.tokenizer
    kwargs: dict[str, Any] = {"max_new_tokens": max_tokens, "pad_token_id": tok.pad_token_id}
    if temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature, top_p=1.0)
        torch.manual_seed(seed if seed is not None else 0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    ids = torch.tensor([prompt_ids])
    with torch.inference_mode():
        out = lm.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
    new = out[0, len(prompt_ids) :].tolist()
    if new and new[-1] == tok.eos_token_id:
        new = new[:-1]
    return str(tok.decode(new, skip_special_tokens=True)).strip(), len(new)
