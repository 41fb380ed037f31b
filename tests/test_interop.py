"""judgeloop import of Langfuse / Phoenix trace exports and OpenAI chat-completions logs, and judgeloop
export --format hf / argilla, through the CLI on a real workspace."""

from __future__ import annotations

import json
import uuid
import warnings
from pathlib import Path

import pytest

from judgeloop.store import Workspace

Q, A = "Where is my order?", "It ships tomorrow; here is the tracking link."
SYSTEM = {"role": "system", "content": "You are a support agent."}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def flat_cli(cli, args: list) -> tuple[int, str]:
    """The CLI's exit code and output with rich's line wrapping undone."""
    code, out = cli(args)
    return code, " ".join(out.split())


def sessions(url: str, project: str = "p") -> dict[str, dict]:
    return {s.id or "": s.model_dump() for s in Workspace(url).sessions(project)}


def test_openai_chat_completion_logs(cli, db_url, tmp_path):
    flat = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "messages": [SYSTEM, {"role": "user", "content": Q}],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": A}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
        "good": True,
    }
    proxied = {
        "request": {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": [{"type": "text", "text": Q}]}],
        },
        "response": {
            "id": "chatcmpl-2",
            "choices": [{"message": {"role": "assistant", "content": "No idea."}}],
        },
        "good": False,
    }
    finetune = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
    src = write_jsonl(tmp_path / "openai.jsonl", [flat, proxied, finetune])
    code, out = flat_cli(cli, ["import", src, "--project", "p", "--db", db_url])
    assert code == 0, out
    assert "openai export): 3 LLM calls" in out and "2 new labels" in out
    stored = sessions(db_url)
    one = stored["chatcmpl-1"]
    assert one["model_input"] == [SYSTEM, {"role": "user", "content": Q}] and one["model_output"] == A
    assert one["metadata"]["model"] == "gpt-4o-mini" and one["metadata"]["total_tokens"] == 29
    assert one["created_at"].isoformat().startswith("2023-11-14")  # the call's time is the session's
    assert "timestamp" not in one["metadata"]
    assert stored["chatcmpl-2"]["model_input"] == [{"role": "user", "content": Q}]
    assert stored["chatcmpl-2"]["metadata"]["model"] == "gpt-4o"
    tuned = next(s for s in stored.values() if s["model_output"] == "Hello!")
    assert tuned["model_input"] == [{"role": "user", "content": "Hi"}]
    labels = {x.session_id: x.good for x in Workspace(db_url).labels("p")}
    assert labels == {"chatcmpl-1": True, "chatcmpl-2": False}
    assert cli(["import", src, "--project", "p", "--db", db_url])[0] == 0  # again: nothing new
    assert len(sessions(db_url)) == 3


def test_langfuse_observations_and_traces(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'lf.db'}"
    observations = [
        {
            "id": "obs-1",
            "traceId": "trace-1",
            "type": "GENERATION",
            "name": "chat",
            "startTime": "2024-05-01T10:00:00.000Z",
            "endTime": "2024-05-01T10:00:01.500Z",
            "model": "gpt-4o",
            "input": [SYSTEM, {"role": "user", "content": Q}],
            "output": {"role": "assistant", "content": A},
            "usage": {"input": 31, "output": 12, "total": 43, "unit": "TOKENS"},
            "scores": [{"name": "correct", "value": 1}],
        },
        {
            "id": "obs-2",
            "traceId": "trace-1",
            "type": "SPAN",
            "name": "retrieve",
            "input": Q,
            "output": "docs",
        },
    ]
    src = tmp_path / "langfuse.json"
    src.write_text(json.dumps(observations), encoding="utf-8")
    code, out = flat_cli(cli, ["import", src, "--project", "p", "--db", url, "--label-col", "score.correct"])
    assert code == 0, out
    assert "langfuse export): 1 LLM calls, 1 other records skipped" in out
    [obs] = sessions(url).values()
    assert obs["id"] == "obs-1" and obs["model_input"][1] == {"role": "user", "content": Q}
    assert obs["model_output"] == A and obs["metadata"]["latency_ms"] == pytest.approx(1500)
    assert obs["metadata"]["trace_id"] == "trace-1" and obs["metadata"]["input_tokens"] == 31
    assert [x.good for x in Workspace(url).labels("p")] == [True]

    traces = [{"id": "t-9", "timestamp": "2024-05-02T08:00:00Z", "name": "qa", "input": {"question": Q},
               "output": "Tomorrow.", "latency": 0.8, "sessionId": "s-1", "tags": ["prod"]}]  # fmt: skip
    code, out = cli(["import", write_jsonl(tmp_path / "traces.jsonl", traces), "--project", "t", "--db", url])
    assert code == 0, out
    [trace] = sessions(url, "t").values()
    assert json.loads(trace["model_input"]) == {"question": Q} and trace["metadata"]["session"] == "s-1"
    assert trace["metadata"]["latency_ms"] == pytest.approx(800)


PHOENIX = [
    {
        "name": "ChatCompletion",
        "span_kind": "LLM",
        "context.span_id": "a1b2c3d4e5f60718",
        "context.trace_id": "0123456789abcdef0123456789abcdef",
        "parent_id": "ffffffffffffffff",
        "start_time": "2024-06-01T12:00:00+00:00",
        "end_time": "2024-06-01T12:00:00.750000+00:00",
        "attributes.openinference.span.kind": "LLM",
        "attributes.llm.model_name": "gpt-4o-mini",
        "attributes.llm.input_messages": [
            {"message.role": "system", "message.content": "You are a support agent."},
            {"message.role": "user", "message.content": Q},
        ],
        "attributes.llm.output_messages": [{"message.role": "assistant", "message.content": A}],
        "attributes.llm.token_count.prompt": 25,
        "attributes.llm.token_count.completion": 11,
        "attributes.input.value": Q,
        "attributes.output.value": A,
    },
    {
        "name": "agent",
        "span_kind": "CHAIN",
        "context.span_id": "ffffffffffffffff",
        "context.trace_id": "0123456789abcdef0123456789abcdef",
        "attributes.openinference.span.kind": "CHAIN",
        "attributes.input.value": Q,
        "attributes.output.value": A,
    },
]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_phoenix_span_export(cli, tmp_path, suffix):
    url = f"sqlite:///{tmp_path / 'px.db'}"
    src = tmp_path / f"spans{suffix}"
    if suffix == ".jsonl":
        write_jsonl(src, PHOENIX)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(PHOENIX), src)
    code, out = flat_cli(cli, ["import", src, "--project", "p", "--db", url])
    assert code == 0, out
    assert "phoenix export): 1 LLM calls, 1 other records skipped" in out
    [span] = sessions(url).values()
    assert (
        span["id"] == "otel-0123456789abcdef0123456789abcdef-a1b2c3d4e5f60718"
    )  # as POST /v1/traces names it
    assert span["model_input"] == [SYSTEM, {"role": "user", "content": Q}] and span["model_output"] == A
    assert span["metadata"]["model"] == "gpt-4o-mini" and span["metadata"]["latency_ms"] == pytest.approx(750)
    assert span["metadata"]["input_tokens"] == 25


def test_bad_trace_exports_name_the_row(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    no_output = {"context.span_id": "0000000000000001", "attributes.llm.output_messages": []}
    rows = [PHOENIX[0], {**PHOENIX[0], **no_output, "attributes.output.value": None}]
    code, out = flat_cli(
        cli, ["import", write_jsonl(tmp_path / "bad.jsonl", rows), "--project", "p", "--db", url]
    )
    assert code != 0 and "row 2" in out and "without llm.output_messages or output.value" in out
    assert "Traceback" not in out
    bad_openai = [{"choices": [{"message": {"content": "x"}}]}]
    bad = write_jsonl(tmp_path / "o.jsonl", bad_openai)
    code, out = flat_cli(cli, ["import", bad, "--project", "p", "--db", url,
                     "--format", "openai"])  # fmt: skip
    assert code != 0 and "row 1" in out and "messages" in out
    with pytest.raises(Exception):  # noqa: B017 - nothing was stored: the project does not exist
        Workspace(url).sessions("p")


@pytest.fixture
def labelled_project(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'export.db'}"
    from judgeloop.types import Label, Session

    ws = Workspace(url)
    ws.add_sessions(
        "p",
        [
            Session(
                id="c1",
                model_input=[SYSTEM, {"role": "user", "content": Q}],
                model_output=A,
                metadata={"model": "gpt-4o", "latency_ms": 812.5, "tokens": 40},
            ),  # fmt: skip
            Session(id="t2", model_input="2+2?", model_output="5", metadata={"model": "small", "tokens": 3}),
            Session(id="u3", model_input="unlabelled", model_output="x"),
        ],
    )
    ws.add_label("p", Label(session_id="c1", reviewer="ann", good=True, failure_tags=[]))
    ws.add_label("p", Label(session_id="t2", reviewer="ann", good=False, failure_tags=["wrong"]))
    return url


def test_export_hf_folder_with_a_dataset_card(cli, labelled_project, tmp_path):
    from datasets import load_from_disk

    out = tmp_path / "hf"
    code, text = cli(["export", "--project", "p", "--db", labelled_project, "--out", out, "--format", "hf"])
    assert code == 0, text
    ds = load_from_disk(str(out))
    assert ds.num_rows == 2 and sorted(ds["session_id"]) == ["c1", "t2"]
    row = ds[ds["session_id"].index("c1")]
    assert json.loads(row["model_input"])[1] == {"role": "user", "content": Q} and row["good"] == 1
    assert row["latency_ms"] == 812.5 and row["model"] == "gpt-4o"
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "2 sessions, 2 with a human label (1 good, 1 bad)" in " ".join(
        card.split()
    )
    assert "| `good` |" in card and "load_from_disk" in card
    code, text = flat_cli(
        cli, ["export", "--project", "p", "--db", labelled_project, "--out", out, "--format", "hf"]
    )
    assert code != 0 and "not empty" in text  # never writes over an existing folder


def test_export_argilla_records_log_into_an_rg_dataset(cli, labelled_project, tmp_path):
    rg = pytest.importorskip("argilla")
    import httpx
    from argilla.records._mapping import IngestedRecordMapper

    out = tmp_path / "argilla"
    code, text = cli(
        ["export", "--project", "p", "--db", labelled_project, "--out", out, "--format", "argilla"]
    )
    assert code == 0, text
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["c1", "t2"]

    # No Argilla server can run here (it needs Elasticsearch), so the SDK's client answers only its
    # log-in check from a stub; settings parsing and the record mapping `records.log` applies are the SDK's.
    def me(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/me", request.url
        return httpx.Response(200, json={"id": str(uuid.uuid4()), "username": "judgeloop", "role": "owner",
                                         "first_name": "j", "inserted_at": "2024-01-01T00:00:00",
                                         "updated_at": "2024-01-01T00:00:00"})  # fmt: skip

    stub = {"http://argilla.test": httpx.MockTransport(me)}
    client = rg.Argilla(api_url="http://argilla.test", api_key="key", mounts=stub)
    settings = rg.Settings.from_json(out / "settings.json")
    dataset = rg.Dataset(name="judgeloop-p", settings=settings, client=client)
    mapper = IngestedRecordMapper(dataset, user_id=uuid.uuid4())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a key the settings do not name would warn and be dropped
        built = [mapper(r) for r in records]
    for record in built:
        record.api_model()  # the payload records.log sends
    first = built[0]
    assert first.id == "c1" and first.fields["input"] == f"system: You are a support agent.\nuser: {Q}"
    assert first.fields["output"] == A and first.suggestions["good"].value == "good"
    assert first.metadata["model"] == ["gpt-4o"] and first.metadata["latency_ms"] == 812.5
    assert built[1].suggestions["good"].value == "bad"
