"""`restore serve`'s HTTP API, in process (FastAPI's test client): each route, bad inputs, the safety rules."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import make_image

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")
from fastapi.testclient import TestClient  # noqa: E402

import restore  # noqa: E402
from restore.io import decode_image, encode_image  # noqa: E402
from restore.server import Gate, HTTPProblem, ServeConfig, create_app  # noqa: E402


def client(**cfg) -> TestClient:
    return TestClient(create_app(ServeConfig(device="cpu", **cfg)), base_url="http://127.0.0.1:8000",
                      raise_server_exceptions=False)


@pytest.fixture(scope="module")
def api() -> TestClient:
    return client()


def png(a: np.ndarray) -> bytes:
    return encode_image(a, "png")


def decode(r) -> np.ndarray:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    return decode_image(r.content)[0]


def error_of(r, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def hole_mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[h // 3: h // 3 + 6, w // 4: 3 * w // 4] = 255
    return m


def test_page_and_its_files_are_served_with_every_test_hook(api):
    r = api.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for hook in ("image-input", "mask-canvas", "brush-size", "eraser", "undo", "clear", "run-inpaint",
                 "scale-select", "run-upscale", "result-image", "download", "error"):
        assert f'data-testid="{hook}"' in r.text, hook
    assert "http://" not in r.text and "https://" not in r.text  # nothing from elsewhere: works offline
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for path, kind in (("/app.js", "text/javascript"), ("/app.css", "text/css")):
        r = api.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert "http://" not in r.text and "https://" not in r.text


def test_models_lists_methods_and_shipped_models_with_task_and_scale(api):
    models = api.get("/api/models").json()
    by_name = {m["name"]: m for m in models}
    assert by_name["sr-x4"]["task"] == "sr" and by_name["sr-x4"]["scales"] == [4] and by_name["sr-x4"]["default"]
    assert by_name["sr-real-x4"]["default"] is False
    assert by_name["bicubic"]["kind"] == "classical" and by_name["bicubic"]["scales"] == [2, 3, 4]
    assert any(m["task"] == "inpaint" and m["kind"] == "cnn" and m["default"] for m in models)
    assert by_name["telea"]["task"] == "inpaint"


@pytest.mark.parametrize("method", [None, "telea"])
def test_inpaint_fills_the_hole_and_keeps_known_pixels(api, method):
    img = make_image((40, 48, 3))
    img[13:19, 12:36] = (255, 0, 255)  # a magenta bar under the hole: the fill must not reproduce it
    mask = hole_mask(40, 48)
    data = {"method": method} if method else {}
    r = api.post("/api/inpaint", files={"image": ("photo.png", png(img)), "mask": ("m.png", png(mask))}, data=data)
    out = decode(r)
    assert out.shape == img.shape and out.dtype == img.dtype
    holes = mask > 0
    assert np.array_equal(out[~holes], img[~holes])
    assert np.abs(out[holes].astype(int) - (255, 0, 255)).mean() > 60  # the bar is gone, not copied
    assert r.headers["x-restore-holes"] == str(int(holes.sum()))
    assert 'filename="photo_inpainted.png"' in r.headers["content-disposition"]


def test_inpaint_result_equals_the_library_s(api):
    img, mask = make_image((32, 40, 3), seed=3), hole_mask(32, 40)
    out = decode(api.post("/api/inpaint", files={"image": ("a.png", png(img)), "mask": ("m.png", png(mask))}))
    assert np.array_equal(out, restore.inpaint(img, mask > 0, device="cpu"))


def test_alpha_is_kept_by_both_routes(api):
    img = make_image((24, 32, 4), seed=1)
    img[:, :, 3] = np.linspace(40, 255, 32, dtype=np.uint8)[None, :]
    mask = hole_mask(24, 32)
    out = decode(api.post("/api/inpaint", files={"image": ("t.png", png(img)), "mask": ("m.png", png(mask))}))
    assert out.shape == (24, 32, 4) and np.array_equal(out[:, :, 3], img[:, :, 3])
    up = decode(api.post("/api/upscale", files={"image": ("t.png", png(img))}, data={"scale": "2"}))
    assert up.shape == (48, 64, 4)
    assert np.array_equal(up, restore.upscale(img, 2, device="cpu"))


def test_upscale_sizes_and_parity_with_the_library(api):
    img = make_image((20, 28, 3), seed=2)
    for scale in (2, 3, 4):
        r = api.post("/api/upscale", files={"image": ("a.png", png(img))}, data={"scale": str(scale)})
        out = decode(r)
        assert out.shape == (20 * scale, 28 * scale, 3)
        assert r.headers["x-restore-model"] == f"sr-x{scale}"
        assert np.array_equal(out, restore.upscale(img, scale, device="cpu"))
    out = decode(api.post("/api/upscale", files={"image": ("a.png", png(img))},
                          data={"scale": "2", "method": "bicubic"}))
    assert np.array_equal(out, restore.upscale(img, 2, method="bicubic"))


def test_preview_shows_what_browsers_cannot(api):
    import cv2

    img = make_image((12, 10, 3), np.uint16)
    tiff = cv2.imencode(".tiff", img[:, :, ::-1])[1].tobytes()
    out = decode(api.post("/api/preview", files={"image": ("scan.tif", tiff)}))
    assert out.dtype == np.uint8 and out.shape == (12, 10, 3)
    np.testing.assert_array_equal(out, ((img.astype(np.uint32) + 128) // 257).astype(np.uint8))
    assert "not an image" in error_of(api.post("/api/preview", files={"image": ("x.tif", b"II*\x00junk")}), 400)


def test_upscale_keeps_16_bit(api):
    img = make_image((16, 16, 3), np.uint16)
    out = decode(api.post("/api/upscale", files={"image": ("a.png", png(img))}, data={"scale": "2"}))
    assert out.dtype == np.uint16 and out.shape == (32, 32, 3)


def test_a_jpeg_upload_gets_the_real_photo_model_and_denoise_blends(api):
    import cv2

    img = make_image((24, 24, 3), seed=4)
    jpeg = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 50])[1].tobytes()
    # the name says PNG; the bytes say JPEG: the bytes decide
    r = api.post("/api/upscale", files={"image": ("looks.png", jpeg)}, data={"scale": "4"})
    assert r.status_code == 200 and r.headers["x-restore-model"].startswith("sr-real-x4")
    clean = decode(api.post("/api/upscale", files={"image": ("a.png", png(img))},
                            data={"scale": "4", "model": "sr-x4"}))
    zero = decode(api.post("/api/upscale", files={"image": ("a.png", png(img))}, data={"scale": "4", "denoise": "0"}))
    assert np.array_equal(zero, clean)
    msg = error_of(api.post("/api/upscale", files={"image": ("a.png", png(img))},
                            data={"scale": "4", "denoise": "1.5"}), 400)
    assert "denoise" in msg


@pytest.mark.parametrize("data, needle", [
    ({"scale": "5"}, "scale"),
    ({"scale": "four"}, "scale"),
    ({"scale": "4", "model": "no-such-model"}, "unknown model"),
    ({"scale": "4", "model": "restore/weights/sr-x4.safetensors"}, "unknown model"),  # never a path
    ({"scale": "4", "model": "/etc/passwd"}, "unknown model"),
    ({"scale": "4", "method": "magic"}, "unknown method"),
    ({"scale": "4", "model": "sr-x2"}, "×2"),
])
def test_bad_upscale_requests_are_one_line_400s(api, data, needle):
    r = api.post("/api/upscale", files={"image": ("a.png", png(make_image((8, 8, 3))))}, data=data)
    assert needle in error_of(r, 400)


def test_bad_uploads_are_one_line_400s(api):
    img = png(make_image((16, 16, 3)))
    assert "not an image" in error_of(api.post("/api/upscale", files={"image": ("a.png", b"hello world")}), 400)
    assert "not an image" in error_of(api.post("/api/upscale", files={"image": ("a.png", img[:60])}), 400)
    assert "missing file field 'image'" in error_of(api.post("/api/upscale", files={"picture": ("a.png", img)}), 400)
    assert "mask" in error_of(api.post("/api/inpaint", files={"image": ("a.png", img)}), 400)
    wrong = png(np.zeros((10, 16), np.uint8))
    assert "mask is 16×10 but the image is 16×16" in error_of(
        api.post("/api/inpaint", files={"image": ("a.png", img), "mask": ("m.png", wrong)}), 400)
    assert "multipart" in error_of(api.post("/api/upscale", content=b"{}", headers={"content-type": "application/json"}), 400)
    assert "unknown method" in error_of(api.post("/api/inpaint", files={"image": ("a.png", img), "mask": ("m.png", png(
        hole_mask(16, 16)))}, data={"method": "sr-x4"}), 400)
    assert error_of(api.get("/no/such/page"), 404)
    assert error_of(api.get("/api/upscale"), 405)


def test_whole_image_mask_and_empty_mask(api):
    img = make_image((16, 16, 3))
    full = np.full((16, 16), 255, np.uint8)
    assert "whole image" in error_of(api.post("/api/inpaint", files={"image": ("a.png", png(img)),
                                                                      "mask": ("m.png", png(full))}), 400)
    empty = decode(api.post("/api/inpaint", files={"image": ("a.png", png(img)),
                                                  "mask": ("m.png", png(np.zeros((16, 16), np.uint8)))}))
    assert np.array_equal(empty, img)


def test_pixel_limit_is_the_cli_s_and_bounds_the_result_too():
    api = client(max_pixels=100)
    r = api.post("/api/upscale", files={"image": ("big.png", png(make_image((16, 16, 3))))}, data={"scale": "2"})
    assert "above the 100 pixels limit" in error_of(r, 400)
    api = client(max_pixels=1_000_000)
    img = png(make_image((300, 300, 3)))  # 0.09 MP in, 1.44 MP out at ×4: over; 0.36 MP at ×2: fine
    assert "×4 result would be 1 MP" in error_of(api.post("/api/upscale", files={"image": ("a.png", img)},
                                                         data={"scale": "4", "method": "bicubic"}), 400)
    assert api.post("/api/upscale", files={"image": ("a.png", img)},
                    data={"scale": "2", "method": "bicubic"}).status_code == 200


def test_oversized_uploads_get_413_while_reading():
    api = client(max_upload=4000)
    big = png(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))  # ~12 kB, incompressible
    assert "limit" in error_of(api.post("/api/upscale", files={"image": ("a.png", big)}), 413)

    read = []

    def chunks():  # no Content-Length: the body arrives chunked, and the server stops counting at the limit
        boundary = b"--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
        yield boundary
        for i in range(0, len(big), 1000):
            read.append(i)
            yield big[i:i + 1000]
        yield b"\r\n--xyz--\r\n"

    r = api.post("/api/upscale", content=chunks(), headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert "limit" in error_of(r, 413)
    small = png(make_image((8, 8, 3)))
    assert api.post("/api/upscale", files={"image": ("a.png", small)}, data={"scale": "2"}).status_code == 200


def test_cross_origin_posts_and_foreign_hosts_are_refused(api):
    img = png(make_image((8, 8, 3)))
    r = api.post("/api/upscale", files={"image": ("a.png", img)}, headers={"origin": "https://evil.example"})
    assert "cross-origin" in error_of(r, 403)
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
    ok = api.post("/api/upscale", files={"image": ("a.png", img)}, data={"scale": "2"},
                  headers={"origin": "http://127.0.0.1:8000"})
    assert ok.status_code == 200
    # DNS rebinding: a name that resolves to 127.0.0.1 but is not a loopback name
    r = api.get("/api/models", headers={"host": "attacker.example:8000"})
    assert "not served here" in error_of(r, 403)
    assert client(allowed_hosts=()).get("/api/models", headers={"host": "box.lan:8000"}).status_code == 200
    # sandboxed frames and data: pages send Origin: null; a page anywhere could otherwise make this machine work
    r = api.post("/api/upscale", files={"image": ("a.png", img)}, headers={"origin": "null"})
    assert "cross-origin" in error_of(r, 403)


def test_a_failing_request_leaves_the_server_serving(monkeypatch):
    api = client()
    img = png(make_image((8, 8, 3)))

    def boom(*a, **k):
        raise RuntimeError("secret internals\nline two")

    monkeypatch.setattr(restore, "upscale", boom)
    r = api.post("/api/upscale", files={"image": ("a.png", img)})
    msg = error_of(r, 500)
    assert "RuntimeError" in msg and "secret" not in msg
    assert "default-src 'self'" in r.headers["content-security-policy"]  # answered inside the app, headers and all
    monkeypatch.undo()
    assert api.post("/api/upscale", files={"image": ("a.png", img)}, data={"scale": "2"}).status_code == 200


def test_the_gate_admits_a_bounded_number_and_computes_one_at_a_time():
    import anyio

    gate = Gate(max_queue=2)
    gate.enter()
    gate.enter()
    with pytest.raises(HTTPProblem) as exc:
        gate.enter()
    assert exc.value.status == 503
    gate.leave()
    gate.enter()  # a slot came free

    running, peak = [0], [0]

    def work():
        import time

        running[0] += 1
        peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        running[0] -= 1

    async def main():
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(gate.run, work)

    anyio.run(main)
    assert peak[0] == 1


def test_serve_without_the_web_extra_says_how_to_install(monkeypatch, runner):
    import builtins

    from restore.cli import app

    real_import = builtins.__import__

    def no_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ImportError("No module named 'uvicorn'", name="uvicorn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    r = runner.invoke(app, ["serve", "--port", "0"])
    assert r.exit_code == 2 and 'pip install "restore[serve]"' in r.output
    assert json is not None


def test_serve_on_a_taken_port_is_one_usage_line(runner):
    import socket

    from restore.cli import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = runner.invoke(app, ["serve", "--port", str(port)])
    assert r.exit_code == 2 and f"cannot listen on 127.0.0.1:{port} (Address already in use)" in r.output
    assert "Traceback" not in r.output


def test_a_body_that_trickles_in_gives_its_slot_back():
    import time

    api = client(read_timeout=0.3, max_queue=1)

    def slow():
        yield b"--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
        time.sleep(1.0)
        yield b"\r\n--xyz--\r\n"

    r = api.post("/api/upscale", content=slow(), headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert "longer than 0.3 s" in error_of(r, 408)
    ok = api.post("/api/upscale", files={"image": ("a.png", png(make_image((8, 8, 3))))}, data={"scale": "2"})
    assert ok.status_code == 200  # the one slot came back


def test_mangled_multipart_bodies_are_4xx_never_a_500(caplog):
    """Seeded mutations (bytes changed, cut, inserted) of a valid upload, on every POST route: each answer is a
    success or a one-line 4xx, never a server error."""
    import random

    api = client(max_upload=200_000)
    img = png(make_image((16, 16, 3)))
    mask = png(np.zeros((16, 16), np.uint8))
    body = (b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + img +
            b'\r\n--B\r\nContent-Disposition: form-data; name="mask"; filename="m.png"\r\n\r\n' + mask +
            b'\r\n--B\r\nContent-Disposition: form-data; name="scale"\r\n\r\n2\r\n--B--\r\n')
    rng = random.Random(0)
    seen = set()
    for _ in range(120):
        b = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            pos, op = rng.randrange(len(b)), rng.random()
            if op < 0.4:
                b[pos] = rng.randrange(256)
            elif op < 0.7:
                del b[pos:pos + rng.randint(1, 40)]
            else:
                b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        route = rng.choice(["/api/upscale", "/api/inpaint", "/api/preview"])
        r = api.post(route, content=bytes(b), headers={"content-type": "multipart/form-data; boundary=B"})
        seen.add(r.status_code)
        assert r.status_code < 500, (route, r.status_code, r.text)
        if r.status_code >= 400:
            error_of(r, r.status_code)
    assert 400 in seen


def test_int8_serves_upscaling_and_leaves_inpainting_at_auto():
    pytest.importorskip("onnxruntime")
    api = client(precision="int8")
    img = make_image((20, 24, 3))
    up = decode(api.post("/api/upscale", files={"image": ("a.png", png(img))}, data={"scale": "4", "model": "sr-fast-x4"}))
    ref = restore.upscale(img, 4, model="sr-fast-x4", device="cpu", precision="int8")
    assert np.array_equal(up, ref)
    out = decode(api.post("/api/inpaint", files={"image": ("a.png", png(img)), "mask": ("m.png", png(hole_mask(20, 24)))}))
    assert np.array_equal(out, restore.inpaint(img, hole_mask(20, 24) > 0, device="cpu"))


def test_a_multipart_boundary_longer_than_the_parser_takes_is_a_one_line_400(caplog):
    import logging

    caplog.set_level(logging.ERROR, logger="restore.server")
    boundary = "b" * 300
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'.encode()
            + png(make_image((8, 8, 3))) + f"\r\n--{boundary}--\r\n".encode())
    for route in ("/api/upscale", "/api/inpaint", "/api/preview"):
        r = client().post(route, content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert "boundary" in error_of(r, 400).lower()
    assert not [rec for rec in caplog.records if rec.exc_info]  # no traceback in the log


def _png_16bit_rgba(w: int, h: int) -> bytes:
    """A valid all-black 16-bit RGBA PNG, compressed row by row (the raw pixels are never held at once)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    z, row, idat = zlib.compressobj(9), bytes(1 + 8 * w), bytearray()
    for _ in range(h):
        idat += z.compress(row)
    idat += z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0))
            + chunk(b"IDAT", bytes(idat)) + chunk(b"IEND", b""))


def test_memory_per_request_is_bounded_from_the_header_before_decoding():
    from restore.server import request_bytes

    # the estimate: a 6000² 16-bit RGBA image at ×2 needs GBs though its PNG is a few hundred KB
    assert request_bytes(6000, 6000, 4, 2, 2) > 4e9
    small = _png_16bit_rgba(600, 500)
    assert len(small) < 20_000
    # 600×500×4 samples: ×(2+4) bytes decoded, then ×4 of them ×(3·2+4) at ×2: 55 MB; 19 MB each for an
    # image and its mask at ×1
    api = client(max_request_memory=30_000_000)
    r = api.post("/api/upscale", files={"image": ("big.png", small, "image/png")},
                 data={"scale": "2", "method": "nearest"})
    msg = error_of(r, 413)
    assert "600×500" in msg and "16 bit" in msg and "×2" in msg
    # the same image within the budget is served
    r = client(max_request_memory=100_000_000).post("/api/upscale", files={"image": ("big.png", small, "image/png")},
                                                    data={"scale": "2", "method": "nearest"})
    assert decode(r).shape == (1000, 1200, 4)
    r = api.post("/api/inpaint", files={"image": ("big.png", small, "image/png"),
                                        "mask": ("m.png", small, "image/png")})
    error_of(r, 413)


def test_the_default_budget_refuses_a_huge_16_bit_rgba_image_before_decoding():
    """Only the header is read: a file claiming 6000×6000 16-bit RGBA (within the pixel limit) is refused at ×2
    from its IHDR, whatever its pixel data (here cut short, which the decoder alone would call corrupt)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 6000, 6000, 16, 6, 0, 0, 0)
    head = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF))
    r = client().post("/api/upscale", files={"image": ("big.png", head + b"\0" * 64, "image/png")},
                      data={"scale": "2", "method": "nearest"})
    assert "per request" in error_of(r, 413)
