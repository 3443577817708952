"""The key figures of a benchmark result and its Markdown tables (see :mod:`restore.bench`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from restore.bench.worker import precision_variants

# --- key figures and tables ----------------------------------------------------------------------------


def key_figures(result: dict[str, Any]) -> list[dict[str, str]]:
    """The figures a reader looks for first, each ``{"figure", "value"}``: what was measured, never a verdict."""
    out: list[dict[str, str]] = []
    sr = [r for r in result.get("sr", []) if "error" not in r]
    ours4 = [r for r in sr if r["scale"] == 4 and r["kind"] == "ours"]
    d4 = next((r for r in ours4 if r["default"]), ours4[0] if ours4 else None)
    if d4:
        out.append({"figure": "×4 default SR model, output MP/s", "value": f"{d4['mp_per_s']:.2f} ({d4['method']})"})
        if d4.get("variant") not in (None, "fp32") and d4.get("speedup_vs_fp32"):
            out.append({"figure": "×4 default SR model at auto precision against its float32 run",
                        "value": f"{d4['speedup_vs_fp32']:.2f}× the speed, {d4['d_quality_vs_fp32']:+.3f} dB PSNR-Y "
                                 f"({d4['method']})"})
    espcn = next((r for r in sr if r["scale"] == 4 and r["method"] == "ESPCN"), None)
    if espcn and ours4:
        # each model of ours at the precision auto picks here; shown: the one named "fast", else the fastest
        auto = precision_variants()[1]
        cands = [r for r in ours4 if r.get("auto", r.get("variant", auto) == auto)]
        fast = [r for r in cands if "fast" in r["method"]]
        best = max(fast or cands or ours4, key=lambda r: r["mp_per_s"])
        out.append({"figure": "fast ×4 model against ESPCN",
                    "value": f"{best['method']}: {best['mp_per_s']:.2f} MP/s = "
                             f"{best['mp_per_s'] / espcn['mp_per_s']:.2f}× ESPCN's {espcn['mp_per_s']:.1f}, "
                             f"{best['psnr_y'] - espcn['psnr_y']:+.2f} dB PSNR-Y"})
    ip = [r for r in result.get("inpaint", []) if "error" not in r and r["kind"] == "ours"]
    dip = [r for r in ip if r["default"]] or ip
    if dip:
        worst = max(r["s_max"] for r in dip)
        out.append({"figure": f"inpainting {dip[0]['size']}² with the default model, seconds per image",
                    "value": ", ".join(f"{r['holes']} {r['s_per_image']:.3f}" for r in dip)
                             + f" (mean); slowest image {worst:.3f}"})
        dq = [r["d_quality_vs_fp32"] for r in dip if r.get("d_quality_vs_fp32") is not None]
        if dq:
            out.append({"figure": "inpainting hole PSNR against float32",
                        "value": ", ".join(f"{d:+.3f}" for d in dq) + " dB"})
    for r in result.get("large", []):
        if r.get("tile") is None and "error" not in r:
            out.append({"figure": f"×{r['scale']} of {r['size']}², peak RSS",
                        "value": f"{r['peak_mb']:.0f} MB ({r['out_bytes'] / 2**20:.0f} MB of it the output), "
                                 f"{r['seconds']:.1f} s"})
    return out


def _params(n: int | None) -> str:
    from restore.catalogue import format_params  # not at the top: the peers' worker runs this file without restore

    return format_params(n, "?")


def _fmt(v: float | None, spec: str, suffix: str = "") -> str:
    return "" if v is None else f"{v:{spec}}{suffix}"


def _vs_ours_cells(r: dict[str, Any]) -> str:
    """A row's quality, speed and memory against the default model of ours ("ref" / 1× on that row itself)."""
    if r.get("ref") == r["method"]:
        return "ref | 1× | 1×"
    return (f"{_fmt(r.get('d_quality_vs_ours'), '+.2f', ' dB')} | {_fmt(r.get('speed_vs_ours'), '.2f', '×')} | "
            f"{_fmt(r.get('mem_vs_ours'), '.2f', '×')}")


def _precision_cells(r: dict[str, Any]) -> str:
    """ΔPSNR and speed-up against the same model's float32 run, and GFLOP/s as shares of the peaks."""
    if "variant" not in r:
        return " | | "
    g = r.get("gflops")
    share = "" if g is None else (f"{g:.0f} ({_fmt(r.get('share_fp32_peak'), '.0%')} / "
                                  f"{_fmt(r.get('share_bf16_peak'), '.0%') or '–'})")
    return (f"{_fmt(r.get('d_quality_vs_fp32'), '+.3f', ' dB')} | {_fmt(r.get('speedup_vs_fp32'), '.2f', '×')} | "
            f"{share}")


def format_tables(result: dict[str, Any]) -> str:
    """Markdown tables of a :func:`run_bench` result (what ``restore bench`` prints)."""
    env = result.get("env", {})
    lines: list[str] = []
    head = (f"CPU: {env.get('cpu', '?')}, {env.get('threads')} threads; torch {env.get('torch', '?')}, "
            f"OpenCV {env.get('opencv', '?')}; median of ≤{result.get('repeats')} timed runs after 1 warm-up per image; "
            f"other processes used {_fmt(env.get('foreign_load_cores'), '.2f') or '?'} cores on average during the run")
    lines.append(head)
    sr = result.get("sr", [])
    if sr:
        lines += ["", f"### Super-resolution — {Path(sr[0]['data']).name} ({sr[0]['images']} images)", "",
                  "| × | method | kind | params | PSNR-Y | SSIM-Y | out MP/s | MP/CPU-s | peak MB | ΔPSNR vs ours | speed vs ours | mem vs ours | ΔPSNR vs fp32 | speed vs fp32 | GFLOP/s (fp32 / bf16 peak) |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sr:
            name = r["method"] + (" (default)" if r.get("default") else "")
            if "error" in r:
                lines.append(f"| {r['scale']} | {name} | {r['kind']} | | | | | | | error: {r['error']} | | |")
                continue
            lines.append(
                f"| {r['scale']} | {name} | {r['kind']} | {_params(r['params'])} | {r['psnr_y']:.2f} | "
                f"{r['ssim_y']:.4f} | {r['mp_per_s']:.2f} | {r['mp_per_cpu_s']:.2f} | {r['peak_mb']:.0f} | "
                f"{_vs_ours_cells(r)} | {_precision_cells(r)} |")
    ip = result.get("inpaint", [])
    if ip:
        lines += ["", f"### Inpainting — {ip[0]['images']} images of {Path(ip[0]['data']).name} at "
                      f"{ip[0]['size']}×{ip[0]['size']}", "",
                  "| holes | hole % | method | kind | params | hole PSNR | s/image | max s | CPU-s/image | peak MB | ΔPSNR vs ours | speed vs ours | mem vs ours | ΔPSNR vs fp32 | speed vs fp32 |",
                  "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in ip:
            name = r["method"] + (" (default)" if r.get("default") else "")
            if "error" in r:
                lines.append(f"| {r['hole_label']} | | {name} | {r['kind']} | | | | | | | error: {r['error']} | | |")
                continue
            lines.append(
                f"| {r['hole_label']} | {100 * r['hole_fraction']:.1f} | {name} | {r['kind']} | {_params(r['params'])} | "
                f"{r['psnr_hole']:.2f} | {r['s_per_image']:.3f} | {r['s_max']:.3f} | {r['cpu_s_per_image']:.3f} | {r['peak_mb']:.0f} | "
                f"{_vs_ours_cells(r)} | "
                f"{_fmt(r.get('d_quality_vs_fp32'), '+.3f', ' dB')} | {_fmt(r.get('speedup_vs_fp32'), '.2f', '×')} |")
    lg = result.get("large", [])
    if lg:
        r0 = lg[0]
        lines += ["", f"### Large image — ×{r0['scale']} of {r0['size']}×{r0['size']} → "
                      f"{r0['size'] * r0['scale']}×{r0['size'] * r0['scale']} "
                      f"(uint8 output {r0['out_bytes'] / 2**20:.0f} MB)", "",
                  "| tiling | seconds | out MP/s | RSS before MB | peak RSS MB | peak − before MB | MB per input MP | "
                  "input MP that fits* | peak − output MB |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in lg:
            how = "default tile" if r["tile"] is None else ("untiled" if r["tile"] == 0 else f"tile {r['tile']}")
            if "error" in r:
                lines.append(f"| {how} | error: {r['error']} | | | | | | | |")
                continue
            lines.append(f"| {how} | {r['seconds']:.1f} | {r['mp_per_s']:.2f} | {r['rss_before_mb']:.0f} | "
                         f"{r['peak_mb']:.0f} | {r['peak_delta_mb']:.0f} | {r['growth_mb_per_input_mp']:.0f} | "
                         f"{_fmt(r.get('max_input_mp_in_available'), '.1f')} | {r['peak_beyond_output_mb']:.0f} |")
    if lg:
        avail = next((r.get("mem_available_mb") for r in lg if r.get("mem_available_mb")), None)
        lines += ["", f"\\* peak growth extrapolated linearly to the memory available at the run "
                      f"({avail or 0:.0f} MB); a tiled run's growth is mostly its output, an untiled run's the network's "
                      "full-size feature maps"]
    th = result.get("threads", [])
    if th:
        lines += ["", "### Threads, quiet and beside a busy process per core (seconds per call)", "",
                  "| task | threads | quiet | contended |", "|---|---:|---:|---:|"]
        cells: dict[tuple[str, int], dict[str, str]] = {}
        for r in th:
            cells.setdefault((r["task"], r["threads"]), {})[r["load"]] = (
                f"error: {r['error']}" if "error" in r else f"{r['s_per_call']:.3f}")
        for (task_, n), c in cells.items():
            lines.append(f"| {task_} | {n} | {c.get('quiet', '')} | {c.get('contended', '')} |")
    summary = result.get("summary", [])
    if summary:
        lines += ["", "### Key figures", ""]
        lines += [f"- {f['figure']}: {f['value']}" for f in summary]
    notes = list(result.get("notes", []))
    how = {r.get("peak_how") for part in ("sr", "inpaint", "large") for r in result.get(part, []) if r.get("peak_how")}
    notes.append("peak MB = growth of resident memory during the calls (" + ", ".join(sorted(how)) + ")"
                 if how else "")
    peaks = env.get("peaks") or {}
    if peaks.get("how"):
        notes.append("GFLOP/s = out MP/s × the model's convolution FLOPs per output pixel (forward hooks); peaks: "
                     f"{peaks['how']} = {_fmt(peaks.get('fp32'), '.0f')} / {_fmt(peaks.get('bf16'), '.0f') or '–'} "
                     "GFLOP/s (restore.bench.cpu_peaks; nominal clock, an estimate)")
    notes.append("speed vs ours > 1 = faster than our model; mem vs ours < 1 = less memory; MP/CPU-s and CPU-s use "
                 "the worker's process CPU time (all its threads), which other load inflates less than wall time")
    lines += ["", *[f"_{n}_" for n in notes if n]]
    return "\n".join(lines) + "\n"

