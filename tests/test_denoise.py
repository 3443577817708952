"""`restore denoise` (×1 restoration of files and folders) and what a file states about its compression reaching
the models: each file's JPEG quality read from its tables, `--jpeg-quality` over it, for upscale too; the CLI, the
library and the web server computing the same pixels. Tiny models, tiny images."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import conditioned_model, make_image
import restore
from restore import catalogue
from restore.cli import app
from restore.compression import jpeg_luma_table
from restore.io import read_image

X1 = {"scale": 1, "unshuffle": 4, "cond_dim": 6, "base_ch": 8, "n_blocks": 1}


@pytest.fixture(scope="module")
def x1_model(tmp_path_factory) -> Path:
    return conditioned_model(tmp_path_factory.mktemp("models") / "dn-test.safetensors", "dn-test", X1)


@pytest.fixture
def photos(tmp_path) -> Path:
    """A folder with a JPEG written at quality 40 and a PNG."""
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(make_image((20, 26, 3), seed=1)).save(d / "a.jpg", quality=40)
    Image.fromarray(make_image((18, 22, 3), seed=2)).save(d / "b.png")
    return d


def _ok(r, code: int = 0):
    assert "Traceback" not in r.output, r.output
    assert r.exit_code == code, r.output
    return r


def _requests(folder: Path) -> dict[str, dict]:
    """The last recorded request of each output of a folder's manifest."""
    out = {}
    for line in (folder / ".restore-manifest.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if not rec.get("pending"):
            out[rec["file"]] = rec["request"]
    return out


def _denoise(runner, *args: str, code: int = 0):
    return _ok(runner.invoke(app, ["denoise", *args, "--device", "cpu", "--precision", "fp32"]), code)


def test_a_folder_is_restored_as_the_library_does_it_with_each_file_s_stated_quality(photos, x1_model, runner):
    out = photos.parent / "out"
    r = _denoise(runner, str(photos), "-o", str(out), "--model", str(x1_model))
    assert "denoised 2" in r.output and "written as PNG" in r.output
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["a.png", "b.png"]  # no JPEG again
    jpg, png = read_image(photos / "a.jpg"), read_image(photos / "b.png")
    np.testing.assert_array_equal(read_image(out / "a.png"), restore.denoise(  # told the file's tables
        jpg, 1.0, jpeg_tables=jpeg_luma_table(photos / "a.jpg"), model=str(x1_model), device="cpu", precision="fp32"))
    np.testing.assert_array_equal(read_image(out / "b.png"), restore.denoise(
        png, 1.0, jpeg_quality=None, model=str(x1_model), device="cpu", precision="fp32"))
    assert not np.array_equal(read_image(out / "a.png"), jpg)  # it did something
    req = _requests(out)
    assert req["a.png"]["jpeg_quality"] == 40 and req["b.png"]["jpeg_quality"] is None
    assert req["a.png"]["strength"] == 1.0 and req["a.png"]["op"] == "denoise" and req["a.png"]["weights_sha256"]


def test_strength_0_writes_the_input_pixels_exactly(photos, x1_model, runner):
    out = photos.parent / "out"
    _denoise(runner, str(photos), "-o", str(out), "--model", str(x1_model), "--strength", "0")
    np.testing.assert_array_equal(read_image(out / "a.png"), read_image(photos / "a.jpg"))
    np.testing.assert_array_equal(read_image(out / "b.png"), read_image(photos / "b.png"))


@pytest.mark.parametrize("bad", ["2", "-0.1", "nan", "x"])
def test_a_bad_strength_is_one_usage_line(photos, x1_model, runner, bad):
    r = _denoise(runner, str(photos), "-o", str(photos.parent / "out"), "--model", str(x1_model), "--strength", bad,
                 code=2)
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "strength" in lines[0], r.output
    assert not (photos.parent / "out").exists()


@pytest.mark.parametrize("args, needle", [
    (["--model", "sr-x2"], "not a ×1 restoration model"),
    (["--model", "nosuch"], "unknown model"),
    (["--jpeg-quality", "0"], "jpeg-quality"),
])
def test_a_wrong_model_or_quality_is_one_usage_line(photos, x1_model, runner, args, needle):
    r = _denoise(runner, str(photos), "-o", str(photos.parent / "out"), *args, code=2)
    assert needle in r.output and r.output.count("error:") == 1, r.output


def test_upscale_refuses_a_x1_model_in_one_usage_line(photos, x1_model, runner, monkeypatch):
    shipped = catalogue._shipped()
    monkeypatch.setattr(catalogue, "_shipped", lambda: (*shipped, (x1_model, catalogue.read_metadata(x1_model))))
    assert "dn-test" not in catalogue.upscale_methods()  # a x1 model is restore.denoise's, not an upscaler
    r = _ok(runner.invoke(app, ["upscale", str(photos), "-o", str(photos.parent / "out"), "--model", str(x1_model)]),
            2)
    assert "restores at ×1" in r.output and r.output.count("error:") == 1, r.output
    assert not (photos.parent / "out").exists()


def test_a_corrupt_file_fails_alone_and_a_re_run_skips_what_is_done(photos, x1_model, runner):
    (photos / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG after all")
    out = photos.parent / "out"
    r = _denoise(runner, str(photos), "-o", str(out), "--model", str(x1_model), code=1)
    assert "c.jpg" in r.output and "denoised 2" in r.output and "failed 1" in r.output
    assert (out / "a.png").exists() and (out / "b.png").exists() and not (out / "c.png").exists()
    before = (out / "a.png").stat().st_mtime_ns
    r = _denoise(runner, str(photos), "-o", str(out), "--model", str(x1_model), code=1)
    assert "skipped 2" in r.output and "failed 1" in r.output
    assert (out / "a.png").stat().st_mtime_ns == before
    # another strength is another request: redone
    r = _denoise(runner, str(photos), "-o", str(out), "--model", str(x1_model), "--strength", "0.5", code=1)
    assert "denoised 2" in r.output and _requests(out)["a.png"]["strength"] == 0.5


def test_into_the_input_folder_outputs_get_a_suffix_and_are_not_taken_as_inputs(photos, x1_model, runner):
    _denoise(runner, str(photos), "-o", str(photos), "--model", str(x1_model))
    assert (photos / "a_denoised.png").exists() and (photos / "b_denoised.png").exists()
    r = _denoise(runner, str(photos), "-o", str(photos), "--model", str(x1_model))
    assert "skipped 2" in r.output and "denoised 0" in r.output
    assert not (photos / "a_denoised_denoised.png").exists()


def test_jpeg_quality_override_reaches_the_model(photos, x1_model, runner):
    outs = {}
    for q in ("10", "90"):
        out = photos.parent / f"out{q}"
        _denoise(runner, str(photos / "b.png"), "-o", str(out), "--model", str(x1_model), "--jpeg-quality", q)
        outs[q] = read_image(out / "b.png")
        assert _requests(out)["b.png"]["jpeg_quality"] == int(q)
    assert not np.array_equal(outs["10"], outs["90"])
    png = read_image(photos / "b.png")
    np.testing.assert_array_equal(outs["10"], restore.denoise(png, jpeg_quality=10, model=str(x1_model),
                                                               device="cpu", precision="fp32"))
    # a format asked for is written (-f jpg re-encodes; the lossless PNG input stays a PNG by default)
    _denoise(runner, str(photos / "a.jpg"), "-o", str(photos.parent / "j"), "--model", str(x1_model), "-f", "jpg")
    assert (photos.parent / "j" / "a.jpg").exists()


def test_upscale_tells_each_file_s_quality_and_the_override(photos, runner, monkeypatch):
    seen: dict[tuple, float | None] = {}
    real = restore.api.upscale

    def spy(image, scale=4, **kw):
        seen[image.shape] = kw.get("jpeg_quality")
        return real(image, scale, **kw)

    monkeypatch.setattr(restore.api, "upscale", spy)
    base = ["upscale", str(photos), "-s", "2", "-m", "bicubic"]
    _ok(runner.invoke(app, [*base, "-o", str(photos.parent / "o1")]))
    assert seen == {(20, 26, 3): 40.0, (18, 22, 3): None}
    seen.clear()
    r = _ok(runner.invoke(app, [*base, "-o", str(photos.parent / "o2"), "--jpeg-quality", "25"]))
    assert seen == {(20, 26, 3): 25, (18, 22, 3): 25}
    assert "no effect" in r.output  # bicubic is not told it
    r = _ok(runner.invoke(app, [*base, "-o", str(photos.parent / "o2"), "--jpeg-quality", "101"]), 2)
    assert "jpeg-quality" in r.output


def test_upscale_with_a_quantisation_aware_model_records_and_uses_the_quality(photos, runner, tmp_path):
    model = conditioned_model(tmp_path / "q2.safetensors", "q2-test", {"scale": 2, "cond_dim": 6, "base_ch": 4,
                                                                  "n_blocks": 1}, seed=3)
    out = tmp_path / "o"
    base = ["upscale", str(photos / "a.jpg"), "-o", str(out), "--model", str(model), "--device", "cpu",
            "--precision", "fp32", "-f", "png"]
    _ok(runner.invoke(app, base))
    stated = read_image(out / "a.png")
    assert _requests(out)["a.png"]["jpeg_quality"] == 40
    jpg = read_image(photos / "a.jpg")
    np.testing.assert_array_equal(stated, restore.upscale(jpg, 2, model=str(model), device="cpu", precision="fp32",
                                                          jpeg_quality=40))
    r = _ok(runner.invoke(app, [*base, "--jpeg-quality", "90"]))  # another request: redone
    assert "upscaled 1" in r.output and _requests(out)["a.png"]["jpeg_quality"] == 90
    assert not np.array_equal(read_image(out / "a.png"), stated)


@pytest.mark.parametrize("per_kind", [False, True], ids=["one-model", "a-model-for-jpeg-files"])
def test_the_cli_the_library_and_the_server_give_the_same_pixels(photos, x1_model, runner, monkeypatch, per_kind):
    pytest.importorskip("fastapi")
    pytest.importorskip("python_multipart")
    from fastapi.testclient import TestClient

    from restore.io import decode_image
    from restore.server import ServeConfig, create_app

    shipped = tuple((p, m) for p, m in catalogue._shipped() if m.get("scale") != 1)
    # the tiny model as the shipped default ×1 model, in the shipped one's place (the server takes names only),
    # and a second one made for JPEG files
    mine = [(x1_model, catalogue.read_metadata(x1_model))]
    if per_kind:
        jpg = conditioned_model(photos.parent / "dn-jpeg.safetensors", "dn-jpeg", {**X1, "block_grid": 16}, seed=5)
        mine.append((jpg, {**catalogue.read_metadata(jpg), "inputs": "jpeg"}))
    monkeypatch.setattr(catalogue, "_shipped", lambda: (*shipped, *mine))
    want = {"a.jpg": "dn-jpeg" if per_kind else "dn-test", "b.png": "dn-test"}
    assert catalogue.default_model("sr", 1) == "dn-test"
    assert catalogue.default_model("sr", 1, jpeg=True) == want["a.jpg"]
    out = photos.parent / "out"
    _denoise(runner, str(photos), "-o", str(out), "--strength", "0.5")  # the default model: the shipped one
    assert {f: r["model"] for f, r in _requests(out).items()} == {"a.png": want["a.jpg"], "b.png": "dn-test"}
    api = TestClient(create_app(ServeConfig(device="cpu", precision="fp32")), base_url="http://127.0.0.1:8000",
                     raise_server_exceptions=False)
    for name, q in (("a.jpg", 40), ("b.png", None)):
        data = (photos / name).read_bytes()
        r = api.post("/api/denoise", files={"image": (name, data)}, data={"strength": "0.5"})
        assert r.status_code == 200, r.text
        assert r.headers["X-Restore-Jpeg-Quality"] == ("none" if q is None else str(q))
        assert r.headers["X-Restore-Model"].startswith(want[name] + " ")
        assert r.headers["Content-Disposition"].endswith(f'{Path(name).stem}_denoised.png"')
        served = decode_image(r.content)[0]
        library = restore.denoise(read_image(photos / name), 0.5, jpeg_tables=jpeg_luma_table(photos / name),
                                  device="cpu", precision="fp32")
        np.testing.assert_array_equal(served, library)
        np.testing.assert_array_equal(read_image(out / f"{Path(name).stem}.png"), library)
    data = (photos / "a.jpg").read_bytes()
    for form, needle in (({"strength": "1.5"}, "strength"), ({"strength": "soft"}, "strength"),
                         ({"model": "sr-x2"}, "unknown model")):
        r = api.post("/api/denoise", files={"image": ("a.jpg", data)}, data=form)
        assert r.status_code == 400 and needle in r.json()["error"], r.text


@pytest.mark.parametrize("deg", ["jpeg:40", "clean"])
def test_eval_denoise_scores_the_restoration_against_the_original(tmp_path, x1_model, runner, deg):
    data = tmp_path / "set"
    data.mkdir()
    for i in range(2):
        Image.fromarray(make_image((24, 32, 3), seed=10 + i)).save(data / f"{i}.png")
    r = _ok(runner.invoke(app, ["eval", "denoise", "--data", str(data), "--model", str(x1_model), "--degradation",
                                deg, "--device", "cpu", "--json"]))
    res = json.loads(r.output)
    assert res["images"] == 2 and res["degradation"] == deg and np.isfinite(res["psnr"])
    if deg == "clean":  # the input is the original: no gain to take, the PSNR says how much it was changed
        assert res["gain"] is None and res["psnr_input"] == float("inf")
    else:
        assert res["gain"] == pytest.approx(res["psnr"] - res["psnr_input"])
    _ok(runner.invoke(app, ["eval", "denoise", "--data", str(data), "--model", str(x1_model), "--degradation", deg,
                            "--device", "cpu"]))
