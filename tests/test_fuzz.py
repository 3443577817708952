"""A short bounded fuzzing run of the decoding paths (the long one: scripts/fuzz.py)."""
from __future__ import annotations

import pytest

from restore import fuzz


@pytest.mark.parametrize("kind", fuzz.KINDS)
def test_mutated_files_are_read_or_refused_with_our_error(kind) -> None:
    tried, findings = fuzz.run(40, seed=fuzz.KINDS.index(kind), kinds=(kind,))
    assert tried == 40
    assert not findings, findings[:3]


def test_seeds_are_valid(tmp_path) -> None:
    base = fuzz.seeds(tmp_path)
    for kind in fuzz.KINDS:
        assert fuzz.check(kind, base[kind], tmp_path) is None
        fuzz.reader(kind, tmp_path)(base[kind])  # and actually decode
