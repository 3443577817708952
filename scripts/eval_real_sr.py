"""The real-photo table: PSNR-Y (and blockiness) of bicubic, ``sr-x<s>`` and ``sr-real-x<s>`` under each named
test degradation, per benchmark set and scale — the same protocol as ``restore eval sr --degradation D``
(``restore.evaluate.eval_sr``), in one process.

    python scripts/eval_real_sr.py --data path/to/Set14 --data path/to/BSD68 \\
        --scales 4,2 --out benchmarks/results/eval_real_sr

``--real PATTERN`` evaluates another real-photo candidate (``{s}`` = scale), e.g. a run's files. Writes
``OUT.json`` (every figure) and ``OUT.md`` (the tables, with the ×4 minimums of docs/SR_REAL_NOTES.md checked).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from restore.evaluate import eval_sr

DEGRADATIONS = ("jpeg:50", "jpeg:75", "noise:5", "blur:1.6", "clean")


def target(deg: str, real: float, clean: float, bicubic: float) -> tuple[str, bool]:
    """The minimum set for sr-real-x4 under ``deg`` and whether it holds."""
    if deg == "jpeg:50":
        return "≥ bicubic + 0.7", real >= bicubic + 0.7
    if deg == "jpeg:75":
        return "≥ bicubic + 0.9", real >= bicubic + 0.9
    if deg in ("noise:5", "blur:1.6"):
        return "≥ sr-x4 − 0.2", real >= clean - 0.2
    return "≥ sr-x4 − 0.5", real >= clean - 0.5


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--scales", default="4,2")
    ap.add_argument("--real", default="sr-real-x{s}")
    ap.add_argument("--out", default="benchmarks/results/eval_real_sr")
    a = ap.parse_args()
    rows = []
    md = []
    for data in a.data:
        for s in (int(x) for x in a.scales.split(",")):
            methods = [("bicubic", {"method": "bicubic-matlab"}), (f"sr-x{s}", {"model": f"sr-x{s}"}),
                       (f"sr-real-x{s}", {"model": a.real.format(s=s)})]
            md += ["", f"### {Path(data).name} ×{s} — PSNR-Y / blockiness", "",
                   "| degradation | bicubic | " + f"sr-x{s} | sr-real-x{s} | real − bicubic | real − sr-x{s} |"
                   + (" target (×4) | met |" if s == 4 else ""),
                   "|---|---|---|---|---:|---:|" + ("---|---|" if s == 4 else "")]
            for deg in DEGRADATIONS:
                res = {}
                for name, kw in methods:
                    r = eval_sr(data, s, device="cpu", degradation=deg, **kw)
                    res[name] = r
                    rows.append({"data": Path(data).name, "scale": s, "degradation": deg, "method": name,
                                 "psnr_y": r["psnr_y"], "ssim_y": r["ssim_y"], "blockiness": r["blockiness"],
                                 "images": r["images"]})
                    print(json.dumps(rows[-1]), flush=True)
                b, c, q = (res[n]["psnr_y"] for n, _ in methods)
                cells = " | ".join(f"{res[n]['psnr_y']:.2f} / {res[n]['blockiness']:.2f}" for n, _ in methods)
                line = f"| {deg} | {cells} | {q - b:+.2f} | {q - c:+.2f} |"
                if s == 4:
                    t, ok = target(deg, q, c, b)
                    line += f" {t} | {'yes' if ok else '**no**'} |"
                md.append(line)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    out.with_suffix(".md").write_text("\n".join(md).lstrip() + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
