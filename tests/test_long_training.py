"""Long SR training: every registered SR architecture trains and tiles exactly; a run resumed across
processes records each segment and the whole lineage; the self-ensemble keeps exact tiling."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from restore.catalogue import read_metadata
from restore.io import write_image
from restore.models import ARCHITECTURES
from restore.weights import load_model

torch.set_num_threads(1)

SR_ARCHS = [name for name, cls in ARCHITECTURES.items() if getattr(cls, "task", None) == "sr"]


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    from skimage import data as skdata

    d = tmp_path / "train"
    for i, name in enumerate(["astronaut", "coffee", "chelsea", "rocket"]):
        write_image(d / f"{i}_{name}.png", np.ascontiguousarray(getattr(skdata, name)()[::3, ::3]))
    return d


def test_the_registry_has_an_sr_architecture() -> None:
    assert "srnet" in SR_ARCHS


@pytest.mark.parametrize("options", [{}, {"luma_residual": True}], ids=["rgb", "luma"])
@pytest.mark.parametrize("arch", SR_ARCHS)
def test_every_sr_architecture_trains_and_tiles_exactly(arch, options, tiny_data, tmp_path) -> None:
    """A few steps through `train_sr --arch`, then the exported file's tiled output equals its untiled output
    with the receptive radius it declares."""
    from restore.engine import upscale_array
    from restore.train import SRTrainConfig, train_sr

    cfg = SRTrainConfig(data=[str(tiny_data)], scales=[2], arch=arch, base_ch=8, n_blocks=1, iters=3, batch=2,
                        lr_patch=12, val_images=1, val_every=3, out=str(tmp_path / "run"), name="a", precision="fp32",
                        arch_options=options)
    (path,) = train_sr(cfg)
    meta = read_metadata(path)
    assert meta["training"]["trained_as"]["arch"] == arch and meta["training"]["iterations"] == 3
    assert meta["arch"] == getattr(ARCHITECTURES[arch], "export_arch", arch)
    assert meta["config"].get("luma_residual", False) == bool(options)
    x = np.random.default_rng(0).random((37, 29, 3), dtype=np.float32)
    whole = upscale_array(x, 2, str(path), tile=0, precision="fp32", device="cpu")
    tiled = upscale_array(x, 2, str(path), tile=10, precision="fp32", device="cpu")
    np.testing.assert_allclose(tiled, whole, atol=2e-6)


def test_unknown_architecture_and_option_are_refused(tiny_data, tmp_path) -> None:
    from restore.errors import InputError
    from restore.train import SRTrainConfig, train_sr

    with pytest.raises(InputError, match="unknown SR architecture"):
        train_sr(SRTrainConfig(data=[str(tiny_data)], arch="unet", out=str(tmp_path / "r")))
    with pytest.raises(InputError, match="takes no option"):
        train_sr(SRTrainConfig(data=[str(tiny_data)], arch="srnet", arch_options={"wings": 2}, out=str(tmp_path / "r")))


def test_lineage_records_every_stage_and_segment(tiny_data, tmp_path) -> None:
    """Stage 1 trains from scratch; stage 2 starts from its files and is resumed once: the exported file
    lists both stages, the second with its two segments, and the totals add up."""
    from restore.train import SRTrainConfig, train_sr

    common = dict(data=[str(tiny_data)], scales=[2, 4], base_ch=8, n_blocks=1, batch=2, lr_patch=12, val_images=1,
                  val_every=2, precision="fp32")
    train_sr(SRTrainConfig(**common, iters=2, out=str(tmp_path / "one"), name="s", command="stage one"))
    cfg = SRTrainConfig(**common, iters=2, out=str(tmp_path / "two"), name="t", init=str(tmp_path / "one" / "s"),
                        command="stage two")
    train_sr(cfg)
    cfg.iters = 4
    paths = train_sr(cfg, resume=True)
    tr = read_metadata(paths[1])["training"]
    one, two = tr["stages"]
    assert one["command"] == "stage one" and one["iterations"] == 2 and len(one["segments"]) == 1
    assert two["command"] == "stage two" and two["init"].endswith("s") and two["iterations"] == 4
    assert [(s["from_step"], s["to_step"]) for s in two["segments"]] == [(0, 2), (2, 4)]
    assert tr["total_iterations"] == 6
    assert tr["cpu_hours_total"] == pytest.approx(one["cpu_hours"] + two["cpu_hours"], abs=1e-3)
    assert two["wall_s"] == pytest.approx(sum(s["wall_s"] for s in two["segments"]), abs=0.2)


def test_distillation_from_itself_moves_nothing_and_is_recorded(tiny_data, tmp_path) -> None:
    """With the teacher's output as the whole target (weight 1) and the teacher the student's own starting
    weights, every step's loss is 0: the weights come out as they went in. With half the weight on the ground
    truth they move. The teacher is in the lineage; a conditioned or x1 run refuses one."""
    from restore.errors import InputError
    from restore.train import SRTrainConfig, train_sr

    common = dict(data=[str(tiny_data)], scales=[2], base_ch=8, n_blocks=1, batch=2, lr_patch=12, val_images=0,
                  precision="fp32")
    (start,) = train_sr(SRTrainConfig(**common, iters=2, out=str(tmp_path / "a"), name="s"))
    init = str(tmp_path / "a" / "s")
    (same,) = train_sr(SRTrainConfig(**common, iters=3, out=str(tmp_path / "b"), name="t", init=init, teacher=init,
                                     teacher_weight=1.0))
    (moved,) = train_sr(SRTrainConfig(**common, iters=3, out=str(tmp_path / "c"), name="u", init=init, teacher=init,
                                      teacher_weight=0.5))
    w0, w1, w2 = (load_model(str(p)).module.state_dict() for p in (start, same, moved))
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert not all(torch.equal(w0[k], w2[k]) for k in w0)
    tr = read_metadata(same)["training"]
    assert tr["teacher"] == {"models": [f"{init}-x2"], "weight": 1.0}
    with pytest.raises(InputError, match="teacher"):
        train_sr(SRTrainConfig(**common, iters=1, out=str(tmp_path / "d"), teacher=init, degradation="real"))


def test_scale_augmentation_adds_each_image_shrunk_and_is_recorded(tiny_data, tmp_path) -> None:
    """--rescale: every image is also an HR image shrunk by each factor (MATLAB bicubic), its LR made from
    that; the factors are in the lineage."""
    from restore.classical import imresize
    from restore.data import SRPairs, list_images, mod_crop
    from restore.degradations import degrade
    from restore.io import read_rgb_u8
    from restore.train import SRTrainConfig, train_sr

    paths = list_images([tiny_data])
    plain, aug = SRPairs.build(paths, [2]), SRPairs.build(paths, [2], [0.8, 0.5])
    assert len(aug.hr[2]) == 3 * len(plain.hr[2])
    img = read_rgb_u8(paths[0])
    small = aug.hr[2][2]  # the first image shrunk by 0.5
    want = mod_crop(np.clip(np.round(imresize(img.astype(np.float32), 0.5)), 0, 255).astype(np.uint8), 2)
    assert want.shape[0] < img.shape[0] * 0.6
    np.testing.assert_array_equal(small, want)
    np.testing.assert_array_equal(aug.lr[2][2], degrade(small, 2))
    (path,) = train_sr(SRTrainConfig(data=[str(tiny_data)], scales=[2], base_ch=8, n_blocks=1, iters=1, batch=2,
                                     lr_patch=12, val_images=0, precision="fp32", out=str(tmp_path / "r"),
                                     rescale=[0.8, 0.5]))
    assert read_metadata(path)["training"]["rescale"] == [0.8, 0.5]


def test_rgb_init_weights_train_on_as_a_luma_residual(tiny_data, tmp_path) -> None:
    """``--init`` RGB weights with ``--luma-residual``: the upsampler's colours are summed into one luma residual
    (restore.models.sr.luma_residual_state), so training starts from the same luma."""
    from restore.train import SRTrainConfig, train_sr

    common = dict(data=[str(tiny_data)], scales=[3], base_ch=8, n_blocks=1, batch=2, lr_patch=12, val_images=1,
                  precision="fp32")
    (rgb,) = train_sr(SRTrainConfig(**common, iters=2, val_every=2, out=str(tmp_path / "rgb"), name="a"))
    (luma,) = train_sr(SRTrainConfig(**common, iters=1, val_every=1, lr=1e-12, init=str(rgb.with_name("a")),
                                     arch_options={"luma_residual": True}, out=str(tmp_path / "luma"), name="b"))
    assert read_metadata(luma)["config"]["luma_residual"] is True
    x = torch.rand(1, 3, 11, 9)
    with torch.no_grad():
        a, b = load_model(rgb, device="cpu").module.float()(x), load_model(luma, device="cpu").module.float()(x)
    from restore.pixels import LUMA_WEIGHTS

    y = torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    torch.testing.assert_close((a * y).sum(1), (b * y).sum(1), atol=1e-4, rtol=0)


def test_init_files_trained_apart_do_not_train_on_together(tiny_data, tmp_path) -> None:
    """Scales train on one body; --init files whose bodies differ (each trained on alone) are refused rather
    than all given the body of the last one loaded."""
    import shutil

    from restore.errors import InputError
    from restore.train import SRTrainConfig, train_sr

    common = dict(data=[str(tiny_data)], base_ch=8, n_blocks=1, batch=2, lr_patch=12, val_images=0, iters=1,
                  precision="fp32")
    train_sr(SRTrainConfig(**common, scales=[2, 4], out=str(tmp_path / "a"), name="s"))
    (b4,) = train_sr(SRTrainConfig(**common, scales=[4], seed=1, out=str(tmp_path / "b"), name="s"))
    train_sr(SRTrainConfig(**common, scales=[2, 4], out=str(tmp_path / "ok"), init=str(tmp_path / "a" / "s")))
    shutil.copy(b4, tmp_path / "a" / "s-x4.safetensors")
    with pytest.raises(InputError, match="do not share one body"):
        train_sr(SRTrainConfig(**common, scales=[2, 4], out=str(tmp_path / "no"), init=str(tmp_path / "a" / "s")))
    train_sr(SRTrainConfig(**common, scales=[4], out=str(tmp_path / "alone"), init=str(tmp_path / "a" / "s")))


def test_prior_stage_from_a_file_without_stages() -> None:
    """Weights written before stages were recorded count as one stage, their cores read off the hardware."""
    from restore.lineage import prior_stages

    (st,) = prior_stages({"name": "old", "training": {"iterations": 5000, "wall_s": 3600.0,
                                                      "hardware": "2-core x86_64 CPU", "command": "restore train sr"}})
    assert st["iterations"] == 5000 and st["cpu_hours"] == pytest.approx(2.0)
    assert prior_stages({}) == []


def test_self_ensemble_tiles_exactly_and_differs_from_one_pass() -> None:
    from restore.engine import upscale_array
    from restore.models import SRNet

    torch.manual_seed(0)
    net = SRNet(base_ch=8, n_blocks=2, scale=3).eval()
    x = np.random.default_rng(1).random((31, 23, 3), dtype=np.float32)
    whole = upscale_array(x, 3, net, tile=0, precision="fp32", device="cpu", ensemble=True)
    tiled = upscale_array(x, 3, net, tile=12, precision="fp32", device="cpu", ensemble=True)
    np.testing.assert_allclose(tiled, whole, atol=2e-6)
    plain = upscale_array(x, 3, net, tile=0, precision="fp32", device="cpu")
    assert np.abs(whole - plain).max() > 1e-4


def test_self_ensemble_of_an_equivariant_map_is_itself() -> None:
    """Each output is turned back the right way: a map that commutes with flips and rotations is unchanged."""
    from restore.engine import SelfEnsemble

    up = lambda t: torch.nn.functional.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
    x = torch.rand(1, 3, 9, 7)
    torch.testing.assert_close(SelfEnsemble(up)(x), up(x))


def test_collapsible_blocks_fold_exactly_in_a_conditioned_x1_network() -> None:
    """A ×1 restoration net (unshuffled body, JPEG condition, block-grid bias) trained through collapsible
    blocks ships as the plain SRNet of its config, computing the same under every condition."""
    from restore.compression import condition_vector
    from restore.models import SRNet
    from restore.models.sr_rep import SRNetRep

    torch.manual_seed(0)
    kw = dict(base_ch=8, n_blocks=2, scale=1, unshuffle=2, cond_dim=len(condition_vector(None)), block_grid=16)
    rep = SRNetRep(expand=32, **kw)
    with torch.no_grad():
        for p in rep.parameters():
            p.add_(0.05 * torch.randn_like(p))
    rep.eval()
    plain = rep.export()
    assert type(plain) is SRNet and plain.multiple == 2 and plain.grid == 16
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in SRNet(**kw).parameters())
    x = torch.rand(1, 3, 21, 18)
    with torch.no_grad():
        for q in (None, 40.0):
            c = condition_vector(q)[None]
            torch.testing.assert_close(plain(x, c), rep(x, c), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_collapsible_blocks_fold_exactly_into_the_plain_network(padding_mode) -> None:
    """Training-time linear blocks (3×3 expand, 1×1 squeeze, identity) ship as the plain SRNet of the same
    config: same outputs, same parameter count and receptive radius as a plain SRNet."""
    from restore.models import SRNet
    from restore.models.sr_rep import SRNetRep

    torch.manual_seed(0)
    rep = SRNetRep(base_ch=8, n_blocks=2, scale=3, padding_mode=padding_mode, expand=32)
    with torch.no_grad():  # move every branch off its initial value
        for p in rep.parameters():
            p.add_(0.05 * torch.randn_like(p))
    rep.eval()
    plain = rep.export()
    ref = SRNet(base_ch=8, n_blocks=2, scale=3, padding_mode=padding_mode)
    assert type(plain) is SRNet
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in ref.parameters())
    assert plain.receptive_radius == rep.receptive_radius == ref.receptive_radius
    x = torch.rand(2, 3, 13, 11)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), rep(x), atol=1e-5, rtol=1e-5)
    assert sum(p.numel() for p in rep.parameters()) > 2 * sum(p.numel() for p in plain.parameters())


def test_checkpoints_are_safetensors_and_resume_exactly(tiny_data, tmp_path) -> None:
    """A run folder holds no pickle: the checkpoint is safetensors with the optimiser's tensors and the run state,
    the shared body stored once; loading it gives back what was saved."""
    from restore.checkpoint import load_checkpoint
    from restore.train import MultiScaleSR, SRTrainConfig, train_sr

    cfg = SRTrainConfig(data=[str(tiny_data)], scales=[2, 4], base_ch=8, n_blocks=1, iters=2, batch=2, lr_patch=12,
                        val_images=1, val_every=2, out=str(tmp_path / "run"), name="c", precision="fp32")
    train_sr(cfg)
    run = tmp_path / "run"
    assert not list(run.glob("*.pt")) and (run / "checkpoint.safetensors").exists()
    model, opt, state = load_checkpoint(run / "checkpoint.safetensors")
    assert state["step"] == 2 and opt["param_groups"] and opt["state"]
    net = MultiScaleSR([2, 4], base_ch=8, n_blocks=1)
    net.load_state_dict(model)  # every name, shared ones included
    assert torch.equal(model["nets.2.body.0.body.0.weight"], model["nets.4.body.0.body.0.weight"])


def test_status_line_in_a_log_reports_progress_and_eta(capsys) -> None:
    """Not a terminal: one line per interval (here every update) with done/total, rate and ETA, and always a line
    when the job completes."""
    from restore.cli.common import StatusLine

    line = StatusLine("step ", "steps", every=0.0)
    for done in range(1, 5):
        line.update(done, 4, "  loss 0.1")
    err = capsys.readouterr().err.splitlines()
    assert err and err[-1].startswith("step 4/4 (100.0 %)") and "steps/s  ETA 0h00m00s  loss 0.1" in err[-1]
    line = StatusLine("clip: frame ", "fps", every=3600.0)
    line.update(1)
    line.update(2)
    assert capsys.readouterr().err == ""  # within the interval, and no total to complete


def _ema_run(tmp_path, iters: int, resume: bool = False, trail: list | None = None) -> dict:
    from restore.loop import fit

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    x = torch.randn(8, 3)

    def step_loss(model, rng, step):
        return (model(x) - float(rng.random())).square().mean()

    def keep(step, loss):
        if trail is not None:
            trail.append({k: v.detach().clone() for k, v in net.state_dict().items()})

    if trail is not None:
        trail.append({k: v.detach().clone() for k, v in net.state_dict().items()})
    fit(net, step_loss, iters=iters, lr=0.05, seed=1, warmup=1, out=tmp_path, resume=resume, val_every=2,
        validate=lambda: {"score": 0.0}, on_step=keep, ema=0.5)
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_a_moving_average_of_the_weights_is_what_is_validated_kept_and_resumed(tmp_path) -> None:
    """``fit(ema=d)``: the weights validated and kept are d·average + (1 − d)·weights after every step, from the
    starting weights; the average is in the checkpoint, so a run resumed from it continues the same average."""
    trail: list = []
    kept = _ema_run(tmp_path / "a", 2, trail=trail)  # one validation, at step 2: the first is the best
    avg = {k: v.clone() for k, v in trail[0].items()}
    for live in trail[1:]:
        avg = {k: 0.5 * avg[k] + 0.5 * live[k] for k in avg}
    for k in avg:
        torch.testing.assert_close(kept[k], avg[k])
        assert not torch.equal(kept[k], trail[-1][k])  # not the live weights
    # resumed from a checkpoint, the average continues from the one it holds (not from the resumed weights)
    from restore.checkpoint import load_checkpoint
    from restore.loop import EMA_PREFIX

    _ema_run(tmp_path / "c", 2)
    saved = {k[len(EMA_PREFIX):]: v for k, v in load_checkpoint(tmp_path / "c" / "checkpoint.safetensors")[0].items()
             if k.startswith(EMA_PREFIX)}
    assert set(saved) == {"weight", "bias"}
    trail = []
    _ema_run(tmp_path / "c", 4, resume=True, trail=trail)
    for live in trail[1:]:  # trail[0]: the weights built before the checkpoint was loaded
        saved = {k: 0.5 * saved[k] + 0.5 * live[k] for k in saved}
    now = load_checkpoint(tmp_path / "c" / "checkpoint.safetensors")[0]
    for k in saved:
        torch.testing.assert_close(now[EMA_PREFIX + k], saved[k])
