"""What produced each output of a batch: a JSON-lines file in each output folder, so that a re-run knows whether an
existing output answers the same request (skip it: resume) or another one (redo it).

One line per written output: ``{"file": "<name>", "request": {...}}``; the last line for a name wins. Lines are
appended (a batch of a million files does not rewrite a million-entry file), and a torn last line from a killed
run is ignored. Outputs without a line (written by something else, or before manifests existed) are left alone:
the batch skips them as before.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

NAME = ".restore-manifest.jsonl"


class Manifest:
    """The requests behind the outputs under the folders of a batch (read lazily, one file per folder)."""

    def __init__(self) -> None:
        self._folders: dict[Path, dict[str, dict[str, Any]]] = {}

    def _load(self, folder: Path) -> dict[str, dict[str, Any]]:
        folder = folder.resolve()
        if folder not in self._folders:
            entries: dict[str, dict[str, Any]] = {}
            try:
                with open(folder / NAME, encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            rec = json.loads(line)
                            entries[str(rec["file"])] = rec["request"]
                        except (ValueError, KeyError, TypeError):
                            continue  # a torn or foreign line
            except OSError:
                pass
            self._folders[folder] = entries
        return self._folders[folder]

    def request_of(self, output: Path) -> dict[str, Any] | None:
        """The request recorded for ``output``, or None when there is none."""
        return self._load(output.parent).get(output.name)

    def record(self, output: Path, request: dict[str, Any]) -> None:
        """Append ``output``'s request (best effort: a read-only folder loses only the record)."""
        self._load(output.parent)[output.name] = request
        line = json.dumps({"file": output.name, "request": request}, sort_keys=True) + "\n"
        try:
            fd = os.open(output.parent / NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError:
            pass


def describe(request: dict[str, Any]) -> str:
    """A short human form of a request, for messages."""
    return ", ".join(f"{k} {v}" for k, v in sorted(request.items()) if k != "op")
