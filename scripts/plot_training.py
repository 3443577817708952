"""Draw an SR run's learning curve: PSNR-Y on the held-back training images against the total iterations of
the weights' lineage (the stages before the run included), one line per scale.

    python scripts/plot_training.py training/sr -o docs/sr_training_curve.png [--offset 5000]

Reads the run folder's ``checkpoint.safetensors`` (a run in progress) or ``history.json`` (a finished run). ``--offset``
is the iterations of the stages the run started from (default: read from the shipped ``sr-x4``'s lineage).
Also writes the points as ``<output>.json`` beside the picture.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def load_history(run: Path) -> list[dict]:
    if (run / "checkpoint.safetensors").exists():
        from restore.checkpoint import load_checkpoint

        return load_checkpoint(run / "checkpoint.safetensors")[2]["history"]
    return json.loads((run / "history.json").read_text())


def default_offset() -> int:
    from restore.catalogue import read_metadata, resolve

    tr = read_metadata(resolve("sr-x4"))["training"]
    return int(tr.get("total_iterations") or tr.get("iterations") or 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--offset", type=int, default=None)
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = [h for h in load_history(args.run) if h.get("val")]
    offset = default_offset() if args.offset is None else args.offset
    keys = sorted({k for h in hist for k in h["val"]})
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    points = {}
    for ax, k in zip(axes[0], keys):
        xs = [offset + h["step"] for h in hist if k in h["val"]]
        ys = [h["val"][k] for h in hist if k in h["val"]]
        points[k] = list(zip(xs, ys))
        ax.plot(xs, ys, marker=".", lw=1)
        if max(xs) > 3 * min(xs):  # log iterations for a long run; a short stage reads better on a linear axis
            ax.set_xscale("log")
        ax.set_title(f"{k}: PSNR-Y, held-back images")
        ax.set_xlabel("iterations (whole lineage)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("dB")
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=110)
    args.output.with_suffix(".json").write_text(json.dumps({"offset": offset, "points": points}, indent=1))
    print(f"wrote {args.output} ({len(hist)} validations)")


if __name__ == "__main__":
    main()
