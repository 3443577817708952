"""A short bounded fuzzing run of the decoding paths (the long one: scripts/fuzz.py)."""
from __future__ import annotations

import pytest

import fuzzing as fuzz


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


def test_model_loader_fuzzing_gives_only_model_errors_quickly_and_in_bounded_memory() -> None:
    """Structured mutations of a model file's header (metadata values, config fields, tensor table) and byte
    mutations: every one is loaded or refused with ModelError, each within the fuzzer's deadline, and the run's
    peak memory grows by little (no config builds a network larger than the file)."""
    import resource
    import time

    fuzz.run(5, seed=99, kinds=("model-struct",))  # imports and first-use allocations before measuring
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    tried, findings = fuzz.run(150, seed=7, kinds=("model-struct", "model"))
    assert tried == 150 and not findings, findings[:3]
    assert time.perf_counter() - start < 60
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 300_000
