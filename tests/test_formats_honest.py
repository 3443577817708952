"""Formats stay honest: a lossless input is written losslessly, inpainting never silently re-encodes the pixels
outside the mask lossily, ICC profiles travel only with pixels of their colour space, and an output format that
cannot be written is refused before any work."""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from conftest import make_image
from restore.cli import app
from restore.io import ImageMeta, decode_image, encode_image, is_lossy, read_image, read_image_with_meta, write_image
from restore.sniff import icc_colour_space


def _noisy(h: int = 48, w: int = 64) -> np.ndarray:
    return (np.random.default_rng(0).random((h, w, 3)) * 255).astype(np.uint8)  # lossy codecs change it a lot


def _mask(tmp_path, h: int = 48, w: int = 64):
    m = np.zeros((h, w), np.uint8)
    m[20:28, 30:40] = 255
    write_image(tmp_path / "m.png", m)
    return m > 127


# --------------------------------------------------------------------------- lossless stays lossless


def test_webp_of_a_lossless_source_is_lossless_and_of_a_lossy_one_is_not():
    a = _noisy()
    lossless, meta = decode_image(encode_image(a, "webp", meta=ImageMeta("png", 8)))
    assert not meta.lossy and np.array_equal(lossless, a)
    again, meta2 = decode_image(encode_image(lossless, "webp", meta=meta))
    assert not meta2.lossy and np.array_equal(again, a)
    lossy_meta = ImageMeta("webp", 8, lossy=True)
    assert decode_image(encode_image(a, "webp", meta=lossy_meta))[1].lossy
    assert decode_image(encode_image(a, "jpeg"))[1].lossy


def test_inpainting_a_lossless_webp_keeps_it_lossless_and_the_outside_exact(tmp_path, runner):
    from PIL import Image

    a = _noisy()
    Image.fromarray(a).save(tmp_path / "photo.webp", lossless=True)
    holes = _mask(tmp_path)
    r = runner.invoke(app, ["inpaint", str(tmp_path / "photo.webp"), "--mask", str(tmp_path / "m.png"),
                            "--method", "telea"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "photo_inpainted.webp"
    assert not is_lossy(out)
    assert np.array_equal(read_image(out)[~holes], a[~holes])
    assert "warning" not in r.stderr


def test_upscaling_a_lossless_webp_writes_a_lossless_webp(tmp_path, runner):
    from PIL import Image

    a = _noisy(16, 20)
    Image.fromarray(a).save(tmp_path / "photo.webp", lossless=True)
    r = runner.invoke(app, ["upscale", str(tmp_path / "photo.webp"), "-o", str(tmp_path / "up.webp"),
                            "--method", "nearest", "--scale", "2"])
    assert r.exit_code == 0, r.output
    assert not is_lossy(tmp_path / "up.webp")
    assert np.array_equal(read_image(tmp_path / "up.webp")[::2, ::2], a)


def test_inpainting_a_jpeg_writes_png_by_default_so_the_outside_is_unchanged(tmp_path, runner):
    write_image(tmp_path / "photo.jpg", _noisy(), quality=80)
    decoded = read_image(tmp_path / "photo.jpg")
    holes = _mask(tmp_path)
    r = runner.invoke(app, ["inpaint", str(tmp_path / "photo.jpg"), "--mask", str(tmp_path / "m.png"),
                            "--method", "telea"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "photo_inpainted.png"
    assert out.exists() and not (tmp_path / "photo_inpainted.jpg").exists()
    assert np.array_equal(read_image(out)[~holes], decoded[~holes])
    assert "written as PNG" in r.stderr


def test_a_folder_of_mixed_inputs_plans_png_for_the_lossy_ones(tmp_path, runner):
    src = tmp_path / "in"
    write_image(src / "a.jpg", _noisy())
    write_image(src / "b.png", _noisy())
    write_image(src / "c.tif", _noisy())
    _mask(src.parent)
    r = runner.invoke(app, ["inpaint", str(src), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "out"),
                            "--method", "telea"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == \
        ["a.png", "b.png", "c.tif"]


def test_a_lossy_output_asked_for_is_written_with_one_warning(tmp_path, runner):
    write_image(tmp_path / "photo.png", _noisy())
    _mask(tmp_path)
    r = runner.invoke(app, ["inpaint", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "m.png"),
                            "--method", "telea", "-o", str(tmp_path / "out.jpg")])
    assert r.exit_code == 0, r.output
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "outside the mask change" in warnings[0]
    assert is_lossy(tmp_path / "out.jpg")


# --------------------------------------------------------------------------- the output format, checked first


@pytest.mark.parametrize("cmd", ["upscale", "inpaint"])
def test_an_unwritable_output_format_is_refused_before_any_work(tmp_path, runner, monkeypatch, cmd):
    import restore

    def never(*_a, **_k):
        raise AssertionError("computed before the output format was checked")

    monkeypatch.setattr(restore, "upscale", never)
    monkeypatch.setattr(restore, "inpaint", never)
    write_image(tmp_path / "a.png", make_image((12, 16, 3)))
    _mask(tmp_path, 12, 16)
    extra = ["--method", "bicubic"] if cmd == "upscale" else ["--mask", str(tmp_path / "m.png"), "--method", "telea"]
    r = runner.invoke(app, [cmd, str(tmp_path / "a.png"), "-o", str(tmp_path / "out.gif"), *extra])
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and ".gif" in r.stderr
    assert not (tmp_path / "out.gif").exists()


@pytest.mark.parametrize("cmd", ["upscale", "inpaint"])
def test_an_output_name_and_a_format_that_disagree_are_one_usage_error(tmp_path, runner, cmd):
    write_image(tmp_path / "a.png", make_image((12, 16, 3)))
    _mask(tmp_path, 12, 16)
    extra = ["--method", "bicubic"] if cmd == "upscale" else ["--mask", str(tmp_path / "m.png"), "--method", "telea"]
    r = runner.invoke(app, [cmd, str(tmp_path / "a.png"), "-o", str(tmp_path / "x.jpg"), "--format", "webp", *extra])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "--format is webp" in r.stderr, r.output
    assert not (tmp_path / "x.jpg").exists()
    r = runner.invoke(app, [cmd, str(tmp_path / "a.png"), "-o", str(tmp_path / "x.jpeg"), "--format", "jpg", *extra])
    assert r.exit_code == 0, r.output  # the same format, spelt two ways


# --------------------------------------------------------------------------- colour profiles


def _s15(x: float) -> bytes:
    return struct.pack(">i", int(round(x * 65536)))


def cmyk_profile(usable: bool = True) -> bytes:
    """A small CMYK ICC v2 profile (LittleCMS cannot create one): one lut8 A2B0 from CMYK to Lab on a 2-point grid
    with naive corners (C, M, Y, K → RGB (1-C)(1-K), ... → Lab). ``usable=False``: the header and a description
    only, a profile no colour engine can convert with."""
    import cv2

    corners = [[(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)]
               for c in (0, 1) for m in (0, 1) for y in (0, 1) for k in (0, 1)]
    lab = cv2.cvtColor((np.array(corners, np.float32)[None] * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2Lab)[0]
    ramp = bytes(range(256))
    lut = (b"mft1" + bytes(4) + bytes([4, 3, 2, 0]) + b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
           + ramp * 4 + lab.tobytes() + ramp * 3)
    text = b"test CMYK\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(8 + 3 + 67)
    wtpt = b"XYZ " + bytes(4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    tags = [(b"desc", desc), (b"wtpt", wtpt)] + ([(b"A2B0", lut)] if usable else [])
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        body += bytes(-(offset + len(body)) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (struct.pack(">I", offset + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"prtr" + b"CMYK"
              + b"Lab " + bytes(12) + b"acsp" + bytes(16 + 8 + 4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
              + bytes(4 + 16 + 28))
    assert len(header) == 128
    return header + table + body


def _cmyk_jpeg(icc: bytes) -> bytes:
    from PIL import Image

    im = Image.new("CMYK", (8, 4), (0, 0, 0, 0))
    im.paste((255, 0, 0, 0), (0, 0, 4, 4))  # left half: pure cyan ink
    buf = io.BytesIO()
    im.save(buf, "JPEG", icc_profile=icc, quality=95)
    return buf.getvalue()


def test_a_cmyk_jpeg_is_converted_through_its_profile_and_loses_it():
    from PIL import Image, ImageCms

    icc = cmyk_profile()
    assert icc_colour_space(icc) == "CMYK"
    arr, meta = decode_image(_cmyk_jpeg(icc))
    assert arr.shape == (4, 8, 3) and meta.icc_profile is None
    with Image.open(io.BytesIO(_cmyk_jpeg(icc))) as im:
        want = np.asarray(ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                                    ImageCms.createProfile("sRGB"), outputMode="RGB"))
    assert np.array_equal(arr, want)  # the profile's conversion, not the decoder's naive one
    assert want[1, 1, 0] > 30  # (this profile's cyan has red in it; the naive conversion gives about 0)


@pytest.mark.parametrize("usable", [True, False])
@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_no_cmyk_profile_is_written_with_rgb_pixels(tmp_path, runner, usable, ext):
    from PIL import Image

    (tmp_path / "print.jpg").write_bytes(_cmyk_jpeg(cmyk_profile(usable)))
    r = runner.invoke(app, ["upscale", str(tmp_path / "print.jpg"), "-o", str(tmp_path / f"out{ext}"),
                            "--method", "bicubic", "--scale", "2"])
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / f"out{ext}") as im:
        assert im.mode in ("RGB", "RGBA") and icc_colour_space(im.info.get("icc_profile")) in (None, "RGB")


def test_profiles_of_another_colour_space_are_never_attached():
    from PIL import Image, ImageCms

    rgb_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    gray_icc = bytearray(rgb_icc)
    gray_icc[16:20] = b"GRAY"  # the header is all that decides here
    cases = [(make_image((6, 5, 3)), bytes(gray_icc), "RGB"), (make_image((6, 5)), rgb_icc, "GRAY"),
             (make_image((6, 5, 3)), rgb_icc, "RGB"), (make_image((6, 5)), bytes(gray_icc), "GRAY"),
             (make_image((6, 5, 3)), cmyk_profile(), "RGB")]
    for pixels, icc, stored_as in cases:
        for fmt in ("png", "jpeg", "webp", "tiff"):
            space = "RGB" if fmt == "webp" else stored_as  # WebP stores colour only, gray images too
            data = encode_image(pixels, fmt, meta=ImageMeta(fmt, 8, icc_profile=icc))
            with Image.open(io.BytesIO(data)) as im:
                written = im.info.get("icc_profile")
            assert written == (icc if icc_colour_space(icc) == space else None), (fmt, pixels.shape)
    # gray + alpha written as RGBA (WebP) drops a gray profile; as gray + alpha (PNG) keeps it
    ga = np.dstack([make_image((6, 5)), np.full((6, 5), 255, np.uint8)])
    assert decode_image(encode_image(ga, "png", meta=ImageMeta("png", 8, icc_profile=bytes(gray_icc))))[1].icc_profile
    with Image.open(io.BytesIO(encode_image(ga, "webp", meta=ImageMeta("png", 8, icc_profile=bytes(gray_icc))))) as im:
        assert im.info.get("icc_profile") is None


def test_reading_keeps_a_matching_profile(tmp_path):
    from PIL import ImageCms

    rgb_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    write_image(tmp_path / "a.png", make_image((6, 5, 3)), meta=ImageMeta("png", 8, icc_profile=rgb_icc))
    assert read_image_with_meta(tmp_path / "a.png")[1].icc_profile == rgb_icc
