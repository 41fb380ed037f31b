"""Shared pieces of the server tests: a tiny real evaluator (trained once per test run), workspaces with
registered versions and tokens, and a uvicorn server on a free loopback port."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _http_support import ThreadServer as ThreadServer  # the one copy, re-exported
from _http_support import free_port as free_port
from judgeloop import registry
from judgeloop.server.auth import create_token
from judgeloop.store import Workspace

QUESTIONS = [
    "Where is my order?",
    "Can I return these shoes?",
    "How do I reset my password?",
    "Do you ship to Canada?",
    "My package arrived damaged.",
    "How long does a refund take?",
    "Can I change my delivery address?",
    "Is this jacket waterproof?",
    "Why was I charged twice?",
    "How do I cancel my subscription?",
]
GOOD = [
    "Sorry for the wait! Please share your order number and I will check its status right away.",
    "Yes, you can return unworn shoes within 30 days; I can email you a free return label.",
    "Click 'Forgot password' on the sign-in page and follow the link we email you.",
    "Yes, we ship to Canada; delivery takes 5 to 8 business days.",
    "I am sorry it arrived damaged. Send a photo and we will ship a replacement for free.",
]
BAD = [
    "Not my problem.",
    "No returns ever, stop asking.",
    "Figure it out yourself.",
    "I don't know, ask someone else.",
    "Whatever. Read the website.",
]


def tiny_examples() -> list[tuple[str, str, bool]]:
    """50 labelled (input, output, good) support sessions: polite, helpful answers are good."""
    out = []
    for i, q in enumerate(QUESTIONS):
        for j in range(5):
            good = (i + j) % 2 == 0
            out.append((q, (GOOD if good else BAD)[(i + j) % 5], good))
    return out


@functools.cache
def trained_model_dir() -> Path:
    """A real LearnedEvaluator (default MiniLM encoder), trained once per test run."""
    from judgeloop.training import train_evaluator

    out = Path(tempfile.mkdtemp(prefix="jl-server-model-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    # a held-out slice as for larger sets (the server tests read held-out ids), not small-data CV
    train_evaluator(tiny_examples(), out / "model", small_data=False)
    return out / "model"


def model_copy(dest: Path, **config: Any) -> Path:
    """A copy of the trained model directory with changes to its judgeloop.json."""
    shutil.copytree(trained_model_dir(), dest)
    path = dest / registry.MODEL_CONFIG
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}), encoding="utf-8")
    return dest


def fake_model_dir(dest: Path) -> Path:
    """A registrable directory with no model in it (for tests that must never load one)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / registry.MODEL_CONFIG).write_text(json.dumps({"threshold": 0.5, "metrics": {"accuracy": 0.8}}))
    return dest


@dataclass
class Env:
    ws: Workspace
    url: str
    tokens: dict[str, str]

    def auth(self, role: str = "service") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def make_env(tmp_path: Path, model_dirs: list[Path], project: str = "shop", url: str | None = None) -> Env:
    """A workspace (SQLite unless `url`) with `support` v1..vN registered (v1 the champion), a token per
    role of `project`, and an admin token of another project ("other")."""
    url = url or f"sqlite:///{tmp_path / 'serve.db'}"
    ws = Workspace(url)
    for d in model_dirs:
        registry.register(ws, "support", d, project=project)
    if model_dirs:
        registry.promote(ws, "support@1", project=project)
    tokens = {role: create_token(ws, project, role) for role in ("reviewer", "service", "admin")}
    tokens["other"] = create_token(ws, "elsewhere", "admin")
    return Env(ws, url, tokens)
