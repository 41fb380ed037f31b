"""Generate responses from a causal LM under test (SFT evaluation): batched, resumable, reproducible.

Prompts come from JSONL/JSON/CSV files with a `prompt`, `instruction` (+ optional `input`), `question`
or `turns` field (multi-turn, as in MT-Bench); ids from `id`, `key`, `question_id` or `uid`, else the
row number. Each finished prompt is appended to the output JSONL at once, so a killed run resumes
where it stopped: prompts already answered in the output file are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.io import read_records

ID_FIELDS = ("id", "key", "question_id", "uid")
DEFAULT_TEMPLATE = "Instruction: {prompt}\nResponse:"


@dataclass
class PromptItem:
    id: str
    turns: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class GenerationConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8
    template: str = DEFAULT_TEMPLATE  # used only when the tokenizer has no chat template
    system: str | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise InvalidInput(
                f"Got {self.max_new_tokens}", field="max_new_tokens", expected="an integer >= 1"
            )
        if not 0 <= self.temperature <= 5:
            raise InvalidInput(f"Got {self.temperature}", field="temperature", expected="a float in [0, 5]")
        if self.batch_size < 1:
            raise InvalidInput(f"Got {self.batch_size}", field="batch_size", expected="an integer >= 1")
        if "{prompt}" not in self.template:
            raise InvalidInput("the template has no {prompt} placeholder", field="template")


def _turns(record: dict[str, Any], file: str, row: int) -> list[str]:
    if isinstance(record.get("turns"), list) and record["turns"]:
        return [str(t) for t in record["turns"]]
    for key in ("prompt", "instruction", "question"):
        if isinstance(record.get(key), str) and record[key].strip():
            text = record[key]
            if key == "instruction" and isinstance(record.get("input"), str) and record["input"].strip():
                text = f"{text}\n\n{record['input']}"
            return [text]
    raise InvalidInput(
        "no prompt",
        file=file,
        row=row,
        field="prompt",
        expected="a 'prompt', 'instruction', 'question' or 'turns' field",
    )


def read_prompts(path: str | Path, limit: int | None = None) -> list[PromptItem]:
    records = read_records(path)
    items, seen = [], set()
    for row, record in enumerate(records, start=1):
        pid = next((str(record[k]) for k in ID_FIELDS if record.get(k) not in (None, "")), str(row))
        if pid in seen:
            raise InvalidInput(f"duplicate prompt id {pid!r}", file=str(path), row=row, expected="unique ids")
        seen.add(pid)
        meta = {
            k: v
            for k, v in record.items()
            if k not in ("turns", "prompt", "instruction", "input", "question")
        }
        items.append(PromptItem(pid, _turns(record, str(path), row), meta))
    return items[:limit] if limit else items


def done_ids(out_path: Path) -> set[str]:
    """Ids already answered in an existing output file (the resume point); a torn last line is ignored."""
    if not out_path.exists():
        return set()
    ids = set()
    for line in out_path.read_text(encoding="utf-8").splitlines():
        try:
            ids.add(str(json.loads(line)["id"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return ids


def _render(tokenizer: Any, history: list[dict[str, str]], config: GenerationConfig) -> str:
    if getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": config.system}] if config.system else []) + history
        return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    text = ""
    for msg in history:
        text += (
            config.template.format(prompt=msg["content"])
            if msg["role"] == "user"
            else f" {msg['content']}\n\n"
        )
    return text


def generate_batch(lm: Any, prompts: list[str], config: GenerationConfig) -> list[str]:
    """One batched generate() call with left padding; returns only the new text of each prompt."""
    import torch

    tok, model = lm.tokenizer, lm.model
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    sample = config.temperature > 0
    kwargs: dict[str, Any] = {
        "max_new_tokens": config.max_new_tokens,
        "do_sample": sample,
        "pad_token_id": tok.pad_token_id,
    }
    if sample:
        kwargs.update(temperature=config.temperature, top_p=config.top_p)
    with lm.lock, torch.inference_mode():
        torch.manual_seed(config.seed)
        out = model.generate(**enc, **kwargs)
    new = out[:, enc["input_ids"].shape[1] :]
    return [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]


def generate_responses(
    model: str,
    prompts: list[PromptItem],
    out_path: str | Path,
    config: GenerationConfig | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Answer every prompt not yet in `out_path` (all turns), appending one JSON line per prompt."""
    from judgeloop.causal_lm import load_causal_lm

    config = config or GenerationConfig()
    out = Path(out_path)
    skip = done_ids(out)
    todo = [p for p in prompts if p.id not in skip]
    if not todo:
        return {"generated": 0, "skipped": len(skip), "out": str(out)}
    lm = load_causal_lm(model)
    todo.sort(key=lambda p: len(p.turns[0]))  # similar lengths batch together: less padding
    with out.open("a", encoding="utf-8") as fh:
        for start in range(0, len(todo), config.batch_size):
            batch = todo[start : start + config.batch_size]
            answers = _answer_all_turns(lm, batch, config)
            for item, turns in zip(batch, answers, strict=True):
                record = {
                    "id": item.id,
                    "prompt": item.turns[0],
                    "response": turns[0],
                    "turns": item.turns,
                    "responses": turns,
                    "model": model,
                    "generation": asdict(config),
                    **{k: v for k, v in item.meta.items() if k != "id"},
                }
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            if on_progress:
                on_progress(len(batch))
    return {"generated": len(todo), "skipped": len(skip), "out": str(out)}


def _answer_all_turns(lm: Any, batch: list[PromptItem], config: GenerationConfig) -> list[list[str]]:
    histories: list[list[dict[str, str]]] = [[] for _ in batch]
    answers: list[list[str]] = [[] for _ in batch]
    for turn in range(max(len(p.turns) for p in batch)):
        active = [i for i, p in enumerate(batch) if turn < len(p.turns)]
        for i in active:
            histories[i].append({"role": "user", "content": batch[i].turns[turn]})
        texts = generate_batch(lm, [_render(lm.tokenizer, histories[i], config) for i in active], config)
        for i, text in zip(active, texts, strict=True):
            histories[i].append({"role": "assistant", "content": text})
            answers[i].append(text)
    return answers
