from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judgeloop.errors import InvalidInput
from judgeloop.io import MAX_CELL_CHARS, parse_label, read_dataset, write_records


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "cell,expected",
    [
        ("1", True),
        ("0", False),
        ("TRUE", True),
        ("FALSE", False),
        ("good", True),
        ("Bad", False),
        ("yes", True),
        ("no", False),
        ("", None),
        ("  ", None),
        (1, True),
        (0.0, False),
        (None, None),
    ],
)
def test_parse_label_accepts_spreadsheet_values(cell, expected):
    assert parse_label(cell) is expected


def test_parse_label_rejects_other_values_naming_row_and_field():
    with pytest.raises(InvalidInput) as exc:
        parse_label("maybe", file="x.csv", row=7, field="good")
    assert "x.csv" in str(exc.value) and "row 7" in str(exc.value) and "'good'" in str(exc.value)


def test_seed_csv_with_chat_input_and_extra_columns(tmp_path):
    chat = json.dumps([{"role": "user", "content": "Where is my order?"}])
    p = write(
        tmp_path,
        "seed.csv",
        "model_input,model_output,good,app_version\n"
        f'"{chat.replace(chr(34), chr(34) * 2)}",Please share your order number.,TRUE,1.2\n'
        "Hi,Hello!,0,\n",
    )
    ds = read_dataset(p)
    assert [r.label.good for r in ds.rows if r.label] == [True, False]
    first = ds.rows[0].session
    assert first.model_input == [{"role": "user", "content": "Where is my order?"}]
    assert first.metadata == {"app_version": "1.2"}
    assert ds.rows[1].session.metadata == {}


def test_column_mapping_and_reference(tmp_path):
    p = write(tmp_path, "d.jsonl", json.dumps({"q": "2+2?", "a": "4", "ok": "yes", "gold": "4"}) + "\n")
    ds = read_dataset(p, input_col="q", output_col="a", label_col="ok", reference_col="gold")
    assert ds.rows[0].session.reference == "4" and ds.rows[0].label and ds.rows[0].label.good


@pytest.mark.parametrize(
    "name,content,needle",
    [
        ("missing.csv", "model_input,answer,good\nq,a,1\n", "missing column(s) 'model_output'"),
        ("badlabel.csv", "model_input,model_output,good\nq,a,1\nq2,a2,7\n", "row 2, field 'good'"),
        ("empty.csv", "", "empty"),
        ("header_only.csv", "model_input,model_output,good\n", "no data rows"),
        (
            "broken.jsonl",
            '{"model_input": "q", "model_output": "a", "good": 1}\n{"model_input": \n',
            "row 2: broken JSON line",
        ),
        (  # an empty *output* is a real session (issue 16 §5); an empty input is not
            "empty_input.csv",
            "model_input,model_output,good\n,a,1\n",
            "row 1, field 'model_input': empty cell",
        ),
        ("ragged.csv", "model_input,model_output,good\nq,a,1,extra\n", "row 1"),
    ],
)
def test_bad_files_name_file_row_and_field(tmp_path, name, content, needle):
    p = write(tmp_path, name, content)
    with pytest.raises(InvalidInput) as exc:
        read_dataset(p)
    assert needle in str(exc.value)
    assert name in str(exc.value)


def test_invalid_utf8_names_the_line(tmp_path):
    p = write(tmp_path, "latin.csv", b"model_input,model_output,good\nq,a,1\ncaf\xe9,b,0\n")
    with pytest.raises(InvalidInput, match=r"latin\.csv.*invalid UTF-8 .*line 3"):
        read_dataset(p)


def test_ten_megabyte_cell_is_refused(tmp_path):
    big = "x" * (10 * 1024 * 1024)
    p = write(tmp_path, "big.csv", f"model_input,model_output,good\nq,{big},1\n")
    with pytest.raises(InvalidInput) as exc:
        read_dataset(p)
    assert "row 1, field 'model_output'" in str(exc.value) and f"{MAX_CELL_CHARS:,}" in str(exc.value)


def test_duplicate_declared_ids_are_refused(tmp_path):
    p = write(tmp_path, "dup.csv", "id,model_input,model_output,good\nA,q,a,1\nA,q2,a2,0\n")
    with pytest.raises(InvalidInput, match="row 2, field 'id': duplicate id 'A'"):
        read_dataset(p)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".json"])
def test_write_then_read_round_trip(tmp_path, suffix):
    rows = [
        {"model_input": 'a,"b"\nc', "model_output": "ünï ✓", "good": 1},
        {"model_input": "x", "model_output": "y", "good": 0},
    ]
    p = tmp_path / f"out{suffix}"
    write_records(rows, p, ["model_input", "model_output", "good"])
    back = read_dataset(p)
    assert [(r.session.model_input, r.session.model_output, r.label.good) for r in back.rows if r.label] == [
        ('a,"b"\nc', "ünï ✓", True),
        ("x", "y", False),
    ]


def test_hf_dataset_folder(tmp_path):
    from datasets import Dataset

    Dataset.from_list([{"model_input": "q", "model_output": "a", "good": 1, "topic": "t"}]).save_to_disk(
        str(tmp_path / "hf")
    )
    ds = read_dataset(tmp_path / "hf")
    assert ds.rows[0].session.metadata == {"topic": "t"} and ds.rows[0].label and ds.rows[0].label.good


text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)  # NUL: refused


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            text.filter(lambda s: s.strip()),
            text.filter(lambda s: s.strip()),
            st.sampled_from(["1", "0", "TRUE", "no", ""]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_csv_round_trip_any_text(tmp_path, rows):
    p = tmp_path / "h.csv"
    write_records([{"model_input": a, "model_output": b, "good": g} for a, b, g in rows], p)
    back = read_dataset(p)
    assert [r.session.model_output for r in back.rows] == [b for _, b, _ in rows]
    assert [r.label.good if r.label else None for r in back.rows] == [parse_label(g) for _, _, g in rows]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_hostile_bytes_give_invalid_input_or_a_dataset(tmp_path, blob):
    for name in ("h.csv", "h.jsonl"):
        p = tmp_path / name
        p.write_bytes(b"model_input,model_output,good\n" + blob if name.endswith("csv") else blob)
        try:
            ds = read_dataset(p)
        except InvalidInput as exc:
            assert name in str(exc)
        else:
            assert all(isinstance(r.session.model_output, str) for r in ds.rows)
