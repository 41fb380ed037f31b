"""Base encoders: where they are, whether they are encoders at all, and loading them quietly."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput

ENCODER_EXPECTED = "a folder (or hub id) holding an encoder such as BERT, MiniLM, RoBERTa or DeBERTa"
DECODER_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


def resolve_base_model(base_model: str | Path | None) -> str:
    """The encoder to start from: a short name (minilm, mpnet, a registered one), a folder or hub id,
    else the bundled MiniLM-L6."""
    if base_model is None or str(base_model) in ("", "default"):
        from judgeloop.assets import default_encoder_path

        return str(default_encoder_path())
    text = str(base_model)
    if not Path(text).exists():  # a short name: minilm, mpnet, or one added with `judgeloop models add`
        from judgeloop.encoders import resolve_encoder

        named = resolve_encoder(text)
        if named is not None:
            return str(named)
    return text


def check_encoder(base_model: str) -> Any:
    """Its config, or InvalidInput when it is missing or not an encoder (a causal LM, a GGUF file)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    path = Path(base_model)
    looks_local = path.is_absolute() or base_model.startswith(".") or os.sep in base_model and path.exists()
    if base_model.lower().endswith(".gguf"):
        raise InvalidInput(
            f"{base_model} is a GGUF causal LM, not an encoder", field="base_model", expected=ENCODER_EXPECTED
        )
    if looks_local and not path.is_dir():
        raise InvalidInput(f"{base_model} does not exist", field="base_model", expected=ENCODER_EXPECTED)
    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(base_model)
    except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot use this"
        raise InvalidInput(
            f"cannot load a model config from {base_model} ({type(exc).__name__}: {str(exc)[:200]})",
            field="base_model",
            expected=ENCODER_EXPECTED,
        ) from None
    architectures = list(getattr(config, "architectures", None) or [])
    is_decoder = bool(getattr(config, "is_decoder", False)) or any(
        a.endswith(DECODER_SUFFIXES) for a in architectures
    )
    if is_decoder or config.model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        kind = ", ".join(architectures) or config.model_type
        raise InvalidInput(
            f"{base_model} is a {kind} model, not an encoder", field="base_model", expected=ENCODER_EXPECTED
        )
    return config


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars for the duration."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def set_threads(num_threads: int | None) -> None:
    """torch intra-op threads: the given number, else leave torch's default alone."""
    if num_threads:
        import torch

        torch.set_num_threads(int(num_threads))
