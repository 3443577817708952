"""What reduced precision does to flat areas: every SR model of ours upscales flat grey fields (levels
0, 15, …, 255) at each precision, and the interior of the output (the model's border context cut off) is compared
with the level. PSNR hides this: a quantised body gives each of the scale² output phases its own small constant
offset on a flat field, so where an offset passes half a grey level, one phase in scale² is rounded to the next
level — a faint periodic pattern of 1-level dots.

    python benchmarks/flat_fields.py [--models sr-x4,sr-fast-x4]

Per model and precision: the largest spread of the per-phase offsets (grey levels, over all fields), and the
share of interior pixels rounded away from the level (mean and worst field).
"""
from __future__ import annotations

import argparse

import numpy as np

import restore  # first: it makes OpenMP wait passively before torch loads


def flat_field_errors(model: str, precision: str, size: int = 48) -> tuple[float, float, float]:
    """(max per-phase offset spread in grey levels, mean share of pixels off the level, worst share)."""
    from restore.catalogue import read_metadata, resolve

    s = int(read_metadata(resolve(model))["scale"])
    spreads, off = [], []
    for v in range(0, 256, 15):
        a = np.full((size, size, 3), v / 255, np.float32)
        o = restore.upscale(a, s, model=model, device="cpu", precision=precision)[8 * s:-8 * s, 8 * s:-8 * s] * 255 - v
        ph = np.array([[o[y::s, x::s].mean() for x in range(s)] for y in range(s)])
        spreads.append(float(np.abs(ph - ph.mean()).max()))
        off.append(float(np.mean(np.clip(np.round(o + v), 0, 255) != v)))
    return max(spreads), float(np.mean(off)), max(off)


def main() -> None:
    from restore.catalogue import shipped_models

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # the upscalers: a ×1 model has no output phases
    upscalers = [m.name for m in shipped_models() if m.task == "sr" and min(m.scales) > 1]
    ap.add_argument("--models", default=",".join(upscalers))
    ap.add_argument("--precisions", default="fp32,bf16,int8")
    a = ap.parse_args()
    print("| model | precision | max phase-offset spread (levels) | pixels off the level: mean / worst field |")
    print("|---|---|---:|---:|")
    for m in a.models.split(","):
        for p in a.precisions.split(","):
            spread, mean, worst = flat_field_errors(m, p)
            print(f"| {m} | {p} | {spread:.3f} | {mean:.1%} / {worst:.1%} |", flush=True)


if __name__ == "__main__":
    main()
