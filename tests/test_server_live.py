"""Real servers on 127.0.0.1: `judgeloop serve` in a subprocess and uvicorn in a thread, driven by httpx,
with champions swapped (by the CLI in another process, and by the API) while requests are in flight."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from _server_support import GOOD, Env, ThreadServer, free_port, make_env, trained_model_dir
from judgeloop.server import create_app
from judgeloop.server.settings import ServeSettings

ITEM = {"model_input": "Where is my order?", "model_output": GOOD[0]}


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "judgeloop", *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Hammer:
    """Threads posting /v1/evaluate until stopped; each keeps its (status, version) replies in order."""

    def __init__(self, base: str, headers: dict[str, str], n_threads: int = 4) -> None:
        self.base, self.headers = base, headers
        self.stop = threading.Event()
        self.results: list[list[tuple[int, str | None]]] = [[] for _ in range(n_threads)]
        self.threads = [threading.Thread(target=self._work, args=(out,)) for out in self.results]

    def _work(self, out: list[tuple[int, str | None]]) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30) as client:
            while not self.stop.is_set():
                r = client.post("/v1/evaluate", json=ITEM)
                out.append((r.status_code, r.json().get("version")))

    def __enter__(self) -> Hammer:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def swap_under_load(base: str, headers: dict[str, str], promote: Callable[[], None]) -> list[list[tuple]]:
    with Hammer(base, headers) as hammer:
        time.sleep(0.5)
        promote()
        deadline = time.monotonic() + 30  # the 0.3 s refresh interval plus a model load, with room
        while not all(out and out[-1][1] == "2" for out in hammer.results) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    return hammer.results


def assert_clean_swap(results: list[list[tuple]]) -> None:
    flat = [x for thread in results for x in thread]
    assert flat and all(status == 200 for status, _ in flat), {s for s, _ in flat}
    for thread in results:
        versions = [v for _, v in thread]
        switch = versions.index("2")  # every thread saw the new champion ...
        assert set(versions[:switch]) == {"1"} and set(versions[switch:]) == {"2"}  # ... and never went back
        assert switch > 0


@pytest.fixture
def env(tmp_path) -> Env:
    model = trained_model_dir()
    return make_env(tmp_path, [model, model])


def test_cli_server_with_a_cli_promotion_in_another_process(env):
    token = env.tokens["service"]  # `judgeloop token create` is tested in test_server_security.py
    port = free_port()
    proc_env = {**os.environ, "JUDGELOOP_CHAMPION_REFRESH_S": "0.3"}
    server = subprocess.Popen(
        [sys.executable, "-m", "judgeloop", "serve", "--db", env.url, "--port", str(port), "--no-access-log"],
        env=proc_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    try:
        _wait_healthy(base, server)
        assert httpx.get(f"{base}/v1/evaluators").status_code == 401
        first = httpx.post(f"{base}/v1/evaluate", json=ITEM, headers=headers, timeout=60)  # loads the model
        assert first.status_code == 200 and first.json()["version"] == "1"
        results = swap_under_load(
            base, headers, lambda: cli("evaluators", "promote", "support@2", "--force", "--db", env.url)
        )
        assert_clean_swap(results)
        assert "judgeloop_model_swaps_total" in httpx.get(f"{base}/metrics").text
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err


def test_thread_server_with_an_api_promotion_and_concurrent_async_clients(env):
    import asyncio

    app = create_app(workspace=env.ws, settings=ServeSettings(champion_refresh_s=0.3))
    with ThreadServer(app) as server:
        headers = env.auth()

        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=60) as client:
                replies = await asyncio.gather(*[client.post("/v1/evaluate", json=ITEM) for _ in range(24)])
            return [r.status_code for r in replies]

        assert asyncio.run(burst()) == [200] * 24

        def promote() -> None:
            r = httpx.post(
                f"{server.base}/v1/evaluators/support/promote",
                json={"version": 2, "force": True},
                headers=env.auth("admin"),
                timeout=60,
            )
            assert r.status_code == 200

        assert_clean_swap(swap_under_load(server.base, headers, promote))
        batches = httpx.get(f"{server.base}/metrics").text
        assert "judgeloop_inference_batch_size_count" in batches


def _wait_healthy(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy in 60 s")
