"""Shared pieces of the review tests: a project with chat and text sessions, pairwise sessions, verdicts,
reviewer accounts, and a signed-in HTTP client."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
from argon2 import PasswordHasher

from judgeloop.review import items, users
from judgeloop.server.auth import create_token
from judgeloop.store import Workspace
from judgeloop.types import Session, Verdict

# Still argon2id, at a test-sized cost (the default takes ~0.2 s per hash and per sign-in).
users._hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)

PASSWORD = "correct-horse-9"
PROJECT = "shop"
QUESTIONS = [
    "Where is my order?",
    "Can I return these shoes?",
    "How do I reset my password?",
    "Do you ship to Canada?",
    "My package arrived damaged.",
]


def support_sessions(n: int = 30) -> list[Session]:
    """n sessions: chat inputs (some with a system turn), plain-text inputs, one 20,000-character output."""
    out = []
    for i in range(n):
        q = QUESTIONS[i % len(QUESTIONS)]
        if i % 3 == 0:
            model_input: str | list[dict[str, str]] = q
        else:
            model_input = [{"role": "user", "content": q}]
            if i % 3 == 2:
                model_input = [{"role": "system", "content": "You are a kind support agent."}, *model_input]
                model_input += [
                    {"role": "assistant", "content": "Let me check."},
                    {"role": "user", "content": "Thanks!"},
                ]
        answer = f"Answer {i}: " + (
            "Happy to help — here is what to do next." if i % 2 else "Not my problem."
        )
        if i == 1:
            answer = "A very long answer. " * 1000  # 20,000 characters
        out.append(
            Session(
                id=f"s{i:03d}",
                model_input=model_input,
                model_output=answer,
                metadata={"app": "v2", "turn": i},
            )
        )
    return out


def pairwise_sessions(n: int = 4) -> list[Session]:
    return [
        Session(
            id=f"p{i}",
            model_input=QUESTIONS[i % len(QUESTIONS)],
            model_output=f"Model A answer {i}: polite and complete.",
            output_b=f"Model B answer {i}: terse.",
            metadata={"model_a": "sft-3", "model_b": "sft-4"},
        )
        for i in range(n)
    ]


@dataclass
class ReviewEnv:
    ws: Workspace
    url: str
    tokens: dict[str, str] = field(default_factory=dict)


def make_review_env(url: str, reviewers: int = 2, n: int = 30) -> ReviewEnv:
    """A workspace with sessions, a lead (`lead`, admin) and reviewers r0..rN, each with an API token."""
    ws = Workspace(url)
    ws.add_sessions(PROJECT, support_sessions(n) + pairwise_sessions())
    ws.add_verdicts(
        PROJECT,
        [
            Verdict(
                session_id=f"s{i:03d}",
                evaluator="support",
                version="1",
                label=i % 2,
                probability=0.1 + 0.8 * (i % 2),
            )
            for i in range(6)
        ],
    )
    items.set_taxonomy(ws, PROJECT, ["hallucination", "rude", "off-topic"])
    env = ReviewEnv(ws, url)
    for name, role in [("lead", "admin")] + [(f"r{i}", "reviewer") for i in range(reviewers)]:
        user = users.add_reviewer(ws, name, PROJECT, role, PASSWORD, lead=name == "lead")
        env.tokens[name] = create_token(ws, PROJECT, role, user.id)
    return env


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> str:
    """Sign `client` in through the form; returns the session's CSRF token (from a page's boot data)."""
    page = client.get("/review/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text
    r = client.post(
        "/review/login",
        data={"name": name, "password": password, "login_token": token.group(1), "next": "/review"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get("/review")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf, home.text
    return csrf.group(1)
