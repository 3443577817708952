"""Finding a batch's inputs and planning its outputs (no torch)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path



# --------------------------------------------------------------------------- finding inputs


@dataclass
class Job:
    """One image to process: ``src`` -> ``dst``."""

    src: Path
    dst: Path


@dataclass
class Plan:
    """What a batch will do. ``problems`` are (path, message) pairs that count as failures."""

    jobs: list[Job] = field(default_factory=list)
    not_images: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def _is_hidden(name: str) -> bool:
    # dot files include write_image's temp files (".x.png.1234abcd.tmp")
    return name.startswith(".")


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def collect_images(
    paths: Sequence[Path], *, recursive: bool = False, exclude: Path | None = None
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Expand files and folders into (image, path relative to its root) pairs, sorted.

    Files given explicitly are taken as is (relative path = file name). Folders yield their
    image files (and, with ``recursive``, those of subfolders, relative to the folder given).
    Hidden files and folders and anything under ``exclude`` (the output folder, so a re-run
    never takes earlier outputs as inputs) are ignored. Returns (images, non-image files).

    Raises:
        InputError: a path does not exist.
    """
    from restore.errors import InputError
    from restore.io import is_image_path

    excl = exclude.resolve() if exclude is not None else None
    images: list[tuple[Path, Path]] = []
    others: list[Path] = []
    for root in paths:
        if root.is_file():
            if is_image_path(root):
                images.append((root, Path(root.name)))
            else:
                others.append(root)
            continue
        if not root.is_dir():
            raise InputError(f"{root}: no such file or folder")
        # Output folder == this input folder: nothing to exclude (outputs get a suffix instead).
        excl_here = excl if excl is not None and excl != root.resolve() else None
        if recursive:
            for dirpath, dirnames, filenames in os.walk(root):
                d = Path(dirpath)
                dirnames[:] = sorted(n for n in dirnames if not _is_hidden(n) and not _inside(d / n, excl_here))
                for name in sorted(filenames):
                    f = d / name
                    if _is_hidden(name) or _inside(f, excl_here):
                        continue
                    if is_image_path(f):
                        images.append((f, f.relative_to(root)))
                    else:
                        others.append(f)
        else:
            for f in sorted(root.iterdir()):
                if _is_hidden(f.name) or not f.is_file() or _inside(f, excl_here):
                    continue
                if is_image_path(f):
                    images.append((f, Path(f.name)))
                else:
                    others.append(f)
    return _without_derived(images), others


#: smallest --tile that does not waste most of the work on context margins
MIN_FAST_TILE = 128

#: suffixes of the outputs this tool writes beside their input by default (inpaint) or into the input's folder
INPAINT_SUFFIX = "_inpainted"
DERIVED_SUFFIXES = (INPAINT_SUFFIX, "_x2", "_x3", "_x4")


def _without_derived(images: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Drop, from a folder scan, the images that are this tool's own outputs beside their source (``a_x4.png``
    or ``a_inpainted.png`` next to ``a.png``): a re-run, or the next command on the folder, must not take them
    for inputs. An image whose stem merely ends that way, with no such source beside it, is kept."""
    stems = {(src.parent, src.stem) for src, _ in images}
    out = []
    for src, rel in images:
        base = next((src.stem[: -len(sfx)] for sfx in DERIVED_SUFFIXES if src.stem.endswith(sfx)), None)
        if base and (src.parent, base) in stems:
            continue
        out.append((src, rel))
    return out


def _out_is_file(out: Path, n_inputs: int, single_file: bool) -> bool:
    from restore.io import is_image_path

    return single_file and n_inputs == 1 and is_image_path(out) and not out.is_dir()


def plan_outputs(
    images: Sequence[tuple[Path, Path]],
    out: Path,
    *,
    suffix: str = "",
    ext: str | None = None,
    out_is_file: bool = False,
) -> Plan:
    """Map each (image, relative path) to ``out/<rel parent>/<stem><suffix><ext>`` (``ext`` None:
    keep the input's).

    An input that is the output of another input (``a_x4.png`` beside ``a.png`` when writing into
    the input folder) is a result of an earlier run: it is left out, so a re-run resumes instead
    of upscaling its own outputs. Outputs that would land on an input, or on another job's
    output, become problems rather than jobs.
    """
    from restore.io import output_suffix

    def dst_of(rel: Path) -> Path:
        if out_is_file:
            return out
        return out / rel.parent / f"{rel.stem}{suffix}{ext if ext is not None else output_suffix(rel.suffix)}"

    def key(p: Path) -> str:
        return os.path.normcase(p.resolve())

    planned = [(src, dst_of(rel)) for src, rel in images]
    dst_keys = {key(dst): src for src, dst in planned}
    planned = [(src, dst) for src, dst in planned if dst_keys.get(key(src), src) == src]
    inputs = {key(src) for src, _ in planned}

    plan = Plan()
    seen: dict[str, Path] = {}
    for src, dst in planned:
        k = key(dst)
        if k in inputs:
            plan.problems.append((src, f"output {dst} would overwrite an input (use --suffix or another -o)"))
        elif k in seen:
            plan.problems.append((src, f"output {dst} is also the output of {seen[k]}"))
        else:
            seen[k] = src
            plan.jobs.append(Job(src, dst))
    return plan
