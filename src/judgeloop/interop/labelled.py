"""The labelled set of a project as rows: what `judgeloop export` writes, the review UI's export
downloads, and `interop.exports` turns into a Hugging Face or Argilla folder.

One row per session with its human label (judgeloop.store.human_label) in `good`; `fmt="seed"` gives
exactly the seed's three columns, with `good` spelt as the labels came in.
"""

from __future__ import annotations

from typing import Any


def export_records(
    ws: Any, project: str, fmt: str, include_unlabelled: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for export: the seed's three columns, or everything with the consensus label."""
    from judgeloop.io import input_cell
    from judgeloop.store import human_label

    labels_by: dict[str, list[Any]] = {}
    for lab in ws.labels(project):
        labels_by.setdefault(lab.session_id, []).append(lab)
    rows: list[dict[str, Any]] = []
    meta_cols: dict[str, None] = {}
    for s in ws.sessions(project, labelled=fmt == "seed" or not include_unlabelled):
        labs = labels_by.get(s.id or "", [])
        good = human_label(labs)
        if good is None and (fmt == "seed" or not include_unlabelled):
            continue
        row: dict[str, Any] = {
            "session_id": s.id,
            "model_input": input_cell(s.model_input, s.metadata),
            "model_output": s.model_output,
            "good": None if good is None else int(good),
        }
        if fmt != "seed":
            row.update(
                reference=s.reference,
                output_b=s.output_b,
                failure_tags=sorted({t for lab in labs for t in lab.failure_tags}),
                reviewers=sorted({lab.reviewer for lab in labs}),
                n_labels=len(labs),
                comment=" | ".join(lab.comment for lab in labs if lab.comment) or None,
            )
            for k, v in s.metadata.items():
                if k.startswith("_"):
                    continue
                row.setdefault(k, v)
                meta_cols[k] = None
        rows.append(row)
    if fmt == "seed":
        return _seed_labels(rows, labels_by), ["model_input", "model_output", "good"]
    base = [
        "session_id",
        "model_input",
        "model_output",
        "good",
        "reference",
        "output_b",
        "failure_tags",
        "reviewers",
        "n_labels",
        "comment",
    ]
    return rows, base + [k for k in meta_cols if k not in base]


def _seed_labels(rows: list[dict[str, Any]], labels_by: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The seed's `good` as the labels came in: TRUE/FALSE (Google Sheets) when they were spelt so,
    else 1/0."""
    from judgeloop.io import SOURCE_LABEL_KEY, seed_label_style

    spellings = [
        str(lab.metadata[SOURCE_LABEL_KEY])
        for row in rows
        for lab in labels_by.get(row["session_id"] or "", [])
        if lab.kind == "binary" and SOURCE_LABEL_KEY in lab.metadata
    ]
    if seed_label_style(spellings) == "TRUE/FALSE":
        for row in rows:
            row["good"] = "TRUE" if row["good"] else "FALSE"
    return rows


__all__ = ["export_records"]
