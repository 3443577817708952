"""Finding a batch's inputs and planning its outputs (no torch)."""
from __future__ import annotations

import errno
import os
import stat
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


def _real(path: Path) -> str:
    # os.path.realpath, unlike Path.resolve, never raises on a symlink loop
    return os.path.realpath(path)


def _inside(path: Path, folder: str | None) -> bool:
    if folder is None:
        return False
    real = _real(path)
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def entry_problem(path: Path) -> tuple[str | None, str]:
    """What ``path`` is, without opening it: ``(None, "file" | "dir")``, or ``(problem, "")`` for a dangling
    symlink, a symlink loop, a FIFO, socket or device (opening one could block forever), or a path that cannot
    be examined. ``("missing", "")`` when nothing at all is there."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ("dangling symlink" if os.path.islink(path) else "missing"), ""
    except OSError as e:
        return ("symlink loop" if e.errno == errno.ELOOP else f"cannot examine: {e.strerror or e}"), ""
    if stat.S_ISREG(st.st_mode):
        return None, "file"
    if stat.S_ISDIR(st.st_mode):
        return None, "dir"
    return "not a regular file (FIFO, socket or device)", ""


def collect_images(
    paths: Sequence[Path], *, recursive: bool = False, exclude: Path | None = None,
    problems: list[tuple[Path, str]] | None = None,
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Expand files and folders into (image, path relative to its root) pairs, sorted.

    Files given explicitly are taken as is (relative path = file name). Folders yield their
    image files (and, with ``recursive``, those of subfolders, relative to the folder given;
    symlinked subfolders are not followed, so a link loop cannot recurse). Hidden files and folders
    and anything under ``exclude`` (the output folder, so a re-run never takes earlier outputs as
    inputs) are ignored, and so are this tool's recorded outputs beside their source. Returns
    (images, non-image files). Only regular files are taken: a dangling link, a link loop, a FIFO
    or a folder that cannot be listed is appended to ``problems`` as (path, message), given or named
    explicitly alike, and the scan goes on.

    Raises:
        InputError: a path does not exist.
    """
    from restore.errors import InputError
    from restore.io import is_image_path

    found = problems if problems is not None else []
    excl = _real(exclude) if exclude is not None else None
    images: list[tuple[Path, Path]] = []
    others: list[Path] = []

    def take(f: Path, rel: Path) -> None:
        why, kind = entry_problem(f)
        if why is not None:
            found.append((f, why))
        elif kind == "file":
            (images.append((f, rel)) if is_image_path(f) else others.append(f))
        # a folder reached here is a symlinked one under a scanned folder: not followed

    for root in paths:
        why, kind = entry_problem(root)
        if why == "missing":
            raise InputError(f"{root}: no such file or folder")
        if kind != "dir":
            take(root, Path(root.name))
            continue
        # Output folder == this input folder: nothing to exclude (outputs get a suffix instead).
        excl_here = excl if excl is not None and excl != _real(root) else None
        stack = [root]
        while stack:
            d = stack.pop()
            try:
                with os.scandir(d) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as e:
                found.append((d, f"cannot list folder: {e.strerror or e}"))
                continue
            subdirs = []
            for e in entries:
                f = Path(e.path)
                if _is_hidden(e.name) or _inside(f, excl_here):
                    continue
                try:
                    is_real_dir = e.is_dir(follow_symlinks=False)
                except OSError:
                    is_real_dir = False
                if is_real_dir:
                    if recursive:
                        subdirs.append(f)
                    continue
                take(f, f.relative_to(root) if recursive else Path(e.name))
            stack.extend(reversed(subdirs))
    return _without_derived(images), others


#: smallest --tile that does not waste most of the work on context margins
MIN_FAST_TILE = 128

#: suffixes of the outputs this tool writes beside their input by default (inpaint) or into the input's folder
INPAINT_SUFFIX = "_inpainted"
#: the suffix of a restored (denoised) output written into its input's folder
DENOISE_SUFFIX = "_denoised"
DERIVED_SUFFIXES = (INPAINT_SUFFIX, DENOISE_SUFFIX, "_x2", "_x3", "_x4")


def _without_derived(images: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Drop, from a folder scan, the images that are this tool's own outputs beside their source (``a_x4.png``,
    ``a_inpainted.png`` or ``a_denoised.png`` next to ``a.png``) as its folder's manifest records them: a re-run, or the next
    command on the folder, must not take them for inputs. A file that merely looks like one (a user's own
    ``a_x4.png``, which the manifest does not record) is an input."""
    from restore.manifest import Manifest

    stems = {(src.parent, src.stem) for src, _ in images}
    manifest = Manifest()
    out = []
    for src, rel in images:
        base = next((src.stem[: -len(sfx)] for sfx in DERIVED_SUFFIXES if src.stem.endswith(sfx)), None)
        if base and (src.parent, base) in stems and manifest.is_recorded(src):
            continue
        out.append((src, rel))
    return out


def output_is_file(out: Path, n_inputs: int, single_file: bool) -> bool:
    """Whether ``-o out`` names the output file itself: one input file, and ``out`` an image name, not a folder."""
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
        return os.path.normcase(_real(p))

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
