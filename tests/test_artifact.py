"""ModelArtifact: the one reader and writer of judgeloop.json (schema version, extra keys kept)."""

from __future__ import annotations

import json

import pytest

from judgeloop.artifact import FORMAT, MODEL_CONFIG, ModelArtifact
from judgeloop.errors import InvalidInput


def _write(folder, data) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_CONFIG).write_text(json.dumps(data), encoding="utf-8")


def test_an_earlier_file_round_trips_with_its_unknown_keys(tmp_path):
    old = {
        "format": "judgeloop-evaluator/1",
        "method": "embedding_head",
        "threshold": 0.4,
        "temperature": 1.3,
        "train_ids": ["a", 2],
        "threshold_rule": "f1",
        "something_new": {"nested": [1, 2]},
    }
    _write(tmp_path / "m", old)
    art = ModelArtifact.load(tmp_path / "m")
    assert (art.method, art.threshold, art.version) == ("embedding_head", 0.4, 1)
    assert art.extra_field("something_new") == {"nested": [1, 2]}
    art.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / MODEL_CONFIG).read_text()) == old  # nothing lost, nothing added


def test_a_file_without_format_reads_as_version_1_and_is_written_with_it(tmp_path):
    _write(tmp_path / "m", {"threshold": 0.5, "method": "cascade"})
    art = ModelArtifact.load(tmp_path / "m")
    assert art.version == 1 and art.format is None
    art.updated(target_error={"target": 0.05}).save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / MODEL_CONFIG).read_text())
    assert saved == {
        "format": FORMAT,
        "threshold": 0.5,
        "method": "cascade",
        "target_error": {"target": 0.05},
    }


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"format": "judgeloop-evaluator/99"}, "newer judgeloop"),
        ({"format": "sklearn-pickle/1"}, "not a judgeloop model"),
        ({"threshold": "high"}, "'threshold'"),
        ([1, 2], "not a JSON object"),
    ],
)
def test_unreadable_files_are_refused_with_the_file_named(tmp_path, data, words):
    _write(tmp_path / "m", data)
    with pytest.raises(InvalidInput, match=words) as info:
        ModelArtifact.load(tmp_path / "m")
    assert str(tmp_path / "m") in str(info.value)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(InvalidInput, match="not a judgeloop model directory"):
        ModelArtifact.load(tmp_path)
    (tmp_path / MODEL_CONFIG).write_text("{oops", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        ModelArtifact.load(tmp_path)


def test_save_is_atomic_and_leaves_no_temp_file(tmp_path):
    ModelArtifact(method="embedding_head", threshold=0.5).save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [MODEL_CONFIG]
    assert ModelArtifact.load(tmp_path).threshold == 0.5
