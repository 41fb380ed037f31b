"""Held-out splits: stratified by label, and grouped when rows carry a `group` (a group never straddles)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from judgeloop.errors import InvalidInput
from judgeloop.training.examples import Example


def heldout_split(
    examples: Sequence[Example], test_size: float = 0.2, seed: int = 0, stable: bool = False
) -> tuple[list[int], list[int]]:
    """Indices (train, test). With groups, whole groups go to one side (StratifiedGroupKFold, so
    `test_size` is met approximately: the test side is one fold of round(1 / test_size)).

    `stable=True` assigns each row by a hash of its group (else its id) instead: a session stays on
    the same side as labels are added, so retrained models share the held-out set of the models before
    them (what the promotion gate compares on). Falls back to the seeded split when the hash leaves a
    class with fewer than 2 rows on a side."""
    if not 0.0 < test_size < 1.0:
        raise InvalidInput(
            f"test_size must be a float in (0, 1); got {test_size!r}", field="test_size", expected="e.g. 0.2"
        )
    labels = np.array([int(ex.label) for ex in examples])
    if stable:
        found = _hashed(examples, labels, test_size)
        if found is not None:
            return found
    if any(ex.group is not None for ex in examples):
        groups = [ex.group if ex.group is not None else f"\x00row{i}" for i, ex in enumerate(examples)]
        return _grouped(labels, groups, test_size, seed)
    return _stratified(labels, test_size, seed)


def _hashed(
    examples: Sequence[Example], labels: np.ndarray, test_size: float
) -> tuple[list[int], list[int]] | None:
    import hashlib

    def side(ex: Example) -> bool:
        key = f"heldout\x00{ex.group if ex.group is not None else ex.key}".encode()
        return int(hashlib.sha256(key).hexdigest()[:12], 16) / float(16**12) < test_size

    test = [i for i, ex in enumerate(examples) if side(ex)]
    train = [i for i, ex in enumerate(examples) if not side(ex)]
    if any(not part or np.bincount(labels[part], minlength=2).min() < 2 for part in (train, test)):
        return None
    return train, test


def _stratified(labels: np.ndarray, test_size: float, seed: int) -> tuple[list[int], list[int]]:
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    n_test = max(int(round(test_size * len(labels))), 2)
    stratify = labels if np.bincount(labels, minlength=2).min() >= 2 else None
    train, test = train_test_split(index, test_size=n_test, random_state=seed, stratify=stratify)
    return sorted(train.tolist()), sorted(test.tolist())


def _grouped(
    labels: np.ndarray, groups: Sequence[str], test_size: float, seed: int
) -> tuple[list[int], list[int]]:
    from sklearn.model_selection import StratifiedGroupKFold

    n_splits = max(2, int(round(1.0 / test_size)))
    n_groups = len(set(groups))
    if n_groups < n_splits:
        raise InvalidInput(
            f"only {n_groups} distinct groups: too few for a grouped held-out split of {test_size:.0%}",
            field="group",
            expected=f"at least {n_splits} groups, or no group column",
        )
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train, test = next(splitter.split(np.zeros(len(labels)), labels, groups))
    return sorted(train.tolist()), sorted(test.tolist())


def subset(examples: Sequence[Example], index: Sequence[int]) -> list[Example]:
    return [examples[i] for i in index]
