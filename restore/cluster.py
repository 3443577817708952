"""Batches on Ray (``--engine ray``): the files of a batch are spread over Ray actors, each of which loads its
model once and runs the same per-file work as the local engine — decode, the library call, atomic write — so the
outputs are pixel-identical to a local run. The caller (the CLI) keeps the batch contract: it plans the outputs,
skips or redoes them (resume, manifest), counts failures and sets the exit code; the actors only report, per
file, None or the error's one-line text.

Without an address a local Ray instance is started (and stopped after the batch); with one, the batch joins that
cluster, or fails with one InputError within ``timeout`` seconds: Ray's own client retries an unreachable address
for minutes. Ray is an optional extra: ``pip install 'restore[cluster]'``.
"""
from __future__ import annotations

import socket
import threading
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


#: Ray's default ports: the GCS of ``ray start --head`` and the Ray Client server (``ray://``)
_GCS_PORT, _CLIENT_PORT = 6379, 10001


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a cluster address (``host``, ``host:port``, ``[v6]:port``, ``ray://host:port``); None for
    the addresses Ray resolves itself (``auto``, ``local``) or any it could not be connected to by TCP."""
    rest, port = address.strip(), _GCS_PORT
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme != "ray":
            return None
        port = _CLIENT_PORT
    rest = rest.split("/", 1)[0]
    if rest in ("", "auto", "local"):
        return None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        text = tail[1:] if tail.startswith(":") else ""
    elif rest.count(":") == 1:
        host, text = rest.split(":")
    else:
        host, text = rest, ""
    if text:
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise InputError(f"--ray-address {address}: bad port {text!r}")
        port = int(text)
    return host, port


def check_reachable(address: str, timeout: float) -> None:
    """Fail fast, before Ray is asked: a TCP connection to the cluster's address must open within ``timeout``
    seconds (a closed port is refused at once, a silent host times out).

    Raises:
        InputError: the host is unknown, nothing listens there, or no answer came in time.
    """
    target = _host_port(address)
    if target is None:
        return
    try:
        socket.create_connection(target, timeout=timeout).close()
    except socket.gaierror:
        raise InputError(f"cannot join Ray at {address}: unknown host {target[0]!r}") from None
    except (socket.timeout, TimeoutError):
        raise InputError(f"cannot join Ray at {address}: no answer within {timeout:g} s (--ray-timeout)") from None
    except OSError as exc:
        raise InputError(f"cannot join Ray at {address}: {exc.strerror or exc}") from None


def _init_within(ray: Any, timeout: float | None, **kwargs: Any) -> None:
    """``ray.init(**kwargs)``, given up after ``timeout`` seconds (None: no limit). Ray's client can wait for
    minutes on a port that answers but is not a Ray head; the attempt then goes on in a daemon thread, which
    the process does not wait for."""
    if timeout is None:
        ray.init(**kwargs)
        return
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            ray.init(**kwargs)
            outcome.append(None)
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=attempt, name="restore-ray-init", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise TimeoutError(f"no answer within {timeout:g} s (--ray-timeout)")
    if outcome[0] is not None:
        raise outcome[0]


def run_on_ray(items: Sequence[Item], job: Any, *, threads: int | None = None, address: str | None = None,
               workers: int = 1, gpus_per_worker: float = 0.0, batch_size: int = 4, timeout: float | None = 20.0
               ) -> Iterator[tuple[int, str | None]]:
    """Yield ``(index, error text or None)`` for every item as actors finish them (any order). ``timeout``:
    seconds to reach ``address`` and join it (None: as long as Ray takes); a local instance is not bounded.

    Raises:
        InputError: Ray is not installed, or the cluster cannot be reached within ``timeout``.
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
                if timeout is not None:
                    check_reachable(address, timeout)
                _init_within(ray, timeout, address=address, **quiet)
            else:
                ray.init(include_dashboard=False, **quiet)
        except InputError:
            raise
        except Exception as exc:  # Ray's connection errors are many types
            first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise InputError(f"cannot start or join Ray ({address or 'local'}): {first}") from None
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
