"""Batches on Ray (``--engine ray``): the files of a batch are spread over Ray actors, each of which loads its
model once and runs the same per-file work as the local engine — decode, the library call, atomic write — so the
outputs are pixel-identical to a local run. The caller (the CLI) keeps the batch contract: it plans the outputs,
skips or redoes them (resume, manifest), counts failures and sets the exit code; the actors only report, per
file, None or the error's one-line text.

Without an address a local Ray instance is started (and stopped after the batch); with one, the batch joins that
cluster. Ray is an optional extra: ``pip install 'restore[cluster]'``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from restore.errors import InputError

#: one file for an actor: (index, source, destination, replace an existing output, model name/path or None)
Item = tuple[int, str, str, bool, "str | None"]


def require_ray() -> Any:
    """The ``ray`` module, or an InputError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'restore[cluster]'") from None
    return ray


class _Worker:
    """One actor: the batch's job (:class:`restore.batch.UpscaleJob` / ``InpaintJob``), models cached across calls
    (the engine's cache)."""

    def __init__(self, job: Any, threads: int | None) -> None:
        import torch

        self.job = job
        if threads:
            torch.set_num_threads(int(threads))

    def run(self, chunk: Sequence[Item]) -> list[tuple[int, str | None]]:
        from pathlib import Path

        from restore.errors import RestoreError

        out: list[tuple[int, str | None]] = []
        for i, src, dst, redo, model in chunk:
            try:
                result = self.job.compute(Path(src), self.job.read(Path(src)), model)
                self.job.write(Path(src), Path(dst), result, redo)
                out.append((i, None))
            except Exception as exc:  # reported per file by the driver, as the local engine does
                out.append((i, str(exc) if isinstance(exc, RestoreError) else f"{type(exc).__name__}: {exc}"))
        return out


def run_on_ray(items: Sequence[Item], job: Any, *, threads: int | None = None, address: str | None = None,
               workers: int = 1, gpus_per_worker: float = 0.0, batch_size: int = 4
               ) -> Iterator[tuple[int, str | None]]:
    """Yield ``(index, error text or None)`` for every item as actors finish them (any order).

    Raises:
        InputError: Ray is not installed, or the cluster cannot be reached.
    """
    ray = require_ray()
    if not items:
        return
    started = not ray.is_initialized()
    if started:
        try:
            import logging

            # Ray's own INFO/WARNING lines would break the one-line-per-problem output
            quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
            if address:
                ray.init(address=address, **quiet)
            else:
                ray.init(include_dashboard=False, **quiet)
        except Exception as exc:  # Ray's connection errors are many types
            raise InputError(f"cannot start or join Ray ({address or 'local'}): {exc}") from None
    try:
        from ray.util import ActorPool

        actor = ray.remote(num_gpus=gpus_per_worker)(_Worker) if gpus_per_worker else ray.remote(_Worker)
        pool = ActorPool([actor.remote(job, threads) for _ in range(max(1, workers))])
        chunks = [list(items[k:k + max(1, batch_size)]) for k in range(0, len(items), max(1, batch_size))]
        for results in pool.map_unordered(lambda a, c: a.run.remote(c), chunks):
            yield from results
    finally:
        if started:
            ray.shutdown()
