"""Training runs end to end on tiny data (a few iterations), resumes, and exports loadable weights;
evaluation reproduces the published bicubic anchors when the benchmark images are given (RESTORE_BENCH_DATA)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from restore.errors import InputError
from restore.io import write_image
from restore.catalogue import read_metadata
from restore.weights import load_model

# the benchmark images, where the environment has them (CI points this at its data folder)
BENCH = Path(os.environ.get("RESTORE_BENCH_DATA") or "/nonexistent")

torch.set_num_threads(1)


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    from skimage import data as skdata

    d = tmp_path / "train"
    for i, name in enumerate(["astronaut", "coffee", "chelsea", "rocket"]):
        img = getattr(skdata, name)()[::3, ::3]
        write_image(d / f"{i}_{name}.png", np.ascontiguousarray(img))
    return d


def test_train_sr_exports_and_resumes(tiny_data, tmp_path) -> None:
    from restore.train import SRTrainConfig, train_sr

    cfg = SRTrainConfig(data=[str(tiny_data)], scales=[2, 4], base_ch=8, n_blocks=1, iters=4, batch=2, lr_patch=12,
                        val_images=1, val_every=2, out=str(tmp_path / "run"), name="t")
    paths = train_sr(cfg)
    assert [p.name for p in paths] == ["t-x2.safetensors", "t-x4.safetensors"]
    meta = read_metadata(paths[1])
    assert meta["scale"] == 4 and meta["training"]["iterations"] == 4
    net = load_model(paths[1], device="cpu")
    assert net(torch.rand(1, 3, 5, 6)).shape == (1, 3, 20, 24)
    cfg.iters = 6
    paths = train_sr(cfg, resume=True)
    assert read_metadata(paths[0])["training"]["iterations"] == 6


def test_train_sr_real_degradations_from_init(tiny_data, tmp_path) -> None:
    """Fine-tuning on the real-photo pipeline: starts from given weights (their architecture), validates on
    clean and on degraded held-back images, and records the pipeline's settings in the exported files."""
    from restore.train import SRTrainConfig, train_sr

    base = SRTrainConfig(data=[str(tiny_data)], scales=[2], base_ch=8, n_blocks=1, iters=2, batch=2, lr_patch=12,
                         val_images=1, val_every=2, out=str(tmp_path / "base"), name="b", precision="fp32")
    train_sr(base)
    cfg = SRTrainConfig(data=[str(tiny_data)], scales=[2], iters=2, batch=2, lr_patch=12, val_images=1, val_every=2,
                        out=str(tmp_path / "real"), name="r", degradation="real",
                        init=str(tmp_path / "base" / "b"))
    (p,) = train_sr(cfg)
    meta = read_metadata(p)
    assert meta["config"]["base_ch"] == 8  # the init's architecture, not the config's default 48
    t = meta["training"]
    assert t["degradation"]["pipeline"].endswith("degrade_real") and t["degradation"]["jpeg_quality"] == [30, 95]
    assert set(t["best_val_psnr_y"]) >= {"x2", "x2_real"}
    with pytest.raises(ValueError, match="degradation"):
        train_sr(SRTrainConfig(data=[str(tiny_data)], degradation="gan"))
    # a deeper body grown from the init (--blocks): starts as exactly the init, exports the new depth
    deep = SRTrainConfig(data=[str(tiny_data)], scales=[2], n_blocks=3, iters=0, val_images=1, val_every=1,
                         out=str(tmp_path / "deep"), name="d", init=str(tmp_path / "base" / "b"), precision="fp32")
    (q,) = train_sr(deep)
    assert read_metadata(q)["config"]["n_blocks"] == 3
    x = torch.rand(1, 3, 10, 12)
    with torch.no_grad():
        assert torch.equal(load_model(q, device="cpu")(x), load_model(tmp_path / "base" / "b-x2.safetensors",
                                                                      device="cpu")(x))
    with pytest.raises(InputError, match="deeper, not shallower"):
        train_sr(SRTrainConfig(data=[str(tiny_data)], scales=[2], n_blocks=0, iters=0, out=str(tmp_path / "x"),
                               init=str(tmp_path / "base" / "b")))


def test_train_sr_loss_is_used_and_recorded(tiny_data, tmp_path, monkeypatch) -> None:
    """--loss mse: the step's loss is the MSE (the same batch gives the same value as F.mse_loss on it), the
    exported file records it, and an unknown loss is refused before any work."""
    import torch.nn.functional as F

    from restore import train
    from restore.train import SRTrainConfig, train_sr

    used = []
    monkeypatch.setitem(train.SR_LOSSES, "mse", lambda a, b: used.append(1) or F.mse_loss(a, b))
    cfg = SRTrainConfig(data=[str(tiny_data)], scales=[2], base_ch=8, n_blocks=1, iters=3, batch=2, lr_patch=12,
                        val_images=1, val_every=3, out=str(tmp_path / "run"), name="m", loss="mse", precision="fp32")
    (p,) = train_sr(cfg)
    assert len(used) == 3 and read_metadata(p)["training"]["loss"] == "mse"
    with pytest.raises(InputError, match="unknown loss"):
        train_sr(SRTrainConfig(data=[str(tmp_path / "nowhere")], loss="huber"))


@pytest.mark.parametrize("structure", [0.0, 0.95])
def test_train_inpaint_exports(tiny_data, tmp_path, structure) -> None:
    from restore.train_inpaint import InpaintTrainConfig, train_inpaint

    cfg = InpaintTrainConfig(data=[str(tiny_data)], widths=[4, 8], n_bottleneck=1, refine=[1, 2], iters=3, batch=2,
                             patch=48, val_images=1, val_masks=1, val_every=3, out=str(tmp_path / "run"),
                             fill={"structure": structure})
    p = train_inpaint(cfg)
    net = load_model(p, device="cpu")
    assert net.task == "inpaint" and net.module.fill.structure == structure  # the pre-fill travels in the file
    x, holes = torch.rand(1, 3, 20, 24), torch.zeros(1, 1, 20, 24)
    holes[..., 5:12, 6:15] = 1
    assert net(x, holes).shape == (1, 3, 20, 24)
    # a trained file is evaluated beside the classical methods by path, before it is installed
    from restore.evaluate import eval_inpaint

    r = eval_inpaint(tiny_data, methods=("telea",), models=(str(p),), families=("box",), limit=1)
    assert set(r["results"]) == {"telea", str(p)}
    # a CNN row carries its own pre-fill's score, measured through the same crops, and the difference
    row = r["results"][str(p)]["box"]
    assert row["gain_over_prefill"] == pytest.approx(row["psnr_hole"] - row["prefill_psnr_hole"])
    assert "gain_over_prefill" not in r["results"]["telea"]["box"]
    training = read_metadata(p)["training"]
    # the pre-fill alone is measured on the same validation masks: the network's gain is on record
    assert set(training["prefill_val_hole_psnr"]) == set(cfg.families)
    assert set(training["val_gain_over_prefill"]) == set(cfg.families)
    assert "correction_rms" in training["best_val_hole_psnr"]
    # resuming continues the same run
    cfg.iters = 4
    assert read_metadata(train_inpaint(cfg, resume=True))["training"]["iterations"] == 4


def test_inpaint_batch_always_holds_holes_and_never_loops_forever(tiny_data) -> None:
    from restore.data import hole_crops, list_images
    from restore.io import read_rgb_u8

    images = [read_rgb_u8(p) for p in list_images([tiny_data])]
    fams3 = ["thin", "thick", "box"]
    x, m, fams = hole_crops(images, np.random.default_rng(0), batch=6, patch=64, families=fams3)
    assert x.shape == (6, 3, 64, 64) and m.shape == (6, 1, 64, 64)
    assert all(0 < float(mi.mean()) <= 0.6 for mi in m) and sorted(set(fams)) == ["box", "thick", "thin"]
    with pytest.raises(InputError, match="at least"):
        hole_crops(images, np.random.default_rng(0), batch=6, patch=4000, families=fams3)
    # masks that can never fit the filter: a clear error after a bounded number of tries, not a hang
    with pytest.raises(InputError, match="tries"):
        hole_crops([np.zeros((64, 64, 3), np.uint8)], np.random.default_rng(0), batch=6, patch=64,
                   families=["box"], max_tries=0)


def test_inpaint_loss_weighs_every_crop_by_its_relative_error() -> None:
    """Halving the error of a small thin hole lowers the loss as much as halving that of a large box."""
    from restore.train_inpaint import inpaint_loss

    x = torch.zeros(2, 3, 32, 32)
    m = torch.zeros(2, 1, 32, 32)
    m[0, :, 10:12, :] = 1  # a thin stroke
    m[1, :, 4:28, 4:28] = 1  # a box
    y = x + torch.tensor([0.05, 0.3])[:, None, None, None]
    base = float(inpaint_loss(y, x, m, eps=0))
    thin = y.clone()
    thin[0] *= 0.5
    box = y.clone()
    box[1] *= 0.5
    assert float(inpaint_loss(thin, x, m, eps=0)) == pytest.approx(float(inpaint_loss(box, x, m, eps=0)), rel=1e-5)
    assert float(inpaint_loss(thin, x, m, eps=0)) < base


def test_cli_train_and_eval(tiny_data, tmp_path, runner) -> None:
    from restore.cli import app

    r = runner.invoke(app, ["train", "sr", "--data", str(tiny_data), "--scales", "3", "--base-ch", "4",
                            "--blocks", "1", "--iters", "2", "--batch", "1", "--patch", "8", "--val-every", "2",
                            "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    w = tmp_path / "r" / "sr-x3.safetensors"
    assert w.exists()
    r = runner.invoke(app, ["eval", "sr", "--data", str(tiny_data), "--scale", "3", "--model", str(w), "--json"])
    assert r.exit_code == 0, r.output
    assert '"psnr_y"' in r.output
    r = runner.invoke(app, ["train", "sr", "--data", str(tiny_data), "--scales", "3", "--base-ch", "4",
                            "--blocks", "1", "--iters", "1", "--batch", "1", "--patch", "8", "--val-every", "1",
                            "--luma-residual", "--out", str(tmp_path / "l")])
    assert r.exit_code == 0, r.output
    assert read_metadata(tmp_path / "l" / "sr-x3.safetensors")["config"]["luma_residual"] is True
    r = runner.invoke(app, ["train", "sr", "--data", str(tiny_data), "--scales", "1", "--unshuffle", "2",
                            "--iters", "1", "--luma-residual", "--out", str(tmp_path / "l1")])
    assert r.exit_code == 2 and "luma residual" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["train", "sr", "--data", str(tiny_data), "--scales", "5"])
    assert r.exit_code == 2
    for bad in ("1.2", "0.8,x"):
        r = runner.invoke(app, ["train", "sr", "--data", str(tiny_data), "--rescale", bad])
        assert r.exit_code == 2 and "--rescale" in r.output
    r = runner.invoke(app, ["train", "inpaint", "--data", str(tiny_data), "--fill-structure", "2"])
    assert r.exit_code == 2 and "structure" in r.output


def test_eval_inpaint_side_by_side(tiny_data) -> None:
    from restore.evaluate import eval_inpaint

    from restore.api import inpaint
    from restore.evaluate import bench_images, inpaint_masks
    from restore.io import read_image

    r = eval_inpaint(tiny_data, methods=("telea", "ns"), families=("thin", "box"), limit=2)
    assert set(r["results"]) == {"telea", "ns"}
    assert all(set(fams) == {"thin", "box"} for fams in r["results"].values())
    # the protocol recomputed independently: the same seeded masks, the library call, PSNR over hole pixels —
    # and the whole-image PSNR follows from it, since the known pixels are exact (MSE scales by the hole share)
    images = [read_image(f)[:, :, :3] for f in bench_images(tiny_data)[:2]]
    for method in ("telea", "ns"):
        for fam in ("thin", "box"):
            hole, whole = [], []
            for i, f, m in inpaint_masks(images, ("thin", "box")):
                if f != fam:
                    continue
                out = inpaint(images[i], m, method=method).astype(np.float64) / 255
                ref = images[i].astype(np.float64) / 255
                mse = np.mean((out[m] - ref[m]) ** 2)
                hole.append(10 * np.log10(1 / mse))
                whole.append(hole[-1] - 10 * np.log10(m.mean()))
            v = r["results"][method][fam]
            assert v["psnr_hole"] == pytest.approx(np.mean(hole), abs=1e-6)
            assert v["psnr"] == pytest.approx(np.mean(whole), abs=1e-6)


def test_inpaint_masks_are_deterministic() -> None:
    from restore.evaluate import inpaint_masks

    imgs = [np.zeros((50, 60, 3), np.uint8)] * 2
    a, b = inpaint_masks(imgs, ["thin", "thick", "box"]), inpaint_masks(imgs, ["thin", "thick", "box"])
    assert all(np.array_equal(x[2], y[2]) for x, y in zip(a, b))
    assert all(m.any() for _, _, m in a)


@pytest.mark.skipif(not (BENCH / "Set5").is_dir(), reason="no benchmark images (RESTORE_BENCH_DATA unset)")
@pytest.mark.parametrize("scale, published", [(2, 33.66), (3, 30.39), (4, 28.42)])
def test_bicubic_reproduces_published_set5(scale: int, published: float) -> None:
    from restore.evaluate import eval_sr

    r = eval_sr(BENCH / "Set5", scale, method="bicubic-matlab")
    assert abs(r["psnr_y"] - published) <= 0.02


def test_eval_inpaint_on_tiny_images_is_one_line(tmp_path, runner) -> None:
    from restore.cli import app
    from restore.io import write_image

    write_image(tmp_path / "tiny.png", np.zeros((10, 10, 3), np.uint8))
    res = runner.invoke(app, ["eval", "inpaint", "--data", str(tmp_path), "-m", "telea"])
    assert res.exit_code == 1 and "too small" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("task", ["sr", "inpaint"])
def test_ddp_training_under_torchrun(tiny_data, tmp_path, task) -> None:
    """Two CPU processes (gloo) under torchrun train together; rank 0 alone validates and exports, with
    world_size in the metadata."""
    import shutil
    import subprocess
    import sys

    if shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists():
        pytest.skip("torchrun not installed")
    out = tmp_path / "run"
    common = ["--data", str(tiny_data), "--iters", "3", "--batch", "2", "--val-images", "1", "--val-every", "3",
              "--out", str(out), "--device", "cpu", "--precision", "fp32"]
    args = (["sr", "--scales", "2", "--base-ch", "8", "--blocks", "1", "--patch", "12", "--name", "d"] if task == "sr"
            else ["inpaint", "--widths", "8,16", "--patch", "48", "--refine", "1", "--name", "d"])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "restore", "train", *args, *common, "--threads", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    files = sorted(out.glob("d*.safetensors"))
    assert len(files) == 1
    assert read_metadata(files[0])["training"]["world_size"] == 2
    assert r.stdout.count("wrote ") == 1  # rank 0 only


def _ddp_step(rank: int, world: int, port: int, x, y, init, out) -> None:
    """One SGD step on this rank's half of the batch, through restore.distributed.World (gloo)."""
    import os

    from restore.models import SRNet
    from restore.distributed import World

    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    w = World()
    w.device("cpu")
    net = SRNet(base_ch=8, n_blocks=1, scale=2)
    net.load_state_dict(init)
    model = w.wrap(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    n = x.shape[0] // world
    loss = torch.nn.functional.l1_loss(model(x[rank * n:(rank + 1) * n]), y[rank * n:(rank + 1) * n])
    loss.backward()
    opt.step()
    if rank == 0:
        torch.save(net.state_dict(), out)
    w.close()


def test_ddp_step_with_two_ranks_equals_one_rank_with_the_whole_batch(tmp_path) -> None:
    """Gradients are averaged: 2 ranks × batch B take the same step as 1 process × batch 2B on the same samples."""
    import socket

    import torch.multiprocessing as mp

    from restore.models import SRNet

    torch.manual_seed(0)
    x, y = torch.rand(4, 3, 12, 12), torch.rand(4, 3, 24, 24)
    net = SRNet(base_ch=8, n_blocks=1, scale=2)
    init = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    torch.nn.functional.l1_loss(net(x), y).backward()
    opt.step()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "ddp.pt"
    mp.spawn(_ddp_step, args=(2, port, x, y, init, str(out)), nprocs=2, join=True)
    got = torch.load(out, weights_only=True)
    moved = False
    for k, v in net.state_dict().items():
        torch.testing.assert_close(got[k], v, atol=1e-6, rtol=1e-5)
        moved |= not torch.equal(v, init[k])
    assert moved  # the step did change the weights


def test_an_infinite_validation_score_does_not_freeze_the_choice_of_the_best(tmp_path) -> None:
    # a set whose outputs equal their targets scores inf; the other sets must still decide
    from restore.loop import fit

    net = torch.nn.Conv2d(1, 1, 1)
    scores = iter([{"clean": float("inf"), "jpeg": 30.0}, {"clean": float("inf"), "jpeg": 31.0},
                   {"clean": float("inf"), "jpeg": 30.5}])
    state = fit(net, lambda m, rng, step: m(torch.ones(1, 1, 2, 2)).square().mean(), iters=3, lr=1e-3, seed=0,
                out=tmp_path, val_every=1, validate=lambda: next(scores), device=torch.device("cpu"))
    assert state["best_val"]["step"] == 2 and state["best_val"]["jpeg"] == 31.0
