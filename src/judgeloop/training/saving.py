"""Writing a model directory atomically: build it beside the target, then rename it into place.

A run killed half-way leaves only a hidden `.NAME.tmp-*` folder beside the target, never a partial
model at the target path. An existing target is swapped out only after the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from judgeloop.errors import InvalidInput


@contextlib.contextmanager
def atomic_directory(target: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it becomes `target`, on error it is removed."""
    out = Path(target).resolve()
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a folder", field="out", expected="a folder path")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InvalidInput(f"{out} already holds files", field="out", expected="a new or empty folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)  # put the previous model back
        raise
    shutil.rmtree(old, ignore_errors=True)
