"""Video files among the inputs of ``upscale`` and ``inpaint``: one output clip per input clip, resumable and
recorded in the manifest like images, each a failure of its own (the work is :mod:`restore.video`)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from restore.cli.common import Reporter, StatusLine


def is_video(path: Path) -> bool:
    """A video input, by extension or by content (no PyAV needed)."""
    from restore.video import is_video_path, looks_like_video

    return is_video_path(path) or looks_like_video(path)


def split_videos(others: Sequence[Path], roots: Sequence[Path]) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """The video files among a scan's non-image files, each with its path relative to the root it was found
    under (folders mirror into the output folder as images do), and the files that are neither."""
    videos, rest = [], []
    for f in others:
        if not is_video(f):
            rest.append(f)
            continue
        rel = Path(f.name)
        for r in roots:
            if r.is_dir():
                try:
                    rel = f.relative_to(r)
                    break
                except ValueError:
                    continue
        videos.append((f, rel))
    return videos, rest


@dataclass
class VideoPlan:
    """The clips of a batch and how each is made: ``task`` (``upscale`` | ``inpaint``), the request fields
    common to every clip, and the keywords of :func:`restore.video.run_video`."""

    task: str
    request: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)


def run_videos(videos: Sequence[tuple[Path, Path]], dst_of: Callable[[Path, Path], Path], plan: VideoPlan, *,
               overwrite: bool, redo_of: Callable[[Path, dict[str, Any]], bool], manifest: Any,
               rep: Reporter) -> None:
    """Make each clip's output (``dst_of(src, rel)``), skipping those already made by the same request unless
    ``overwrite``; counts and reports through ``rep``, records through ``manifest`` (intent before the
    output changes, record after, as for images)."""
    from restore.errors import RestoreError
    from restore.video import run_video

    for src, rel in videos:
        dst = dst_of(src, rel)
        request = {**plan.request, "op": f"{plan.task} video"}
        redo = overwrite or redo_of(dst, request)
        if dst.exists() and not redo:
            rep.skipped += 1
            continue
        bar = StatusLine(f"{src.name}: frame ", "fps")
        try:
            manifest.begin(dst, request)
            report = run_video(plan.task, src, dst, overwrite=redo, progress=bar.update, **plan.options)
        except RestoreError as exc:
            bar.close()
            msg = str(exc)
            rep.error(msg if msg.startswith((str(src), src.name)) else f"{src}: {msg}")
            rep.failed += 1
            continue
        except KeyboardInterrupt:
            bar.close()
            raise
        bar.close()
        manifest.record(dst, request)
        rep.done += 1
        for note in report.notes:
            rep.info(f"{src.name}: {note}")
        rep.info(f"{src.name}: {report.frames} frames, {report.input_size[0]}×{report.input_size[1]} → "
                 f"{report.output_size[0]}×{report.output_size[1]}, {report.codec} crf {report.crf}, "
                 f"audio {', '.join(report.audio) or 'none'}; {report.fps:.2f} fps → {dst}")


def inpaint_videos(videos: Sequence[tuple[Path, Path]], path: Path, mask: Path | None, output: Path | None,
                   suffix: str | None, overwrite: bool, manifest: Any, rep: Reporter, common: dict[str, Any],
                   options: dict[str, Any], redo_of: Callable[[Path, dict[str, Any]], bool]) -> None:
    """The clips of an inpaint command: one mask file for every frame (a fixed logo, a timestamp); outputs
    named as the command names inpainted images."""
    from restore.cli.inputs import INPAINT_SUFFIX
    from restore.manifest import content_digest

    if mask is None or not mask.is_file():
        for src, _ in videos:
            rep.error(f"{src}: a video needs --mask FILE (white = hole), the same mask for every frame")
            rep.failed += 1
        return
    request = {**common, "mask_sha256": content_digest(mask), "codec": options["codec"], "crf": options["crf"]}

    def dst_of(src: Path, rel: Path) -> Path:
        if output is None:
            return src.with_name(f"{src.stem}{INPAINT_SUFFIX if suffix is None else suffix}{src.suffix}")
        if path.is_file() and is_video(output) and not output.is_dir():
            return output
        same = (output / rel.parent).resolve() == src.parent.resolve()
        sfx = suffix if suffix is not None else (INPAINT_SUFFIX if same else "")
        return output / rel.parent / f"{rel.stem}{sfx}{rel.suffix}"

    run_videos(videos, dst_of, VideoPlan("inpaint", request, {**options, "mask": mask}), overwrite=overwrite,
               redo_of=redo_of, manifest=manifest, rep=rep)
