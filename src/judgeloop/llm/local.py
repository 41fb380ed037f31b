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


class LocalClient:
    """An `LLMClient` over a transformers causal LM (spec as in `judgeloop.causal_lm`)."""

    supports_json_schema: bool = True  # flat rubric schemas, via constrained decoding

    def __init__(self, spec: str = "local", *, max_string_tokens: int = 160) -> None:
        self.spec = spec
        self.model = "local" if spec in ("local", "smollm2", "local:smollm2") else spec
        self.max_string_tokens = max_string_tokens
        self._vocab: Vocab | None = None

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
            return decoder.run(prompt_ids, fields, budget)


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
