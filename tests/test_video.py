"""Video input (restore.video): timestamps, audio, rotation, colour, odd sizes, atomic output, errors, and the
temporal inpainting of a fixed hole. Every clip is generated here with PyAV: a few small frames each."""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

av = pytest.importorskip("av")

import restore  # noqa: E402
from restore.errors import ImageReadError, ImageWriteError, InputError  # noqa: E402
from restore.video import (  # noqa: E402
    TemporalFiller,
    VideoReader,
    VideoWriter,
    inpaint_video,
    looks_like_video,
    probe,
    read_frames,
    run_video,
    sniff_video,
    upscale_video,
)

VFR_PTS = [0, 40, 80, 200, 240, 300, 520, 560]  # milliseconds: variable frame rate


def write_clip(path: Path, frames: list[np.ndarray], *, pts: list[int] | None = None, time_base=Fraction(1, 1000),
               codec: str = "libx264", pix_fmt: str = "yuv420p", matrix: str | None = None, tag: int | None = None,
               audio: bool = False, rotation: int = 0, options: dict | None = None) -> Path:
    """A clip written with PyAV directly (independent of restore.video): ``matrix`` converts RGB → YUV with
    that swscale matrix (default BT.601, swscale's), ``tag`` writes the colorspace tag (None = untagged)."""
    from av.video.reformatter import ColorRange

    pts = pts if pts is not None else [i * 40 for i in range(len(frames))]
    h, w = frames[0].shape[:2]
    out = av.open(str(path), "w")
    vs = out.add_stream(codec, rate=25)
    vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
    vs.time_base = vs.codec_context.time_base = time_base
    vs.options = options or {}
    if tag is not None:
        vs.codec_context.colorspace = tag
        vs.codec_context.color_range = 1
        vs.codec_context.color_primaries = vs.codec_context.color_trc = tag if tag == 1 else 6
    if rotation:
        vs.set_display_rotation(rotation)
    a_s = out.add_stream("aac", rate=48000) if audio else None
    for f, p in zip(frames, pts):
        fmt = "rgb48le" if f.dtype == np.uint16 else "rgb24"
        fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format=fmt)
        fr = fr.reformat(format=pix_fmt, dst_colorspace=matrix, dst_color_range=ColorRange.MPEG) if matrix \
            else fr.reformat(format=pix_fmt)
        fr.pts, fr.time_base = p, time_base
        for pk in vs.encode(fr):
            out.mux(pk)
    for pk in vs.encode():
        out.mux(pk)
    if a_s is not None:
        t = 0
        rng = np.random.default_rng(0)
        while t < (pts[-1] / 1000 + 0.1) * 48000:
            af = av.AudioFrame.from_ndarray(rng.normal(0, 0.1, (1, 1024)).astype(np.float32), format="fltp",
                                            layout="mono")
            af.sample_rate, af.pts = 48000, t
            t += 1024
            for pk in a_s.encode(af):
                out.mux(pk)
        for pk in a_s.encode():
            out.mux(pk)
    out.close()
    return path


def gradient(h: int, w: int, seed: int = 0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, (xx + yy) / (w + h)], axis=2) * 200 + 20
    return np.clip(base + np.random.default_rng(seed).normal(0, 2, base.shape), 0, 255).astype(np.uint8)


def audio_packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as c:
        return [(p.pts, bytes(p)) for p in c.demux(c.streams.audio[0]) if p.size]


# --- detection, availability --------------------------------------------------------------------------------

def test_sniff_video_by_content(tmp_path):
    assert sniff_video(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00") == "mp4"
    assert sniff_video(b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00") == "mov"
    assert sniff_video(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm") == "webm"
    assert sniff_video(b"RIFF\x00\x00\x00\x00AVI LIST") == "avi"
    assert sniff_video(b"\x89PNG\r\n\x1a\n") is None
    clip = write_clip(tmp_path / "clip.mp4", [gradient(16, 16)] * 2).rename(tmp_path / "renamed.bin")
    assert looks_like_video(clip) and not looks_like_video(tmp_path / "missing.mp4")


def test_without_pyav_a_video_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(InputError, match=r"restore\[video\]"):
        upscale_video(tmp_path / "a.mp4", tmp_path / "b.mp4")


# --- what must survive -------------------------------------------------------------------------------------

def test_upscale_keeps_timestamps_audio_and_rotation(tmp_path):
    frames = [gradient(24, 32, i) for i in range(len(VFR_PTS))]
    src = write_clip(tmp_path / "in.mp4", frames, pts=VFR_PTS, audio=True, rotation=90)
    seen = []
    rep = upscale_video(src, tmp_path / "out.mp4", 2, method="bicubic", progress=lambda d, t: seen.append((d, t)))
    assert rep.frames == len(VFR_PTS) and rep.output_size == (64, 48) and rep.rotation == 90
    assert seen[-1] == (len(VFR_PTS), len(VFR_PTS)) and [d for d, _ in seen] == list(range(1, len(VFR_PTS) + 1))
    out = list(read_frames(rep.dst))
    assert [f.time for f in out] == pytest.approx([p / 1000 for p in VFR_PTS], abs=1e-9)  # still variable
    info = probe(rep.dst)
    assert info.rotation == 90 and (info.width, info.height) == (64, 48)
    assert audio_packets(rep.dst) == audio_packets(src)  # copied: same bytes, same timestamps
    assert rep.audio and rep.audio[0].endswith("copied")
    ref = cv2.resize(frames[3], (64, 48), interpolation=cv2.INTER_CUBIC)
    assert np.abs(out[3].image.astype(int) - ref).mean() < 6


def test_iterator_api_reader_and_writer(tmp_path):
    src = write_clip(tmp_path / "in.mkv", [gradient(16, 24, i) for i in range(4)], pts=[0, 33, 100, 101])
    with VideoReader(src) as r:
        info = r.info
        with VideoWriter(tmp_path / "copy.mkv", 24, 16, time_base=info.time_base, colour=info.colour) as w:
            for f in r:
                w.write(255 - f.image, f.pts)
    assert [f.pts for f in read_frames(tmp_path / "copy.mkv")] == [0, 33, 100, 101]


def bars(h: int = 32) -> np.ndarray:
    colours = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0),
               (0, 0, 191), (16, 16, 16)]
    return np.repeat(np.repeat(np.array(colours, np.uint8)[None], h, axis=0), 16, axis=1)


def bar_means(image: np.ndarray) -> np.ndarray:
    """Mean RGB inside each 16-px bar, 4 px from its edges (chroma is shared across 2-px pairs)."""
    return np.array([image[4:-4, 16 * i + 4:16 * i + 12].reshape(-1, 3).mean(0) for i in range(8)])


def decode_yuv_by_formula(path: Path) -> tuple[np.ndarray, int]:
    """The first frame decoded from its raw Y'CbCr planes with the matrix formula of the stream's tag (no
    swscale matrix involved) and the tag."""
    with av.open(str(path)) as c:
        fr = next(c.decode(video=0))
        tag = c.streams.video[0].codec_context.colorspace
        yuv = fr.reformat(format="yuv444p").to_ndarray(channel_last=True).astype(np.float64)
    kr, kb = {1: (0.2126, 0.0722), 6: (0.299, 0.114), 5: (0.299, 0.114)}[tag]
    y, cb, cr = (yuv[..., 0] - 16) / 219, (yuv[..., 1] - 128) / 224, (yuv[..., 2] - 128) / 224
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.stack([r, g, b], -1) * 255, 0, 255), tag


@pytest.mark.parametrize("matrix,tag", [("itu601", None), ("itu601", 6), ("itu709", 1)])
def test_colour_bars_survive_the_round_trip(tmp_path, matrix, tag):
    ref = bar_means(bars()).astype(np.float64)
    src = write_clip(tmp_path / "bars.mp4", [bars()] * 3, matrix=matrix, tag=tag, options={"crf": "4"})
    decoded = next(iter(read_frames(src))).image
    assert np.abs(bar_means(decoded) - ref).max() <= 2.55  # read with the stream's matrix (601 when untagged SD)
    rep = upscale_video(src, tmp_path / "out.mp4", 2, method="nearest", crf=4)
    out, out_tag = decode_yuv_by_formula(rep.dst)
    assert out_tag == (tag or 1)  # the source's tag, else BT.709
    small = cv2.resize(out.astype(np.float32), (128, 32), interpolation=cv2.INTER_AREA)
    assert np.abs(bar_means(small) - ref).max() <= 2.55  # within 1 % per channel, by the tag's own formula


def test_ten_bit_source_stays_deep(tmp_path):
    frames = [(gradient(16, 16, i).astype(np.uint16) * 257) for i in range(2)]
    src = write_clip(tmp_path / "deep.mkv", frames, pix_fmt="yuv420p10le")
    f = next(iter(read_frames(src)))
    assert f.image.dtype == np.uint16
    rep = upscale_video(src, tmp_path / "out.mkv", 2, method="bicubic")
    assert rep.pix_fmt == "yuv420p10le" and probe(rep.dst).bit_depth == 16


@pytest.mark.parametrize("odd,size,pix", [("pad", (100, 76), "yuv420p"), ("444", (99, 75), "yuv444p"),
                                          ("crop", (98, 74), "yuv420p")])
def test_odd_sizes(tmp_path, odd, size, pix):
    src = write_clip(tmp_path / "odd.mkv", [gradient(25, 33, i) for i in range(2)], pix_fmt="yuv444p")
    assert (probe(src).width, probe(src).height) == (33, 25)
    rep = upscale_video(src, tmp_path / f"{odd}.mp4", 3, method="nearest", odd=odd)
    assert rep.output_size == size and rep.pix_fmt == pix
    out = next(iter(read_frames(rep.dst))).image
    assert out.shape == (size[1], size[0], 3)
    if odd == "pad":  # the added column / row repeats the edge
        assert rep.padded == (1, 1) and rep.notes
        assert np.abs(out[:, -1].astype(int) - out[:, -2]).mean() < 3


# --- failure -----------------------------------------------------------------------------------------------

def test_interrupted_run_leaves_nothing(tmp_path):
    src = write_clip(tmp_path / "in.mp4", [gradient(16, 16, i) for i in range(6)], audio=True)
    outdir = tmp_path / "out"
    outdir.mkdir()

    def stop(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_video(src, outdir / "x.mp4", 2, method="nearest", progress=stop)
    assert list(outdir.iterdir()) == []


def test_bad_inputs_are_one_line_errors(tmp_path):
    good = write_clip(tmp_path / "good.mp4", [gradient(16, 16, i) for i in range(8)])
    data = good.read_bytes()
    (tmp_path / "trunc.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.mp4").write_text("not a video\n")
    audio_only = av.open(str(tmp_path / "audio.m4a"), "w")
    a = audio_only.add_stream("aac", rate=48000)
    fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
    fr.sample_rate, fr.pts = 48000, 0
    for pk in [*a.encode(fr), *a.encode()]:
        audio_only.mux(pk)
    audio_only.close()
    for name, match in [("trunc.mp4", "corrupt"), ("text.mp4", "not a video"), ("audio.m4a", "no video stream"),
                        ("missing.mp4", "no such file")]:
        with pytest.raises(ImageReadError, match=match) as err:
            upscale_video(tmp_path / name, tmp_path / f"o-{name}.mp4", 2, method="nearest")
        assert "\n" not in str(err.value)
        assert not (tmp_path / f"o-{name}.mp4").exists()
    with pytest.raises(InputError, match="unknown video encoder"):
        upscale_video(good, tmp_path / "o.mp4", 2, method="nearest", codec="nonesuch")
    (tmp_path / "exists.mp4").write_bytes(b"x")
    with pytest.raises(ImageWriteError, match="already exists"):
        upscale_video(good, tmp_path / "exists.mp4", 2, method="nearest")
    assert (tmp_path / "exists.mp4").read_bytes() == b"x"
    with pytest.raises(ImageWriteError, match="input"):
        upscale_video(good, good, 2, method="nearest", overwrite=True)
    with pytest.raises(ImageWriteError, match="extension"):
        upscale_video(good, tmp_path / "o.gif", 2, method="nearest")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_audio_the_output_container_cannot_hold(tmp_path):
    out = av.open(str(tmp_path / "pcm.mkv"), "w")
    v = out.add_stream("libx264", rate=25)
    v.width, v.height, v.pix_fmt = 16, 16, "yuv420p"
    a = out.add_stream("pcm_s16le", rate=48000)
    for i in range(2):
        f = av.VideoFrame.from_ndarray(gradient(16, 16, i), format="rgb24").reformat(format="yuv420p")
        f.pts = i
        for pk in v.encode(f):
            out.mux(pk)
    af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.int16), format="s16", layout="mono")
    af.sample_rate, af.pts = 48000, 0
    for pk in [*v.encode(), *a.encode(af), *a.encode()]:
        out.mux(pk)
    out.close()
    with pytest.raises(ImageWriteError, match=r"\.mkv holds any codec") as err:
        upscale_video(tmp_path / "pcm.mkv", tmp_path / "o.mp4", 2, method="nearest")
    assert ".tmp" not in str(err.value) and sorted(p.name for p in tmp_path.iterdir()) == ["pcm.mkv"]
    rep = upscale_video(tmp_path / "pcm.mkv", tmp_path / "o.mkv", 2, method="nearest")
    assert rep.audio[0].startswith("pcm_s16le") and audio_packets(rep.dst) == audio_packets(tmp_path / "pcm.mkv")


# --- temporal inpainting --------------------------------------------------------------------------------------

H, W = 96, 128
HOLES = np.zeros((H, W), bool)
HOLES[56:80, 70:110] = True


def scene() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def view(img: np.ndarray, y: float, x: float) -> np.ndarray:
    m = np.array([[1, 0, x], [0, 1, y]], np.float64)
    return cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)


def with_logo(frame: np.ndarray) -> np.ndarray:
    f = frame.copy()
    f[HOLES] = 240
    f[62:74:3, 74:106] = 20  # "text"
    return f


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))


def flicker(frames: list[np.ndarray]) -> float:
    """Mean absolute frame-to-frame difference inside the hole."""
    return float(np.mean([np.abs(frames[i][HOLES].astype(np.float64) - frames[i - 1][HOLES]).mean()
                          for i in range(1, len(frames))]))


class _F:
    def __init__(self, image: np.ndarray) -> None:
        self.image = image


def run_filler(frames: list[np.ndarray], **kw) -> tuple[list[np.ndarray], TemporalFiller]:
    tf = TemporalFiller(HOLES, lambda im, m: restore.inpaint(im, m), **kw)
    out = []
    for f in frames:
        out += [o for _, o in tf.push(_F(f))]
    return out + [o for _, o in tf.finish()], tf


def test_temporal_fill_of_a_pan_uses_the_other_frames():
    img = scene()
    truth = [view(img, 150 + 0.4 * t, 100 + 2.3 * t) for t in range(14)]
    src = [with_logo(t) for t in truth]
    per_frame = np.stack([restore.inpaint(s, HOLES) for s in src])
    out, tf = run_filler(src, window=8)
    gt = np.stack(truth)[:, HOLES]
    assert psnr(np.stack(out)[:, HOLES], gt) >= psnr(per_frame[:, HOLES], gt) + 3.0
    assert tf.stats.seen_fraction > 0.5 and tf.stats.cuts == 0
    assert all((o[~HOLES] == s[~HOLES]).all() for o, s in zip(out, src))  # bit-exact outside the hole


def test_temporal_fill_of_a_static_shot_does_not_flicker():
    base = view(scene(), 150, 100).astype(np.float64)
    truth = [np.clip(base + np.random.default_rng(t).normal(0, 6, base.shape), 0, 255).astype(np.uint8)
             for t in range(10)]
    out, tf = run_filler([with_logo(t) for t in truth], window=4)
    assert tf.stats.from_other_frames == 0  # nothing behind the logo is ever visible
    assert flicker(out) <= 1.5 * flicker(truth)


def test_a_cut_starts_a_new_shot():
    img = scene()
    a = [view(img, 150 + t, 100 + 2 * t) for t in range(4)]
    b = [view(img, 380 - t, 360 - 2 * t) for t in range(4)]
    _, tf = run_filler([with_logo(f) for f in a + b], window=4)
    assert tf.stats.cuts == 1


def test_inpaint_video_mask_edge_cases(tmp_path):
    src = write_clip(tmp_path / "in.mp4", [gradient(16, 24, i) for i in range(3)])
    rep = inpaint_video(src, tmp_path / "empty.mp4", np.zeros((16, 24), bool))  # nothing to fill: copied
    assert rep.frames == 3 and rep.temporal is None
    with pytest.raises(InputError, match="whole frame"):
        inpaint_video(src, tmp_path / "x.mp4", np.ones((16, 24)))
    with pytest.raises(InputError, match="mask is 8×8"):
        inpaint_video(src, tmp_path / "x.mp4", np.ones((8, 8)))
    assert not (tmp_path / "x.mp4").exists()


def test_inpaint_video_file_end_to_end(tmp_path):
    img = scene()
    truth = [view(img, 150 + 0.5 * t, 100 + 3 * t) for t in range(10)]
    # stored 90° rotated; the mask is drawn on the video as displayed
    stored = [np.ascontiguousarray(np.rot90(with_logo(t), -1)) for t in truth]
    src = write_clip(tmp_path / "logo.mp4", stored, rotation=90, audio=True, options={"crf": "12"})
    mask = tmp_path / "mask.png"
    cv2.imwrite(str(mask), HOLES.astype(np.uint8) * 255)
    rep = run_video("inpaint", src, tmp_path / "clean.mp4", mask=mask, window=6)
    assert rep.frames == 10 and rep.temporal.from_other_frames > 0 and rep.rotation == 90
    holes = np.rot90(HOLES, -1)
    dec_src = [f.image for f in read_frames(src)]
    dec_out = [f.image for f in read_frames(rep.dst)]
    outside = np.stack(dec_out)[:, ~holes]
    assert psnr(outside, np.stack(dec_src)[:, ~holes].astype(np.float64)) >= 40.0
    assert audio_packets(rep.dst) == audio_packets(src)
    with pytest.raises(InputError, match="mask"):
        run_video("inpaint", src, tmp_path / "x.mp4")
