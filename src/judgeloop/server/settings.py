"""Settings of the HTTP server (env vars prefixed `JUDGELOOP_`, e.g. `JUDGELOOP_CHAMPION_REFRESH_S=5`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServeSettings(BaseSettings):
    """Limits, model refresh and batching of the guardrail API. Read once, when an app is created."""

    model_config = SettingsConfigDict(env_prefix="JUDGELOOP_", extra="ignore")

    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0, description="Larger request bodies get 413.")
    max_field_chars: int = Field(default=100_000, gt=0, description="Longer text fields get 422.")
    max_batch_items: int = Field(default=256, gt=0, description="Most items in one batch request.")
    champion_refresh_s: float = Field(default=2.0, ge=0, description="How often to look for a new champion.")
    batch_window_ms: float = Field(default=0.0, ge=0, le=100, description="How long to wait to fill a batch.")
    max_batch_size: int = Field(default=16, gt=0, description="Most sessions in one forward pass.")
    model_cache_size: int = Field(
        default=4, gt=0, description="Loaded model versions kept besides champions."
    )
    scoring_queue_size: int = Field(
        default=10_000, gt=0, description="Pending sampled sessions before dropping."
    )
    scoring_claim_timeout_s: float = Field(
        default=60.0, gt=0, description="A claimed scoring batch not finished by then is taken over."
    )
    scoring_poll_s: float = Field(default=1.0, gt=0, description="How often an idle scorer looks for work.")
    changes_poll_s: float = Field(
        default=1.0, gt=0, description="How often a server on PostgreSQL polls for changes (besides LISTEN)."
    )
    request_timeout_s: float = Field(default=30.0, gt=0, description="Longest wait for a verdict (then 503).")
    auth_cache_s: float = Field(default=2.0, ge=0, description="How long a token lookup is reused.")
    metrics_require_token: bool = Field(default=False, description="Whether /metrics needs a Bearer token.")
    idempotency_ttl_s: float = Field(
        default=24 * 3600, gt=0, description="How long an Idempotency-Key's first response is replayed."
    )
    env: Literal["development", "production"] = Field(
        default="development", description="`production` turns off what only developers need (API docs)."
    )
    api_docs: bool | None = Field(
        default=None, description="Serve /docs, /redoc and /openapi.json (default: on unless env=production)."
    )

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"


def get_settings() -> ServeSettings:
    return ServeSettings()


__all__ = ["ServeSettings", "get_settings"]
