"""Benchmarks: quality, speed and memory of our CNNs against classical methods and peer CNNs.

What is measured, and how
    * Quality: the evaluation protocols of :mod:`restore.evaluate` — SR: HR mod-cropped, LR = MATLAB
      bicubic rounded to uint8, PSNR/SSIM on Y with ``scale`` pixels shaved; inpainting: seeded masks
      (:func:`restore.evaluate.inpaint_masks`) on 512×512 crops, PSNR over the hole pixels (RGB).
    * Speed: per image, one warm-up call and then ``repeats`` timed calls (fewer when a call is slow, so
      one image costs at most ``budget_s``); the median is kept. SR speed = output megapixels of all
      images ÷ the sum of their medians. Every method runs with the same thread count and the same inputs.
    * Memory: each method runs in its own worker process (``isolate=True``); just before its first call
      the worker resets the kernel's peak-RSS counter (``/proc/self/clear_refs`` ← 5) and afterwards reads
      ``VmHWM``, so "peak MB" is the growth of resident memory over the idle, loaded process — what the
      calls themselves needed (buffers, outputs, library workspaces), excluding the interpreter and model
      load. Where ``clear_refs`` is not writable, ``ru_maxrss`` is used and the figure says so.
    * Peers: ``cv2.resize`` (bicubic, Lanczos) on uint8 as users call it; ESPCN / FSRCNN / LapSRN through
      ``cv2.dnn_superres`` from ``opencv-contrib-python-headless<5``, which cannot share an environment
      with this project's OpenCV 5, so it lives in a cached venv (:func:`peer_python`) and this very file
      runs there as the worker (``python -P worker.py _worker job.json``): that is why :mod:`.worker`
      imports only the standard library and NumPy at the top.

Images: ``BenchConfig.data`` (``--data``), else ``$RESTORE_BENCH_DATA`` (:func:`bench_data`); there is no
default folder. Peer models: ``peers_dir`` (``--peers-dir``), else ``$RESTORE_BENCH_PEERS``, else they are skipped
with a note. The result carries figures (:func:`key_figures`), never pass/fail verdicts.

The library raises; ``restore bench`` (:mod:`restore.cli.bench_cmd`) prints.
"""
from __future__ import annotations

# worker: memory probes, timing, one method's job (also runs by path in the peer venv); suites: the peer venv,
# dispatch and the suites; report: key figures and tables
from restore.bench.report import format_tables, key_figures
from restore.bench.suites import BenchConfig, bench_data, dispatch, peer_python, run_bench
from restore.bench.worker import (
    CLASSICAL_INPAINT, CLASSICAL_SR, PEER_SR, default_bench_dir, default_peers_dir, flops_per_output_pixel,
    precision_variants, synthetic_image,
)

__all__ = ["BenchConfig", "CLASSICAL_INPAINT", "CLASSICAL_SR", "PEER_SR", "bench_data", "default_bench_dir",
           "default_peers_dir", "dispatch", "flops_per_output_pixel", "format_tables", "key_figures", "peer_python",
           "precision_variants", "run_bench", "synthetic_image"]
