"""Public human-preference sets as `PairExample`s (paths relative to a datasets folder; see
`../shared/datasets/PROVENANCE.md`). Each loader keeps the source's label convention in one place:

- PandaLM test set: `response1` is A, `response2` is B; the human label is the majority of three
  annotators (1 → A, 2 → B, 0 → tie; no majority → tie). The instruction and its `input` are joined.
- LLMBar (Natural and the Processed subsets): `output_1` is A, `output_2` is B, `label` 1 → A, 2 → B.
- HH-RLHF harmless-base test: the shared transcript is the input, chosen is A (always decisive).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.training.pairwise_data import Choice, PairExample, split_transcripts

PANDALM = "pandalm_testset/testset-v1.json"
PANDALM_JUDGES = {"gpt-3.5-turbo": "pandalm_testset/gpt-3.5-turbo-testset-v1.json"}
LLMBAR = {
    "llmbar_natural": "llmbar/LLMBar/Natural/dataset.json",
    "mtbench_human": "llmbar/Processed/MT-Bench/dataset.json",
    "faireval": "llmbar/Processed/FairEval/dataset.json",
    "llmeval2": "llmbar/Processed/LLMEval2/dataset.json",
}
HH_HARMLESS = "hh_rlhf_harmless_base/test.jsonl.gz"
PANDALM_LABEL: dict[str, Choice] = {"1": "A", "2": "B", "0": "tie"}


def _json(path: Path) -> Any:
    if not path.is_file():
        raise InvalidInput("no such file", file=str(path), expected="the shared datasets folder")
    return json.loads(path.read_text(encoding="utf-8"))


def pandalm_prompt(row: dict[str, Any]) -> str:
    return f"{row['instruction']}\n\n{row['input']}".strip() if row.get("input") else str(row["instruction"])


def majority(votes: list[str]) -> Choice:
    counts = Counter(votes).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return "tie"
    return PANDALM_LABEL[counts[0][0]]


def load_pandalm(root: str | Path) -> list[PairExample]:
    rows = _json(Path(root) / PANDALM)
    return [
        PairExample(
            pandalm_prompt(r),
            str(r["response1"]),
            str(r["response2"]),
            majority([str(r[f"annotator{i}"]) for i in (1, 2, 3)]),
            id=f"pandalm-{r['idx']}",
            group=str(r["instruction"]),
        )
        for r in rows
    ]


def load_llmbar(root: str | Path, name: str) -> list[PairExample]:
    rows = _json(Path(root) / LLMBAR[name])
    return [
        PairExample(
            str(r["input"]),
            str(r["output_1"]),
            str(r["output_2"]),
            "A" if int(r["label"]) == 1 else "B",
            id=f"{name}-{i}",
            group=str(r["input"]),
        )
        for i, r in enumerate(rows)
    ]


def load_hh(root: str | Path) -> list[PairExample]:
    path = Path(root) / HH_HARMLESS
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            parts = split_transcripts(row["chosen"], row["rejected"])
            if parts is None or not parts[1] or not parts[2] or parts[1] == parts[2]:
                continue  # a few rows have an empty or identical last reply
            out.append(PairExample(parts[0], parts[1], parts[2], "A", id=f"hh-{i}", group=parts[0]))
    return out
