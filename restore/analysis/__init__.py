"""The upsampler and padding-mode study: checkerboard and border artifacts, measured and drawn.

Modules (import them directly; this package imports nothing heavy so ``restore --help`` stays instant):

* :mod:`restore.analysis.study` — the study networks, the equal-budget training loop, bench prediction.
* :mod:`restore.analysis.checkerboard` — phase-mean spread and spectral checkerboard share, per upsampler.
* :mod:`restore.analysis.padding` — border-band vs interior PSNR and error by distance, per padding mode.
* :mod:`restore.analysis.figures` — matplotlib (Agg) figures of both studies.
* :mod:`restore.cli.analyze_cmds` — ``restore analyze checkerboard | padding``.
"""
from __future__ import annotations
