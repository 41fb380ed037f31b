"""The ONNX files of an unchanged base encoder, made once per machine and copied into each model.

An `embedding_head` evaluator (and the pairwise comparator) trains a head on a frozen encoder, so its
exported `model.onnx` and `model.int8.onnx` are the same for every model trained on that encoder.
Tracing and quantizing them costs about 4 s per training on 2 cores (more than the head's fit on a few
hundred labels). They are kept under `$JUDGELOOP_HOME/onnx/<key>/`, where the key names the encoder
folder (its path and the size and modification time of each file in it) and the torch, ONNX opset and
onnxruntime versions that made them; any change to the folder or a library gives a new key. A fine-tuned
encoder has no key (its weights are new), so it is exported every time and nothing is kept.

Keeping is best effort: a read-only or full cache folder only means the files are made again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def encoder_key(folder: str | Path, output: str) -> str | None:
    """The key of a local encoder folder's export (None for a hub id or anything not a folder)."""
    path = Path(folder)
    if not path.is_dir():
        return None
    import onnxruntime
    import torch

    from judgeloop.training.onnx import OPSET

    h = hashlib.sha256()
    for part in (str(path.resolve()), output, torch.__version__, str(OPSET), onnxruntime.__version__):
        h.update(part.encode() + b"\0")
    for file in sorted(p for p in path.iterdir() if p.is_file()):
        stat = file.stat()
        h.update(f"{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return h.hexdigest()[:32]


def cache_root() -> Path:
    from judgeloop.encoders import home

    return home() / "onnx"


def cached(key: str | None, target: Path, make: Callable[[Path], Path]) -> Path:
    """The file `make(target)` writes, copied from the cache when this key made it before (and kept
    there after it is made). Without a key it is only `make(target)`."""
    if key is None:
        return make(target)
    kept = cache_root() / key / target.name
    if kept.is_file():
        tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
        shutil.copyfile(kept, tmp)
        tmp.replace(target)
        return target
    made = make(target)
    _keep(made, kept)
    return made


def _keep(made: Path, kept: Path) -> None:
    """Copy `made` to `kept` whole or not at all (a concurrent process may keep the same file)."""
    tmp = kept.with_name(f"{kept.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made, tmp)
        tmp.replace(kept)
    except OSError as exc:
        log.info("could not keep %s in the ONNX cache (%s); it will be made again next time", made.name, exc)
        with contextlib.suppress(OSError):  # the folder itself may be what could not be made
            tmp.unlink(missing_ok=True)
