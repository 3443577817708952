"""Orchestration of ``restore bench``: the peer venv, one worker process per method, the SR / inpainting /
threads / large-image suites and :func:`run_bench` (see :mod:`restore.bench`)."""
from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from restore.bench import worker
from restore.bench.report import key_figures
from restore.bench.worker import (
    CLASSICAL_INPAINT, CLASSICAL_SR, HOLE_LABELS, INPAINT_SIZE, LARGE_SIZE, PEER_SR, cpu_peaks, default_bench_dir,
    auto_variant, default_peers_dir, flops_per_output_pixel, precision_variants, run_job, synthetic_image,
)

#: where the peer venv lives (override with RESTORE_BENCH_PEER_VENV)
PEER_VENV = Path(os.environ.get("RESTORE_BENCH_PEER_VENV", Path.home() / ".cache" / "restore-bench" / "peers-venv"))
PEER_REQUIREMENTS = ("opencv-contrib-python-headless<5", "numpy")
#: other processes' average core use above which a run is flagged as contended
CONTENDED_CORES = 0.15

# --- orchestration ----------------------------------------------------------------------------------------

def peer_python(*, create: bool = False, log: Callable[[str], None] | None = None) -> Path | None:
    """The peer venv's interpreter if it works; built (once, cached) when ``create``; else ``None``."""
    py = PEER_VENV / "bin" / "python"
    if py.exists():
        ok = subprocess.run([str(py), "-c", "import cv2, numpy; cv2.dnn_superres.DnnSuperResImpl_create()"],
                            capture_output=True).returncode == 0
        if ok:
            return py
    if not create:
        return None
    if log:
        log(f"creating the peer venv at {PEER_VENV} ({', '.join(PEER_REQUIREMENTS)}); once")
    PEER_VENV.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True, capture_output=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True,
                       capture_output=True)
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"could not build the peer venv: {tail[0]}") from None
    return py


def _worker_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)  # numpy/BLAS, oneDNN and OpenCV all see the same thread count
    return env


def dispatch(job: dict[str, Any], work: Path, *, python: str | Path | None, isolate: bool) -> dict[str, Any]:
    """Run a job in a fresh worker process (``python``; default this interpreter) or, with ``isolate=False``
    and no other interpreter, in this process. Failures become ``{"error": ...}``, never exceptions."""
    if not isolate and python is None:
        try:
            return run_job(job)
        except Exception as e:  # a broken method must not take the whole benchmark down
            return {"error": f"{type(e).__name__}: {e}"}
    fd, name = tempfile.mkstemp(prefix="job-", suffix=".json", dir=work)
    os.close(fd)
    Path(name).write_text(json.dumps(job))
    cmd = [str(python or sys.executable), "-P", str(Path(worker.__file__).resolve()), "_worker", name]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_worker_env(int(job["threads"])))
    res_path = Path(name + ".result")
    if p.returncode != 0 or not res_path.exists():
        if p.returncode in (-9, 137):
            return {"error": "worker killed (SIGKILL: most likely out of memory)"}
        lines = [ln for ln in (p.stderr or "").strip().splitlines() if ln.strip()]
        return {"error": lines[-1] if lines else f"worker exited with {p.returncode}"}
    return json.loads(res_path.read_text())


def our_models(task: str, scale: int | None = None) -> list[dict[str, Any]]:
    """Shipped models of a task (and scale), the default first: ``{"name", "path", "params", "default"}``."""
    from restore.catalogue import _shipped

    out = []
    for p, m in _shipped():
        if m["task"] == task and (scale is None or m.get("scale") == scale):
            out.append({"name": m["name"], "path": str(p), "params": m.get("params"),
                        "default": bool(m.get("default"))})
    return sorted(out, key=lambda d: (not d["default"], d["name"]))


def _extra_model(path: str, task: str) -> dict[str, Any] | None:
    """A ``--model`` file's entry if it belongs to this task (scale is checked by the caller)."""
    from restore.catalogue import read_metadata, resolve

    p = resolve(path)
    m = read_metadata(p)
    if m["task"] != task:
        return None
    return {"name": m["name"], "path": str(p), "params": m.get("params"), "default": False,
            "scale": m.get("scale"), "extra": True}


def bench_sr(data: Path, scales: Sequence[int], *, work: Path, repeats: int, threads: int, device: str,
             extra_models: Sequence[str] = (), peers_dir: Path | None, peer_py: Path | None,
             shipped: bool = True, isolate: bool = True, budget_s: float = 5.0,
             log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """Rows of the SR table: every model of ours, the classical methods and the peers, per scale."""
    from restore.data import mod_crop
    from restore.degradations import degrade
    from restore.evaluate import bench_images
    from restore.io import read_rgb_u8
    from restore.metrics import psnr_y, ssim_y

    files = bench_images(data)
    rows: list[dict[str, Any]] = []
    variants, auto = precision_variants()
    for s in scales:
        d = work / f"sr-x{s}"
        d.mkdir(parents=True, exist_ok=True)
        hrs, inputs = [], []
        for i, f in enumerate(files):
            hr = mod_crop(read_rgb_u8(f), s)
            hrs.append(hr)
            np.save(d / f"lr_{i}.npy", degrade(hr, s))
            inputs.append(str(d / f"lr_{i}.npy"))
        out_mp = sum(h.shape[0] * h.shape[1] for h in hrs) / 1e6
        methods: list[tuple[str, str, dict[str, Any], Path | None]] = []
        ours = [m for m in our_models("sr", s)] if shipped else []
        ours += [m for m in (_extra_model(p, "sr") for p in extra_models) if m and m.get("scale") == s]
        for m in ours:
            flop_px = flops_per_output_pixel(m["path"], s)  # once per model, not per variant
            m_auto = auto_variant(m["path"], auto) if "onnxruntime-int8" in variants else auto
            for v in variants:
                ort = v.startswith("onnxruntime")
                spec = {"method": "ours-onnx" if ort else "ours", "model": m["path"], "auto": v == m_auto,
                        "default": m["default"] and v == m_auto, "variant": v, "base": m["name"], "flop_px": flop_px}
                if not ort:
                    spec["precision"] = v
                methods.append((f"{m['name']} [{v}]", "ours", spec, None))
        for c in CLASSICAL_SR:
            methods.append((c, "classical", {"method": c}, None))
        if peers_dir is not None and peer_py is not None:
            for key, (prefix, _n, pscales) in PEER_SR.items():
                pb = peers_dir / f"{prefix}_x{s}.pb"
                if s in pscales and pb.is_file():
                    methods.append((prefix, "peer", {"method": key, "peer_model": str(pb)}, peer_py))
        for label, kind, spec, py in methods:
            log(f"sr ×{s}: {label}")
            job = {"task": "sr", "scale": s, "inputs": inputs, "outdir": str(d / label), "repeats": repeats,
                   "budget_s": budget_s, "threads": threads, "device": device, **spec}
            res = dispatch(job, work, python=py, isolate=isolate)
            row: dict[str, Any] = {"task": "sr", "scale": s, "method": label, "kind": kind,
                                   "default": bool(spec.get("default")), "images": len(files), "data": str(data)}
            if "error" in res:
                rows.append({**row, "error": res["error"]})
                continue
            ps, ss = [], []
            for hr, o in zip(hrs, res["outputs"]):
                sr = np.load(o)
                ps.append(psnr_y(sr, hr, s))
                ss.append(ssim_y(sr, hr, s))
            secs, cpu = float(sum(res["seconds"])), float(sum(res["cpu_seconds"]))
            rows.append({**row, "params": res["params"], "psnr_y": float(np.mean(ps)), "ssim_y": float(np.mean(ss)),
                         "seconds": secs, "out_mp": out_mp, "mp_per_s": out_mp / secs if secs > 0 else float("inf"),
                         "cpu_seconds": cpu, "mp_per_cpu_s": out_mp / cpu if cpu > 0 else float("inf"),
                         "peak_mb": res["peak_delta_mb"], "peak_how": res["peak_how"], "threads": res["threads"],
                         "timed_runs": [len(r) for r in res["runs"]],
                         **{k: spec[k] for k in ("variant", "base", "flop_px", "auto") if k in spec}})
    _add_ratios(rows, group=("scale",), quality="psnr_y", speed="mp_per_s", higher_is_faster=True)
    _add_precision(rows, "psnr_y", "mp_per_s", threads)
    return rows


def _add_precision(rows: list[dict[str, Any]], quality: str, speed: str, threads: int) -> None:
    """Per model of ours: each variant's quality change against its float32 run, its speed-up over it, and
    (where FLOPs are known) the achieved GFLOP/s as a share of the CPU's float32 / bfloat16 peaks."""
    peaks = cpu_peaks(threads)
    fp32 = {(r.get("scale"), r.get("holes"), r["base"]): r for r in rows
            if r.get("variant") == "fp32" and "error" not in r}
    for r in rows:
        if "variant" not in r or "error" in r:
            continue
        ref = fp32.get((r.get("scale"), r.get("holes"), r["base"]))
        if ref is not None:
            r["d_quality_vs_fp32"] = r[quality] - ref[quality]
            a, b = r[speed], ref[speed]
            r["speedup_vs_fp32"] = (a / b if speed == "mp_per_s" else b / a) if a and b else None
        if r.get("flop_px") and speed == "mp_per_s":
            r["gflops"] = r[speed] * r["flop_px"] / 1e3
            r["share_fp32_peak"] = r["gflops"] / peaks["fp32"] if peaks["fp32"] else None
            r["share_bf16_peak"] = r["gflops"] / peaks["bf16"] if peaks["bf16"] else None



def inpaint_inputs(data: Path, n_images: int, size: int = INPAINT_SIZE) -> tuple[list[np.ndarray], list[str]]:
    """The first ``n_images`` images of a folder as ``size``×``size`` RGB uint8: scaled so the short side is
    ``size`` (area when shrinking, cubic when enlarging), then centre-cropped."""
    import cv2

    from restore.evaluate import bench_images
    from restore.io import read_rgb_u8

    out, names = [], []
    for f in bench_images(data)[:n_images]:
        img = read_rgb_u8(f)
        h, w = img.shape[:2]
        k = size / min(h, w)
        nh, nw = max(size, round(h * k)), max(size, round(w * k))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
        y0, x0 = (nh - size) // 2, (nw - size) // 2
        out.append(np.ascontiguousarray(img[y0:y0 + size, x0:x0 + size]))
        names.append(f.name)
    return out, names


def bench_inpaint(data: Path, *, work: Path, repeats: int, threads: int, device: str, n_images: int = 8,
                  families: Sequence[str] = ("thin", "box"), size: int = INPAINT_SIZE,
                  extra_models: Sequence[str] = (), shipped: bool = True, isolate: bool = True,
                  budget_s: float = 5.0, log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """Rows of the inpainting table: ours vs cv2 Telea / NS and scikit-image biharmonic, per hole family."""
    from restore.evaluate import inpaint_masks
    from restore.metrics import psnr

    images, _names = inpaint_inputs(data, n_images, size)
    triples = inpaint_masks(images, families)
    methods: list[tuple[str, str, dict[str, Any]]] = []
    ours = list(our_models("inpaint")) if shipped else []
    ours += [m for m in (_extra_model(p, "inpaint") for p in extra_models) if m]
    variants, auto = precision_variants()
    for m in ours:
        for v in (v for v in variants if not v.startswith("onnxruntime")):  # the pre-fill solver is not exported
            methods.append((f"{m['name']} [{v}]", "ours", {"method": "ours", "model": m["path"], "precision": v,
                                                            "default": m["default"] and v == auto, "variant": v,
                                                            "base": m["name"]}))
    for c in CLASSICAL_INPAINT:
        methods.append((c, "classical", {"method": c}))
    rows: list[dict[str, Any]] = []
    for fam in families:
        d = work / f"inpaint-{fam}"
        d.mkdir(parents=True, exist_ok=True)
        sel = [(i, m) for i, f, m in triples if f == fam]
        inputs, masks = [], []
        for k, (i, m) in enumerate(sel):
            np.save(d / f"img_{k}.npy", images[i])
            np.save(d / f"mask_{k}.npy", m)
            inputs.append(str(d / f"img_{k}.npy"))
            masks.append(str(d / f"mask_{k}.npy"))
        hole_frac = float(np.mean([m.mean() for _i, m in sel]))
        for label, kind, spec in methods:
            log(f"inpaint {fam}: {label}")
            job = {"task": "inpaint", "inputs": inputs, "masks": masks, "outdir": str(d / label), "repeats": repeats,
                   "budget_s": budget_s, "threads": threads, "device": device, **spec}
            res = dispatch(job, work, python=None, isolate=isolate)
            row: dict[str, Any] = {"task": "inpaint", "holes": fam, "hole_label": HOLE_LABELS.get(fam, fam),
                                   "hole_fraction": hole_frac, "method": label, "kind": kind,
                                   "default": bool(spec.get("default")), "images": len(sel), "size": size,
                                   "data": str(data)}
            if "error" in res:
                rows.append({**row, "error": res["error"]})
                continue
            ps = []
            for (i, m), o in zip(sel, res["outputs"]):
                a, b = np.load(o).astype(np.float64) / 255.0, images[i].astype(np.float64) / 255.0
                ps.append(psnr(a[m], b[m], 1.0))
            rows.append({**row, "params": res["params"], "psnr_hole": float(np.mean(ps)),
                         "s_per_image": float(np.mean(res["seconds"])), "s_max": float(np.max(res["seconds"])),
                         "cpu_s_per_image": float(np.mean(res["cpu_seconds"])),
                         "peak_mb": res["peak_delta_mb"], "peak_how": res["peak_how"], "threads": res["threads"],
                         "timed_runs": [len(r) for r in res["runs"]],
                         **{k: spec[k] for k in ("variant", "base") if k in spec}})
    _add_ratios(rows, group=("holes",), quality="psnr_hole", speed="s_per_image", higher_is_faster=False)
    _add_precision(rows, "psnr_hole", "s_per_image", threads)
    return rows


def _add_ratios(rows: list[dict[str, Any]], *, group: tuple[str, ...], quality: str, speed: str,
                higher_is_faster: bool) -> None:
    """Per group, each row's quality difference and speed / memory ratio to our default model (or first
    model of ours). ``speed_vs_ours`` > 1 means faster than ours whatever the unit."""
    refs: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        if r["kind"] != "ours" or "error" in r:
            continue
        k = tuple(r[g] for g in group)
        if k not in refs or (r["default"] and not refs[k]["default"]):
            refs[k] = r
    for r in rows:
        ref = refs.get(tuple(r[g] for g in group))
        if ref is None or "error" in r:
            continue
        r["ref"] = ref["method"]
        r["d_quality_vs_ours"] = r[quality] - ref[quality]
        a, b = r[speed], ref[speed]
        r["speed_vs_ours"] = (a / b if higher_is_faster else b / a) if a and b else None
        r["mem_vs_ours"] = r["peak_mb"] / ref["peak_mb"] if ref["peak_mb"] > 0 else None


def bench_threads(sr_model: str | None, ip_model: str | None, *, work: Path, threads: int, device: str,
                  repeats: int = 5, isolate: bool = True, log: Callable[[str], None] = lambda s: None
                  ) -> list[dict[str, Any]]:
    """Seconds per call with 1 and ``threads`` threads, quiet and then beside one busy process per core (a
    stand-in for another program): ×4 of a 256² image and inpainting of 512² with thick strokes."""
    import subprocess

    from restore.data import make_mask

    d = work / "threads"
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "sr.npy", synthetic_image(256, 256))
    np.save(d / "ip.npy", synthetic_image(512, 512, seed=1))
    np.save(d / "mask.npy", make_mask("thick", 512, 512, np.random.default_rng(0)) > 0)
    jobs = []
    if sr_model:
        jobs.append(("×4 of 256²", {"task": "sr", "scale": 4, "method": "ours", "model": sr_model,
                                    "inputs": [str(d / "sr.npy")]}))
    if ip_model:
        jobs.append(("inpaint 512², thick strokes", {"task": "inpaint", "method": "ours", "model": ip_model,
                                                     "inputs": [str(d / "ip.npy")], "masks": [str(d / "mask.npy")]}))
    rows = []
    for load in ("quiet", "contended"):
        busy = []
        if load == "contended":
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
        try:
            for label, spec in jobs:
                for n in sorted({1, threads}):
                    log(f"threads: {label}, {n} thread(s), {load}")
                    job = {**spec, "outdir": str(d / f"{label[:6]}-{n}-{load}"), "repeats": repeats,
                           "budget_s": 5.0, "threads": n, "device": device}
                    res = dispatch(job, work, python=None, isolate=isolate)
                    row = {"task": label, "threads": n, "load": load}
                    rows.append({**row, "error": res["error"]} if "error" in res else
                                {**row, "s_per_call": float(res["seconds"][0])})
        finally:
            for p in busy:
                p.kill()
                p.wait()
    return rows


def bench_large(model: str, *, work: Path, threads: int, device: str, size: int = LARGE_SIZE, scale: int = 4,
                tiles: Sequence[int | None] = (None, 0), isolate: bool = True,
                log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """×``scale`` of a ``size``×``size`` image with each tile setting (``None`` = default, 0 = untiled), each
    in a fresh process so its peak RSS is its own (``isolate=False`` is for smoke tests only: in a process
    that has held other arrays the memory figures mean little)."""
    rows = []
    for tile in tiles:
        log(f"large ×{scale} of {size}×{size}, tile {tile if tile is not None else 'default'}")
        job = {"task": "large", "model": model, "size": size, "scale": scale, "tile": tile, "threads": threads,
               "device": device}
        res = dispatch(job, work, python=None, isolate=isolate)
        out_bytes = size * size * scale * scale * 3
        row = {"task": "large", "size": size, "scale": scale, "tile": tile, "model": model,
               "out_bytes": out_bytes}
        if "error" in res:
            rows.append({**row, "error": res["error"]})
            continue
        row.update({k: res[k] for k in ("seconds", "out_mp", "rss_before_mb", "peak_mb", "peak_delta_mb",
                                        "peak_how", "ru_maxrss_mb", "threads")})
        row["mp_per_s"] = res["out_mp"] / res["seconds"]
        row["peak_beyond_output_mb"] = res["peak_mb"] - out_bytes / 2**20
        # memory grows linearly with the input: extrapolate the largest input that fits what was available
        per_mp = res["peak_delta_mb"] / (size * size / 1e6)
        row["growth_mb_per_input_mp"] = per_mp
        if res.get("mem_available_mb") and per_mp > 0:
            row["max_input_mp_in_available"] = res["mem_available_mb"] / per_mp
            row["mem_available_mb"] = res["mem_available_mb"]
        rows.append(row)
    return rows


def _busy_cpu_s() -> float | None:
    """CPU-seconds every process on the machine has used since boot (``/proc/stat``), or ``None``."""
    try:
        with open("/proc/stat") as fh:
            f = fh.readline().split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _own_cpu_s() -> float:
    """CPU-seconds of this process and its finished children (the benchmark's own workers)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


class _ForeignLoad:
    """Average number of cores that *other* processes kept busy while the block ran: machine-wide busy
    CPU time (``/proc/stat``) minus the benchmark's own (this process and its workers). Unlike the load
    average it does not count the benchmark itself, so it tells whether the timings were contended."""

    def __enter__(self) -> "_ForeignLoad":
        self.t, self.busy, self.own = time.perf_counter(), _busy_cpu_s(), _own_cpu_s()
        self.cores: float | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        busy = _busy_cpu_s()
        wall = time.perf_counter() - self.t
        if busy is not None and self.busy is not None and wall > 0:
            self.cores = max(0.0, (busy - self.busy) - (_own_cpu_s() - self.own)) / wall


def _environment(threads: int) -> dict[str, Any]:
    import platform

    env: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                           "cpus": os.cpu_count(), "threads": threads, "numpy": np.__version__}
    from restore.devices import cpu_model

    env["cpu"] = cpu_model()
    try:
        from importlib.metadata import version

        env["torch"] = version("torch")
        env["opencv"] = version("opencv-python-headless")
    except Exception:  # metadata of an odd install must not break the benchmark
        pass
    try:
        with open("/proc/loadavg") as fh:
            env["loadavg_at_start"] = fh.read().split()[:3]
    except OSError:
        pass
    return env


def _preload_note() -> str | None:
    pre = os.environ.get("RESTORE_BENCH_PRELOAD")
    if not pre:
        return None
    return f"RESTORE_BENCH_PRELOAD={pre} ran in the workers of our models (rows 'ours' and the large image)"


@dataclass(frozen=True)
class BenchConfig:
    """What ``restore bench`` runs (the command's options).

    Attributes:
        task: sr | inpaint | all.
        data: one image folder for every task; without it ``$RESTORE_BENCH_DATA`` (:func:`default_bench_dir`):
            its ``Set5/`` (SR) and ``BSD68/`` (inpainting) where it has them, else the folder itself. Neither set:
            :func:`run_bench` raises :class:`~restore.errors.InputError` before any work.
        scales, device, repeats, threads: SR scales; device of our models; timed runs per image after a warm-up
            (the median is kept; fewer when a call takes longer than ``budget_s``); threads of every method.
        models, shipped: extra ``.safetensors`` of ours; whether the shipped models run.
        peers, peers_dir, create_peer_venv: the peer CNNs (OpenCV's dnn_superres) and their cached venv.
        inpaint_images, families, inpaint_size: inpainting inputs (crops of this side) and hole families.
        large, large_size, untiled: the ×4 run of one large image (tiled, and untiled too).
        contention: the default models with 1 and ``threads`` threads, quiet and beside busy processes.
        isolate: one worker process per method (clean peak-memory figures); off for smoke tests.
        work_dir: where jobs and outputs go (default: a temporary folder, removed at the end).
    """

    task: str = "all"
    data: str | Path | None = None
    scales: Sequence[int] = (2, 3, 4)
    device: str = "auto"
    repeats: int = 5
    threads: int | None = None
    models: Sequence[str] = ()
    shipped: bool = True
    peers: bool = True
    peers_dir: str | Path | None = None
    create_peer_venv: bool = True
    inpaint_images: int = 8
    families: Sequence[str] = ("thin", "box")
    inpaint_size: int = INPAINT_SIZE
    large: bool = True
    large_size: int = LARGE_SIZE
    untiled: bool = True
    contention: bool = False
    isolate: bool = True
    budget_s: float = 5.0
    work_dir: str | Path | None = None

    def __post_init__(self) -> None:
        from restore.errors import InputError

        if self.task not in ("sr", "inpaint", "all"):
            raise InputError(f"unknown task {self.task!r}; choose sr, inpaint or all")
        for s in self.scales:
            if s not in (2, 3, 4):
                raise InputError(f"unsupported scale {s!r}; choose from 2, 3, 4")
        if self.repeats < 1:
            raise InputError("repeats must be ≥ 1")


def _peers_for(cfg: BenchConfig, notes: list[str], log: Callable[[str], None]) -> tuple[Path | None, Path | None]:
    """(peer venv interpreter, folder of the peer models), or Nones with the reason added to ``notes``."""
    if not cfg.peers:
        return None, None
    pdir = Path(cfg.peers_dir) if cfg.peers_dir else default_peers_dir()
    if pdir is None:
        notes.append("peer CNNs skipped: no peer folder (--peers-dir or RESTORE_BENCH_PEERS)")
        return None, None
    if not pdir.is_dir():
        notes.append(f"peer CNNs skipped: {pdir} not found")
        return None, None
    try:
        peer_py = peer_python(create=cfg.create_peer_venv, log=log)
    except RuntimeError as e:
        notes.append(f"peer CNNs skipped: {e}")
        return None, pdir
    if peer_py is None:
        notes.append(f"peer CNNs skipped: no peer venv at {PEER_VENV}")
    return peer_py, pdir


def _default_model(cfg: BenchConfig, task: str, scale: int | None = None) -> str | None:
    """The shipped default of a task (and scale) when shipped models run, else the first ``--model`` of it."""
    if cfg.shipped:
        found = next((m["path"] for m in our_models(task, scale) if m["default"]), None)
        if found:
            return found
    return next((m for m in cfg.models
                 if (e := _extra_model(m, task)) is not None and (scale is None or e.get("scale") == scale)), None)


def bench_data(cfg: BenchConfig, task: str) -> Path:
    """The image folder for ``task`` (``sr``: Set5, ``inpaint``: BSD68 under ``$RESTORE_BENCH_DATA``)."""
    from restore.errors import InputError

    if cfg.data:
        return Path(cfg.data)
    root = default_bench_dir()
    if root is None:
        raise InputError("no benchmark images: pass --data DIR (a folder of images) or set RESTORE_BENCH_DATA")
    sub = root / ("Set5" if task == "sr" else "BSD68")
    return sub if sub.is_dir() else root


def run_bench(cfg: BenchConfig | None = None, *, log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run the benchmark and return everything as one JSON-able dict (``sr``, ``inpaint``, ``large``,
    ``threads`` rows, ``summary``, ``notes``, ``env``)."""
    cfg = cfg or BenchConfig()
    tasks = ("sr", "inpaint") if cfg.task == "all" else (cfg.task,)
    data = {t: bench_data(cfg, t) for t in tasks}  # refused here, before any work, when there is none
    threads = int(cfg.threads or os.cpu_count() or 1)
    notes: list[str] = [n for n in (_preload_note(),) if n]
    result: dict[str, Any] = {"env": {**_environment(threads), "peaks": cpu_peaks(threads)}, "repeats": cfg.repeats,
                              "notes": notes, "sr": [], "inpaint": [], "large": [], "threads": []}
    common = dict(threads=threads, device=cfg.device, isolate=cfg.isolate, log=log)
    with contextlib.ExitStack() as stack:
        work = Path(cfg.work_dir) if cfg.work_dir else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="restore-bench-")))
        work.mkdir(parents=True, exist_ok=True)
        with _ForeignLoad() as foreign:  # load from other processes while the measured suites run
            if cfg.task in ("sr", "all"):
                peer_py, pdir = _peers_for(cfg, notes, log)
                result["sr"] = bench_sr(data["sr"], cfg.scales, work=work,
                                        repeats=cfg.repeats, extra_models=cfg.models, peers_dir=pdir, peer_py=peer_py,
                                        shipped=cfg.shipped, budget_s=cfg.budget_s, **common)
                if cfg.large:
                    model4 = _default_model(cfg, "sr", 4)
                    if model4 is None:
                        notes.append("large-image run skipped: no ×4 model of ours")
                    else:
                        result["large"] = bench_large(model4, work=work, size=cfg.large_size,
                                                      tiles=(None, 0) if cfg.untiled else (None,), **common)
            if cfg.task in ("inpaint", "all"):
                result["inpaint"] = bench_inpaint(data["inpaint"], work=work,
                                                  repeats=cfg.repeats, n_images=cfg.inpaint_images,
                                                  families=cfg.families, size=cfg.inpaint_size,
                                                  extra_models=cfg.models, shipped=cfg.shipped,
                                                  budget_s=cfg.budget_s, **common)
        if cfg.contention:  # after the measured suites: this load is ours
            sr4 = _default_model(cfg, "sr", 4) if cfg.task in ("sr", "all") else None
            ipm = _default_model(cfg, "inpaint") if cfg.task in ("inpaint", "all") else None
            result["threads"] = bench_threads(sr4, ipm, work=work, repeats=cfg.repeats, **common)
    result["env"]["foreign_load_cores"] = foreign.cores
    if not cfg.isolate:
        notes.append("methods ran in one process (isolate=False): peak MB figures are approximate")
    if foreign.cores is not None and foreign.cores > CONTENDED_CORES:
        notes.append(f"CONTENDED: other processes kept {foreign.cores:.2f} of {os.cpu_count()} cores busy on "
                     "average during the run; wall-clock figures are pessimistic")
    result["summary"] = key_figures(result)
    return result


