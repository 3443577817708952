"""The lineage a training run records in its weights: one segment per process that ran part of a stage (where
and how long), the stages a file went through from the first, their CPU-hours, and what a gated network is
anchored to (docs/TRAINING.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from restore.devices import hardware_note


def open_segment(state: dict, device: torch.device, world_size: int) -> None:
    """Start a segment of a run in its state (one per process that runs it: a run resumed on another machine
    has a segment per machine), so the exported lineage says where every step was computed. A state
    written before segments were kept gets one segment for what it already holds, on this hardware."""
    segs = state.setdefault("segments", [])
    if not segs and state["step"] > 0:
        segs.append({"from_step": 0, "to_step": state["step"], "wall_s": round(state["wall"], 1),
                     "hardware": hardware_note(device), "cores": torch.get_num_threads() * world_size})
    segs.append({"from_step": state["step"], "to_step": state["step"], "wall_s": 0.0,
                 "hardware": hardware_note(device), "cores": torch.get_num_threads() * world_size,
                 "_wall0": state["wall"]})


def close_segment(state: dict) -> None:
    """Bring the open segment up to the state's step and wall time (called at every checkpoint)."""
    seg = state["segments"][-1]
    seg["to_step"] = state["step"]
    seg["wall_s"] = round(state["wall"] - seg.get("_wall0", 0.0), 1)


def segments_cpu_hours(segments: Sequence[dict]) -> float:
    """Core-hours of a run: each segment's wall time × the cores (threads × processes) it ran on."""
    return round(sum(s["wall_s"] * s.get("cores", 1) for s in segments) / 3600, 3)


def prior_stages(init_meta: dict) -> list[dict]:
    """The lineage of the weights a stage starts from: their own ``stages``, or, for a file written before
    stages were recorded, one stage made from its ``training`` record (its cores read off its hardware note)."""
    tr = dict(init_meta.get("training") or {})
    if tr.get("stages"):
        return list(tr["stages"])
    if not tr:
        return []
    import re

    hw = str(tr.get("hardware", ""))
    m = re.search(r"(\d+)-core", hw) or re.search(r"\((\d+) cores\)", hw)
    cores = int(m.group(1)) if m else 1
    wall = float(tr.get("wall_s") or 0.0)
    return [{"name": init_meta.get("name"), "command": tr.get("command"), "iterations": tr.get("iterations"),
             "init": tr.get("init"), "lr": tr.get("lr"), "wall_s": wall, "hardware": hw,
             "cpu_hours": round(wall * cores / 3600, 3), "best_val_psnr_y": tr.get("best_val_psnr_y")}]


def gated_anchor(init_file: Path, name: str) -> str:
    """The clean model a gated network trained from ``init_file`` (named ``name``) is anchored to."""
    from restore.catalogue import read_metadata

    meta = read_metadata(init_file)
    if not meta["config"].get("gated"):
        return name
    tr = meta.get("training") or {}
    if tr.get("anchor"):
        return tr["anchor"]
    return f"{tr['init']}-x{meta['config']['scale']}" if tr.get("init") else name
