"""The degradation pipeline (training) and the named test degradations (evaluation)."""
from __future__ import annotations

import numpy as np
import pytest

from restore.degradations import (TEST_DEGRADATIONS, RealDegradation, blockiness, blur, degrade, degrade_real,
                                  degradation_forms, degradation_help, gaussian_kernel, gaussian_noise, jpeg, make_lr,
                                  parse_test_degradation)
from restore.errors import InputError


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data as skdata

    return np.ascontiguousarray(skdata.astronaut()[:192, :192])


def _hf_energy(img: np.ndarray) -> float:
    a = img.astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean())


def test_pipeline_is_deterministic_for_a_seed_and_varies_across_seeds(photo) -> None:
    a = degrade_real(photo, 4, np.random.default_rng(3))
    b = degrade_real(photo, 4, np.random.default_rng(3))
    assert a.shape == (48, 48, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    outs = {degrade_real(photo, 4, np.random.default_rng(s)).tobytes() for s in range(8)}
    assert len(outs) == 8


def test_pipeline_clean_share_is_the_published_downscale(photo) -> None:
    cfg = RealDegradation(clean_prob=1.0)
    np.testing.assert_array_equal(degrade_real(photo, 2, np.random.default_rng(0), cfg), degrade(photo, 2))
    with pytest.raises(InputError, match="multiple"):
        degrade_real(photo[:190], 4, np.random.default_rng(0))


def test_each_step_does_what_it_says(photo) -> None:
    x = photo.astype(np.float32)
    # blur lowers high-frequency energy, more for a larger sigma; an anisotropic kernel is not symmetric
    assert _hf_energy(blur(x, gaussian_kernel(2.0))) < _hf_energy(blur(x, gaussian_kernel(0.8))) < _hf_energy(x)
    k = gaussian_kernel(3.0, 0.5, 0.3)
    np.testing.assert_allclose(k.sum(), 1.0, rtol=1e-5)
    assert not np.allclose(k, k.T)
    # Gaussian noise has the requested sigma; grey noise is the same in every channel
    flat = np.full((256, 256, 3), 128, np.float32)
    n = gaussian_noise(flat, 7.0, np.random.default_rng(0)) - flat
    assert abs(n.std() - 7.0) < 0.1
    g = gaussian_noise(flat, 7.0, np.random.default_rng(0), gray=True) - flat
    np.testing.assert_array_equal(g[..., 0], g[..., 2])
    # JPEG raises blockiness at the 8-px block period
    small = np.ascontiguousarray(photo[::2, ::2]).astype(np.float32)
    assert blockiness(jpeg(small, 20), 8) > blockiness(small, 8) + 0.2


def test_settings_are_checked_and_round_trip() -> None:
    cfg = RealDegradation(jpeg_quality=(40, 90))
    assert RealDegradation.from_dict(cfg.to_dict()) == cfg
    for bad in ({"jpeg_prob": 1.5}, {"noise_sigma": (5, 1)}, {"kernels": ("lanczos",)}, {"jpeg_quality": (0, 50)}):
        with pytest.raises(InputError):
            RealDegradation(**bad)
    with pytest.raises(InputError, match="unknown"):
        RealDegradation.from_dict({"sharpen": 1})


@pytest.mark.parametrize("spec, kind, value", [("clean", "clean", 0), ("jpeg:50", "jpeg", 50), ("noise:5", "noise", 5),
                                               ("BLUR:1.6", "blur", 1.6)])
def test_parse_test_degradation(spec, kind, value) -> None:
    d = parse_test_degradation(spec)
    assert (d.kind, d.value) == (kind, value)


@pytest.mark.parametrize("spec", ["jpg:50", "jpeg", "jpeg:0", "jpeg:101", "jpeg:50.5", "noise:-1", "noise:x",
                                  "blur:0", "blur:nan", ""])
def test_bad_test_degradations_are_clear_errors(spec) -> None:
    with pytest.raises(InputError, match="degradation"):
        parse_test_degradation(spec)


def test_make_lr(photo) -> None:
    clean = make_lr(photo, 4, "clean")
    np.testing.assert_array_equal(clean, degrade(photo, 4))
    np.testing.assert_array_equal(make_lr(photo, 4, "noise:5", seed=1), make_lr(photo, 4, "noise:5", seed=1))
    assert not np.array_equal(make_lr(photo, 4, "noise:5", seed=1), make_lr(photo, 4, "noise:5", seed=2))
    assert _hf_energy(make_lr(photo, 4, "blur:1.6")) < _hf_energy(clean)
    assert not np.array_equal(make_lr(photo, 4, "jpeg:50"), clean)


#: a valid value per kind of the table (a new kind adds its own here)
KIND_VALUES = {"clean": None, "jpeg": 50, "noise": 5, "blur": 1.6}


@pytest.mark.parametrize("kind", list(TEST_DEGRADATIONS))
def test_every_test_degradation(kind, photo) -> None:
    """Every kind of the table parses, round-trips its name, is in the messages and the help, and degrades an
    image to a uint8 LR that depends on the seed alone."""
    assert kind in KIND_VALUES, f"add a valid value of {kind!r} to KIND_VALUES"
    entry, value = TEST_DEGRADATIONS[kind], KIND_VALUES[kind]
    spec = kind if value is None else f"{kind}:{value}"
    d = parse_test_degradation(spec.upper())
    assert d.kind == kind and parse_test_degradation(str(d)) == d
    assert str(d) == spec and kind in degradation_forms() and kind in degradation_help()
    if entry.value_name:  # a kind with a value refuses a bare name; one without refuses a value
        with pytest.raises(InputError, match="degradation"):
            parse_test_degradation(kind)
    else:
        with pytest.raises(InputError, match="degradation"):
            parse_test_degradation(f"{kind}:1")
    hr = np.ascontiguousarray(photo[:64, :64])
    lr = make_lr(hr, 4, d, seed=7)
    assert lr.shape == (16, 16, 3) and lr.dtype == np.uint8
    np.testing.assert_array_equal(lr, make_lr(hr, 4, spec, seed=7))
    np.testing.assert_array_equal(lr, entry.apply(hr, 4, d.value, 7))


def test_help_and_parsing_need_neither_numpy_nor_opencv() -> None:
    """The command line builds its help from the table while importing neither."""
    import subprocess
    import sys

    code = ("import sys; from restore.degradations import degradation_help, parse_test_degradation; "
            "assert degradation_help() and parse_test_degradation('jpeg:50'); "
            "bad = [m for m in ('numpy', 'cv2', 'torch') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_unknown_kind_is_refused() -> None:
    from restore.degradations import TestDegradation

    with pytest.raises(InputError, match="unknown degradation"):
        TestDegradation("sharpen", 1.0)


def test_eval_sr_degradation_and_cli_errors(tmp_path, runner) -> None:
    from restore.cli import app
    from restore.evaluate import eval_sr
    from restore.io import write_image
    from skimage import data as skdata

    write_image(tmp_path / "a.png", np.ascontiguousarray(skdata.astronaut()[:96, :96]))
    r = eval_sr(tmp_path, 4, method="bicubic-matlab", degradation="jpeg:30")
    assert r["degradation"] == "jpeg:30" and r["blockiness"] > 1.0
    res = runner.invoke(app, ["eval", "sr", "--data", str(tmp_path), "--degradation", "jpg:5"])
    assert res.exit_code == 2 and "degradation" in res.output
    write_image(tmp_path / "tiny.png", np.zeros((10, 10, 3), np.uint8))
    res = runner.invoke(app, ["eval", "sr", "--data", str(tmp_path), "-m", "bicubic-matlab"])
    assert res.exit_code == 1 and "too small" in res.output and "Traceback" not in res.output



def test_degradation_settings_from_the_command_line(tmp_path, runner) -> None:
    from restore.cli import app
    from restore.degradations import RealDegradation, parse_settings

    s = parse_settings("clean_prob=0.1, jpeg_quality=40:90")
    assert s == {"clean_prob": 0.1, "jpeg_quality": (40, 90)}
    assert RealDegradation.from_dict(s).jpeg_quality == (40, 90)
    for bad in ("nope=1", "clean_prob=2", "clean_prob", "jpeg_quality=90:40", "blur_sigma=a:b"):
        with pytest.raises(InputError):
            parse_settings(bad)
    r = runner.invoke(app, ["train", "sr", "--data", str(tmp_path), "--degradation", "real",
                            "--degradation-set", "nope=1", "--out", str(tmp_path / "run")])
    assert r.exit_code == 2 and "nope" in r.output and not (tmp_path / "run").exists()
