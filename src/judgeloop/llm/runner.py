"""`Runner`: any `LLMClient` plus a concurrency limit, retries with backoff, a response cache and usage.

    runner = Runner(client, concurrency=4, cache=MemoryCache(), prices={"gpt-4o-mini": Price(0.15, 0.6)})
    runner.complete(messages, max_tokens=256, temperature=0)   # an LLMClient itself
    runner.map(fn, items)                                        # fn over items on `concurrency` threads
    runner.usage                                                 # calls, cached, tokens, cost

Retried: HTTP 429 and 5xx, timeouts and connection errors (the OpenAI and Anthropic SDKs' error
classes, or anything with such a `status_code`), with exponential backoff and jitter, honouring a
`Retry-After` header up to `max_backoff`. Anything else is raised at once.

The cache key is the sha256 of (model, messages, max_tokens, temperature, json_schema, seed). Only
reproducible calls are cached: temperature 0, or a fixed seed. `ResponseCache` is the seam for a
database-backed cache; `MemoryCache` is the in-process one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

from judgeloop.errors import InvalidInput
from judgeloop.llm.base import Completion, LLMClient, Message

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class ResponseCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryCache:
    """A thread-safe in-process `ResponseCache`."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self._data.get(key)
            return dict(value) if value is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._data[key] = dict(value)


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1_000_000


FREE = Price(0.0, 0.0)
DEFAULT_PRICES: dict[str, Price] = {"local": FREE, "scripted": FREE}


@dataclass
class Usage:
    """What a run spent. `cached` calls are answered from the cache and cost nothing."""

    calls: int = 0
    cached: int = 0
    retries: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0  # calls to a model missing from the price table

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_tokens": self.total_tokens}


def cache_key(model: str, messages: list[Message], params: dict[str, Any]) -> str:
    blob = json.dumps({"model": model, "messages": messages, **params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts and connection failures (OpenAI / Anthropic SDKs, or duck-typed)."""
    try:
        import openai

        if isinstance(exc, openai.APIConnectionError | openai.RateLimitError):  # timeouts included
            return True
        if isinstance(exc, openai.APIStatusError):
            return exc.status_code >= 500
    except ImportError:  # pragma: no cover - openai is a core dependency
        pass
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    if type(exc).__name__ in ("APITimeoutError", "APIConnectionError"):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status in (408, 429) or status >= 500)


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header of the failed response, if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class Runner:
    """Wraps an `LLMClient`; is one. See the module docstring."""

    def __init__(
        self,
        client: LLMClient,
        *,
        concurrency: int = 4,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        cache: ResponseCache | None = None,
        prices: dict[str, Price] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if concurrency < 1:
            raise InvalidInput(f"Got {concurrency}", field="concurrency", expected="an integer >= 1")
        if max_retries < 0:
            raise InvalidInput(f"Got {max_retries}", field="max_retries", expected="an integer >= 0")
        self.client = client
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.cache = cache
        self.prices = {**DEFAULT_PRICES, **(prices or {})}
        self.usage = Usage()
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Runner({self.client!r}, concurrency={self.concurrency})"

    @property
    def model(self) -> str:
        return self.client.model

    @property
    def supports_json_schema(self) -> bool:  # follows the client (an OpenAI client may fall back)
        return bool(self.client.supports_json_schema)

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        params = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "json_schema": json_schema,
            "seed": seed,
        }
        key = cache_key(self.model, messages, params) if self._cacheable(temperature, seed) else None
        if key is not None and self.cache is not None and (hit := self.cache.get(key)) is not None:
            with self._lock:
                self.usage.cached += 1
            return Completion.from_dict({**hit, "cached": True})
        completion = self._call_with_retries(messages, params)
        if key is not None and self.cache is not None:
            self.cache.put(key, completion.to_dict())
        self._account(completion)
        return completion

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`fn` over `items` on up to `concurrency` threads, results in input order."""
        items = list(items)
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="judgeloop-llm") as pool:
            return list(pool.map(fn, items))

    def _cacheable(self, temperature: float, seed: int | None) -> bool:
        return temperature == 0 or seed is not None

    def _call_with_retries(self, messages: list[Message], params: dict[str, Any]) -> Completion:
        attempt = 0
        while True:
            try:
                with self._slots:
                    return self.client.complete(messages, **params)
            except Exception as exc:
                if attempt >= self.max_retries or not is_retryable(exc):
                    with self._lock:
                        self.usage.errors += 1
                    raise
                delay = self._delay(attempt, exc)
                log.warning("%s failed (%s); retry %d in %.2fs", self.model, exc, attempt + 1, delay)
                with self._lock:
                    self.usage.retries += 1
                self._sleep(delay)
                attempt += 1

    def _delay(self, attempt: int, exc: BaseException) -> float:
        hinted = retry_after(exc)
        if hinted is not None:
            return min(hinted, self.max_backoff)
        base = min(self.max_backoff, self.backoff * 2**attempt)
        return base * (0.5 + random.random() / 2)  # jitter in [base/2, base]

    def _account(self, completion: Completion) -> None:
        price = self.prices.get(self.model) or self.prices.get(completion.model)
        with self._lock:
            self.usage.calls += 1
            self.usage.prompt_tokens += completion.prompt_tokens
            self.usage.completion_tokens += completion.completion_tokens
            if price is None:
                self.usage.unpriced_calls += 1
            else:
                self.usage.cost_usd += price.cost(completion.prompt_tokens, completion.completion_tokens)

    def cost_of(self, completion: Completion) -> float | None:
        """The USD cost of one completion (None when the model has no price; 0 when cached)."""
        if completion.cached:
            return 0.0
        price = self.prices.get(self.model) or self.prices.get(completion.model)
        return price.cost(completion.prompt_tokens, completion.completion_tokens) if price else None
