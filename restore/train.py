"""The SR training (the loop it runs is :mod:`restore.loop`, the lineage a run records in its weights
:mod:`restore.lineage`, the inpainting training :mod:`restore.train_inpaint`).

Checkpoints (for resuming) and shipped weights are safetensors (:mod:`restore.checkpoint`,
:mod:`restore.weights`): no pickle is written or read.
"""
from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from restore.errors import InputError
from restore.data import SRPairs, list_images
from restore.devices import hardware_note, precision_dtype
from restore.distributed import World
from restore.lineage import close_segment, gated_anchor, open_segment, prior_stages, segments_cpu_hours
from restore.loop import fit
from restore.metrics import psnr_y
from restore.models.sr import deepen_state, luma_residual_state
from restore.weights import save_model


def portable_data(folder: str | Path) -> str:
    """A training folder as the lineage records it: ``DATA/<its name>``, where DATA stands for wherever the
    training images are kept on the machine that runs the command (the metadata describes the data, not the
    machine's layout)."""
    return f"DATA/{Path(folder).name}"


def split_validation(paths: list[Path], n_val: int) -> tuple[list[Path], list[Path]]:
    """Hold back every k-th image (deterministic) for validation, so checkpoints are never chosen on a
    benchmark set."""
    if n_val <= 0 or len(paths) < 2 * n_val:
        return paths, []
    k = len(paths) // n_val
    val = paths[::k][:n_val]
    vs = set(val)
    return [p for p in paths if p not in vs], val


# --- super-resolution ----------------------------------------------------------------------------------

class MultiScaleSR(nn.Module):
    """Networks of one registered SR architecture for several scales sharing one body (MDSR-style): one run
    trains ×2, ×3 and ×4 at once, and each scale's exported model is the shared parts plus its own upsampler.
    The parts shared are those the architecture's class lists in ``shared_parts``; an architecture without
    them trains one scale at a time.

    Raises:
        InputError: several scales for an architecture that declares no shared parts.
    """

    def __init__(self, scales: Sequence[int], arch: str = "srnet", **cfg) -> None:
        from restore.models import create_model

        super().__init__()
        self.nets = nn.ModuleDict({str(s): create_model(arch, scale=s, **cfg) for s in scales})
        first = self.nets[str(scales[0])]
        shared = getattr(first, "shared_parts", ())
        if len(scales) > 1 and not shared:
            raise InputError(f"architecture {arch!r} declares no parts shared between scales; train one scale "
                             "at a time (--scales 4)")
        for s in scales[1:]:
            for part in shared:
                setattr(self.nets[str(s)], part, getattr(first, part))

    def forward(self, x: torch.Tensor, scale: int, cond: torch.Tensor | None = None) -> torch.Tensor:
        net = self.nets[str(scale)]
        return net(x) if cond is None else net(x, cond)


#: the pixel losses of `restore train sr --loss`
SR_LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}

#: a real-photo model is also validated on these (restore.degradations.make_lr) — the kinds of input it is for
VAL_DEGRADATIONS = ("jpeg:50", "jpeg:75", "noise:5", "blur:1.6")
#: and a restoration model at ×1 on these (it removes compression and noise; it does not sharpen)
VAL_DEGRADATIONS_X1 = ("jpeg:30", "jpeg:50", "jpeg:75", "noise:10")


@dataclass
class SRTrainConfig:
    data: list[str]
    scales: list[int] = field(default_factory=lambda: [2, 3, 4])
    base_ch: int = 48
    #: body depth; None = 6, or the --init weights' depth (a larger value grows it: restore.models.sr.deepen_state)
    n_blocks: int | None = None
    upsampler: str = "pixelshuffle"
    padding_mode: str = "zeros"
    iters: int = 10000
    batch: int = 16
    lr_patch: int = 48
    lr: float = 1e-3
    seed: int = 0
    val_images: int = 10
    val_every: int = 500
    device: str = "auto"
    precision: str = "auto"
    out: str = "runs/sr"
    name: str = "sr"
    default: bool = False
    #: "bicubic" (the published protocol's degradation) or "real" (restore.degradations.degrade_real)
    degradation: str = "bicubic"
    degradation_settings: dict = field(default_factory=dict)  # RealDegradation fields; empty = its defaults
    #: start from shipped (or saved) weights: "<init>-x<scale>" for each scale, e.g. "sr" (fine-tuning)
    init: str | None = None
    #: the pixel loss: "l1" or "mse"
    loss: str = "l1"
    #: distillation: "<teacher>-x<scale>" (a clean SR model of each scale, frozen) whose output on the same input
    #: is a second target, weighted ``teacher_weight`` against the ground truth's ``1 − teacher_weight``
    teacher: str | None = None
    teacher_weight: float = 0.5
    #: a registered SR architecture (restore.models.ARCHITECTURES); base_ch, n_blocks, upsampler and
    #: padding_mode go to it where its constructor takes them, ``arch_options`` as they are
    arch: str = "srnet"
    arch_options: dict = field(default_factory=dict)
    #: the command line of this stage, recorded in the lineage (the CLI fills it in)
    command: str | None = None
    #: "none" (blind) or "jpeg": the network is told the quality of the input's last JPEG compression (None =
    #: stored losslessly), as a file states it (restore.compression); needs --degradation real
    condition: str = "none"
    #: with the condition: a gated network (restore.models.sr.SRNet ``gated``), anchored to the --init weights,
    #: which it stays exactly for uncompressed inputs
    gated: bool = False
    #: the inputs the exported model is for: "any", or "jpeg" (files that state a JPEG quality: with --default,
    #: the default chosen for them before the general one, restore.catalogue.default_model)
    inputs: str = "any"
    #: scale augmentation: every training image is also used shrunk by each of these factors (below 1)
    rescale: list[float] = field(default_factory=list)
    #: a ×1 JPEG model trained and validated through the quantisation constraint restore denoise applies
    constraint: bool = False
    #: 0, or the decay of the weights' moving average that is validated and exported (``fit``'s ``ema``)
    ema: float = 0.0
    #: quantisation-aware training (restore.qat.QuantAware): trained and validated as its int8 export runs
    qat: bool = False


def _init_files(prefix: str, scales: Sequence[int]) -> tuple[dict[int, Path], str, dict]:
    """The ``<prefix>-x<s>`` weights to start from (shipped names or run files), their architecture's name
    and their shared config."""
    from restore.errors import ModelError
    from restore.catalogue import read_metadata, resolve

    files, seen = {}, None
    for s in scales:
        try:
            files[s] = resolve(f"{prefix}-x{s}")
        except ModelError:
            files[s] = resolve(f"{prefix}-x{s}.safetensors")  # a run's files: --init runs/sr/sr
        meta = read_metadata(files[s])
        this = (meta.get("arch", "srnet"), {k: v for k, v in meta["config"].items() if k != "scale"})
        if seen is not None and this != seen:
            raise InputError(f"--init {prefix}: the files of different scales have different architectures")
        seen = this
    return files, *(seen or ("srnet", {}))


def _teachers(cfg: SRTrainConfig, device: torch.device) -> dict[int, nn.Module]:
    """The frozen teacher of each scale (``cfg.teacher``), or none."""
    if not cfg.teacher:
        return {}
    from restore.weights import load_model

    files, _, _ = _init_files(cfg.teacher, cfg.scales)
    out = {}
    for s, path in files.items():
        t = load_model(path, device=str(device)).module  # eval mode, frozen
        if getattr(t, "cond_dim", 0):
            raise InputError(f"--teacher {cfg.teacher}: a conditioned model; distil a clean one")
        out[s] = t.to(memory_format=torch.channels_last)
    return out


def sr_arch_config(arch: str, common: dict, required: dict | None = None) -> dict:
    """The constructor kwargs of SR architecture ``arch``: those of ``common`` its constructor takes (``None``
    dropped, as :func:`restore.models.create_model` does), plus every one of ``required``; ``scale`` is set per
    network.

    Raises:
        InputError: an unknown architecture, not an SR one, or a ``required`` option it does not take.
    """
    import inspect

    from restore.models import ARCHITECTURES

    cls = ARCHITECTURES.get(arch)
    if cls is None or getattr(cls, "task", None) != "sr":
        names = ", ".join(n for n, c in ARCHITECTURES.items() if getattr(c, "task", None) == "sr")
        raise InputError(f"unknown SR architecture {arch!r}; choose {names}")
    params = set(inspect.signature(cls).parameters) - {"scale"}
    unknown = sorted(set(required or {}) - params)
    if unknown:
        raise InputError(f"architecture {arch!r} takes no option {', '.join(unknown)}")
    return {k: v for k, v in {**common, **(required or {})}.items() if v is not None and k in params}


def train_sr(cfg: SRTrainConfig, *, resume: bool = False, progress: Callable[[dict], None] | None = None,
             tick: Callable[[int, float], None] | None = None) -> list[Path]:
    """Train (or resume) a multi-scale SR network; returns the exported ``.safetensors`` paths, one per scale.

    The best validation checkpoint (mean PSNR-Y over scales on held-back training images) is exported.
    ``progress`` gets each validation record, ``tick(step, loss)`` every step (a progress display).
    """
    from restore.compression import KNOTS, condition_vector
    from restore.degradations import RealDegradation, degrade_real_stated, make_lr, stated_quality
    from restore.jpeg_constraint import project_batch
    from restore.weights import load_model

    if cfg.degradation not in ("bicubic", "real"):
        raise InputError(f"unknown training degradation {cfg.degradation!r}; choose bicubic or real")
    if cfg.condition not in ("none", "jpeg"):
        raise InputError(f"unknown condition {cfg.condition!r}; choose none or jpeg")
    if cfg.condition == "jpeg" and cfg.degradation != "real":
        raise InputError("--condition jpeg needs --degradation real (the clean protocol states nothing)")
    if cfg.gated and (cfg.condition != "jpeg" or not cfg.init):
        raise InputError("--gated needs --condition jpeg and --init (the clean weights it is anchored to)")
    if cfg.qat and (len(cfg.scales) > 1 or cfg.gated):
        raise InputError("--qat trains one scale, not gated")
    if cfg.loss not in SR_LOSSES:
        raise InputError(f"unknown loss {cfg.loss!r}; choose {' or '.join(SR_LOSSES)}")
    pixel_loss = SR_LOSSES[cfg.loss]
    if not 0.0 <= cfg.teacher_weight <= 1.0:
        raise InputError(f"--teacher-weight must be from 0 to 1, got {cfg.teacher_weight}")
    if cfg.teacher and (cfg.condition != "none" or cfg.degradation != "bicubic" or 1 in cfg.scales):
        raise InputError("--teacher distils a clean SR model: the bicubic degradation, no --condition, no --scales 1")
    real = RealDegradation.from_dict(cfg.degradation_settings) if cfg.degradation == "real" else None
    world = World()
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank
    device = world.device(cfg.device)
    amp = precision_dtype(cfg.precision, device, cpu_bf16=True)  # auto: bf16 on a CPU with native bf16 units
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = list_images(cfg.data)
    train_paths, val_paths = split_validation(paths, cfg.val_images)
    pairs = SRPairs.build(train_paths, cfg.scales, cfg.rescale)
    val = SRPairs.build(val_paths, cfg.scales) if val_paths else None
    conditioned = cfg.condition == "jpeg"
    # validation inputs with what each states (the condition a conditioned network is given)
    val_real: dict[int, list[tuple[np.ndarray, float | None]]] = {}
    val_named: dict[tuple[int, str], list[tuple[np.ndarray, float | None]]] = {}
    if val is not None and real is not None:
        # the validation inputs of a real-photo model: each held-back image degraded once, seeded by its index
        val_real = {s: [degrade_real_stated(h, s, np.random.default_rng([cfg.seed, 77, s, i]), real)
                        for i, h in enumerate(val.hr[s])] for s in cfg.scales}
        # and the named test degradations, on these held-back images (never on a benchmark set)
        for s in cfg.scales:
            for name in (VAL_DEGRADATIONS_X1 if s == 1 else VAL_DEGRADATIONS):
                val_named[(s, name)] = [(make_lr(h, s, name, seed=i), stated_quality(name))
                                        for i, h in enumerate(val.hr[s])]
    arch_name = cfg.arch
    arch = sr_arch_config(arch_name, dict(base_ch=cfg.base_ch, n_blocks=cfg.n_blocks, upsampler=cfg.upsampler,
                                          padding_mode=cfg.padding_mode), cfg.arch_options)
    if conditioned:
        arch = {**arch, "cond_dim": len(KNOTS)}
    init_files: dict[int, Path] = {}
    if cfg.init:
        # the starting weights decide the architecture (a condition added to them starts at zero: no change)
        init_files, arch_name, arch = _init_files(cfg.init, cfg.scales)
        if conditioned:
            arch = {**arch, "cond_dim": len(KNOTS), **({"gated": True} if cfg.gated else {})}
        if cfg.arch_options.get("block_grid"):  # a grid bias added to the starting weights starts at zero
            arch = {**arch, "block_grid": cfg.arch_options["block_grid"]}
        # RGB starting weights with a luma residual: the upsampler's colours summed (luma_residual_state)
        to_luma = bool(cfg.arch_options.get("luma_residual")) and not arch.get("luma_residual")
        if to_luma:
            arch = {**arch, "luma_residual": True}
        if cfg.n_blocks is not None and arch_name == "srnet":
            # a deeper body than the starting weights': the new blocks start as identities (deepen_state)
            if cfg.n_blocks < arch["n_blocks"]:
                raise InputError(f"--blocks {cfg.n_blocks}: the --init weights have {arch['n_blocks']} blocks; "
                                 "a body can be made deeper, not shallower")
            arch = {**arch, "n_blocks": cfg.n_blocks}
    elif arch_name == "srnet" and cfg.n_blocks is None:
        arch["n_blocks"] = 6
    # channels-last: oneDNN's convolutions skip a layout reorder per layer (~15 % of a CPU step)
    net = MultiScaleSR(cfg.scales, arch_name, **arch).to(device, memory_format=torch.channels_last)
    for buf in net.buffers():  # a channels-last (N, 1, k, k) buffer has overlapping strides: DDP's broadcast refuses
        buf.data = buf.data.clone(memory_format=torch.contiguous_format)
    first: dict[str, torch.Tensor] | None = None  # the shared parts of the first file
    for s, path in init_files.items():  # the bodies are shared: every file must carry the same one
        sub = net.nets[str(s)]
        start = load_model(path, device=str(device)).module.state_dict()
        shared = {k: v for k, v in start.items() if k.split(".")[0] in getattr(sub, "shared_parts", ())}
        if first is None:
            first = shared
        elif any(k not in first or not torch.equal(v, first[k]) for k, v in shared.items()):
            raise InputError(f"the --init weights {', '.join(map(str, init_files.values()))} do not share one body "
                             "(trained on apart); train their scales apart (--scales)")
        if arch_name == "srnet":
            start = deepen_state(start, arch["n_blocks"], sub.state_dict())
        if to_luma:
            start = luma_residual_state(start, s)
        sub.load_state_dict({**sub.state_dict(), **start})  # a new condition keeps its zero initialisation
        if cfg.gated and not any(k.startswith("clean.") for k in start):
            sub.freeze_clean()  # anchored to the clean weights it starts from (gated ones keep their anchor)
    if cfg.qat:  # after the starting weights are in: the rounding is simulated around them
        from restore.qat import QuantAware

        net.nets[str(cfg.scales[0])] = QuantAware(net.nets[str(cfg.scales[0])])

    # each scale's validation sets: (tag, [(LR, what it states)]); a score is reported as x<scale><tag>
    val_sets = {s: [("", [(a, None) for a in val.lr[s]])] + ([("_real", val_real[s])] if val_real else [])
                + [(f"_{name}", lrs) for (sc, name), lrs in val_named.items() if sc == s]
                for s in cfg.scales} if val is not None else {}

    def validate() -> dict[str, float]:
        net.eval()
        res = {}
        with torch.inference_mode():
            for s, sets in val_sets.items():
                for tag, lrs in sets:
                    ps = []
                    for (lr_img, q), hr_img in zip(lrs, val.hr[s]):
                        x = torch.from_numpy(lr_img).permute(2, 0, 1)[None].float().div(255).to(device)
                        cond = condition_vector(q)[None].to(device) if conditioned else None
                        sr = net(x, s, cond).float()
                        if cfg.constraint:
                            sr = project_batch(sr, x, [q])
                        sr = sr.cpu()[0, :, :hr_img.shape[0], :hr_img.shape[1]]
                        sr = sr.clamp(0, 1).permute(1, 2, 0).numpy()
                        ps.append(psnr_y((sr * 255).round(), hr_img, s))
                    res[f"x{s}{tag}"] = float(np.mean(ps))
        net.train()
        return res

    degrade_fn = functools.partial(degrade_real_stated, cfg=real) if real else None
    init_meta: dict = {}
    if init_files:
        from restore.catalogue import read_metadata

        init_meta = read_metadata(init_files[cfg.scales[-1]])

    teachers = _teachers(cfg, device)

    def step_loss(model: nn.Module, rng: np.random.Generator, step: int) -> torch.Tensor:
        s = cfg.scales[step % len(cfg.scales)]
        stated: list = []
        fn = degrade_fn
        if real is not None and real.jpeg_last:  # one stated quality per batch (a gated net's one condition)
            fn = functools.partial(degrade_fn, last_quality=int(rng.integers(real.jpeg_quality[0],
                                                                             real.jpeg_quality[1] + 1)))
        lr_b, hr_b = pairs.batch(s, cfg.batch, cfg.lr_patch, rng, degrade_fn=fn, stated=stated if fn else None)
        x = torch.from_numpy(lr_b).to(device).contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(hr_b).to(device)
        cond = torch.stack([condition_vector(q) for q in stated]).to(device) if conditioned else None
        out = model(x, s, cond).float()
        if cfg.constraint:
            out = project_batch(out, x, stated)
        if not teachers:
            return pixel_loss(out, y)
        with torch.no_grad():
            t = teachers[s](x).float()
        return (1 - cfg.teacher_weight) * pixel_loss(out, y) + cfg.teacher_weight * pixel_loss(out, t)

    # the best validated weights are exported (the last ones without validation), chosen by the mean PSNR-Y of
    # every validation set but a ×1 model's clean inputs: their PSNR (the input is the answer) has no ceiling and
    # swings by several dB, which would outweigh every degraded set
    score_keys = [f"x{s}{tag}" for s, sets in val_sets.items() for tag, _ in sets if (s, tag) != (1, "")] \
        if 1 in val_sets else None
    state = fit(net, step_loss, iters=cfg.iters, lr=cfg.lr, seed=cfg.seed, world=world, device=device, amp=amp,
                out=out, resume=resume, val_every=cfg.val_every, validate=validate if val is not None else None,
                unused_parameters=len(cfg.scales) > 1, progress=progress, on_step=tick, score_keys=score_keys,
                on_start=lambda st: open_segment(st, device, world.size), before_log=close_segment, ema=cfg.ema)
    world.close()
    if not world.main:
        return []
    segments = [{k: v for k, v in seg.items() if not k.startswith("_")} for seg in state.get("segments", [])
                if seg["to_step"] > seg["from_step"]]
    stage = {"name": cfg.name, "command": cfg.command, "iterations": state["step"], "init": cfg.init, "lr": cfg.lr,
             "wall_s": round(sum(sg["wall_s"] for sg in segments), 1), "segments": segments,
             "cpu_hours": segments_cpu_hours(segments), "best_val_psnr_y": state.get("best_val"),
             "finished": time.strftime("%Y-%m-%d")}
    stages = prior_stages(init_meta) + [stage]
    # the clean model a gated network is anchored to: the --init weights, or theirs when they are gated already
    anchors = {s: gated_anchor(init_files[s], f"{cfg.init}-x{s}") for s in cfg.scales} if cfg.gated else {}
    written = []
    for s in cfg.scales:
        single = export_sr(net.nets[str(s)])
        # a training-time form (collapsible blocks) ships as the plain architecture it folds into
        ship_arch = getattr(net.nets[str(s)], "export_arch", arch_name)
        config = {**sr_arch_config(ship_arch, arch), "scale": s}
        info = {
            "name": f"{cfg.name}-x{s}", "task": "sr", "arch": ship_arch, "scale": s,
            "config": config, "default": cfg.default, **({"inputs": cfg.inputs} if cfg.inputs != "any" else {}),
            "description": describe_sr(ship_arch, config, real=real is not None, inputs=cfg.inputs,
                                       clean=anchors.get(s)),
            "training": {
                "data": [portable_data(d) for d in cfg.data], "train_images": len(train_paths),
                "val_images": [p.name for p in val_paths], "iterations": state["step"],
                "batch": cfg.batch, "lr_patch": cfg.lr_patch, "lr": cfg.lr, "seed": cfg.seed,
                "scales_shared_body": cfg.scales, "hardware": hardware_note(device),
                "wall_s": round(state["wall"], 1), "best_val_psnr_y": state.get("best_val"),
                "degradation": ({"pipeline": "restore.degradations.degrade_real", **real.to_dict()} if real
                                else "MATLAB bicubic (antialiased), uint8"),
                "precision": str(amp).replace("torch.", "") if amp else "float32",
                "init": cfg.init, "world_size": world.size, "loss": cfg.loss,
                **({"rescale": list(cfg.rescale)} if cfg.rescale else {}),
                **({"constraint": "jpeg quantisation"} if cfg.constraint else {}),
                **({"ema": cfg.ema} if cfg.ema else {}),
                **({"qat": "int8 as ONNX Runtime runs it (restore.qat)"} if cfg.qat else {}),
                **({"teacher": {"models": [f"{cfg.teacher}-x{k}" for k in cfg.scales], "weight": cfg.teacher_weight}}
                   if cfg.teacher else {}),
                "condition": ({"kind": "jpeg", "knots": list(KNOTS), "given": "the quality of the input's last "
                               "JPEG compression (restore.compression); none = stored losslessly"}
                              if conditioned else "none"),
                "trained_as": {"arch": arch_name, "config": arch},
                "stages": stages, "cpu_hours_total": round(sum(st.get("cpu_hours") or 0 for st in stages), 3),
                "total_iterations": sum(int(st.get("iterations") or 0) for st in stages),
            },
        }
        if s in anchors:
            info["training"]["anchor"] = anchors[s]
        if cfg.qat:  # the activation ranges it was trained with: the int8 export rounds to them
            info["int8_ranges"] = net.nets[str(s)].int8_ranges()
        written.append(save_model(single, out / f"{cfg.name}-x{s}.safetensors", info))
    (out / "history.json").write_text(json.dumps(state["history"], indent=1))
    return written


def export_sr(net: nn.Module) -> nn.Module:
    """The network to ship for a trained one: a copy on the CPU in the default memory format, collapsed by its
    own ``export()`` where the architecture has one (training-time branches folded into the same architecture
    and config, as re-parameterisable blocks are)."""
    import copy

    single = copy.deepcopy(net).to("cpu", memory_format=torch.contiguous_format).eval()
    return single.export() if hasattr(single, "export") else single


def describe_sr(arch: str, config: dict, *, real: bool = False, inputs: str = "any", clean: str | None = None) -> str:
    """The one-line description an exported SR model carries: its network, and what it is for — trained on real
    degradations, told the stated JPEG quality (``cond_dim``), gated on it against the ``clean`` model, the
    JPEG block grid, made for JPEG files (``inputs``).

    >>> describe_sr("srnet", {"base_ch": 16, "n_blocks": 2, "upsampler": "pixelshuffle", "scale": 4})
    'SRNet 16ch×2 blocks, pixelshuffle, ×4'
    """
    if arch != "srnet":
        return f"{arch} " + ", ".join(f"{k}={v}" for k, v in sorted(config.items()))
    net = f"SRNet {config['base_ch']}ch×{config['n_blocks']} blocks"
    if config["scale"] == 1:
        net += f" at ×1 (body on the {config['unshuffle']}× pixel-unshuffled input)"
    else:
        net += f", {config['upsampler']}, ×{config['scale']}"
        if config.get("luma_residual"):
            net += ", luma residual (colours bicubic)"
    if not real:
        return net
    if config["scale"] == 1:
        what = ("for JPEG files: blocks and ringing removed" if inputs == "jpeg"
                else "JPEG artefacts and noise removed")
    else:
        what = "real photos" + (": quantisation-aware" if config.get("cond_dim") else "")
    if clean:
        what += f", gated on the stated JPEG quality (the clean {clean} exactly for uncompressed inputs)"
    elif config.get("cond_dim"):
        what += ", conditioned on the stated JPEG quality"
    if config.get("block_grid"):
        what += ", knows the 8×8 block grid"
    return f"{net}{' ' if what.startswith('for ') else ', '}{what}"
