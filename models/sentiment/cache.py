"""Uncompressed, memory-mapped copies of arrays that packages ship compressed.

Decompressing the USE token table and the language identifier's model cost about a second of
every model load; mapped from plain .npy files, only the pages a process touches are read, and
processes on one machine share them. Copies live in ``VIGIE_CACHE_DIR`` (default
``~/.cache/vigie``), named after the source file's size and mtime so a package upgrade makes new
ones; plain .npy, never pickle. Without a writable cache the arrays are rebuilt in memory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    return Path(os.environ.get("VIGIE_CACHE_DIR", Path.home() / ".cache" / "vigie"))


def cached_arrays(source: Path, name: str,
                  build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``build()``'s arrays, mapped copy-on-write from the cache (written on first use)."""
    stat = source.stat()
    folder = cache_dir() / f"{name}-{stat.st_size}-{stat.st_mtime_ns}"
    if not folder.is_dir():
        arrays = build()
        if not _write(folder, arrays):
            return arrays
    # Copy-on-write: torch wants writable arrays; nothing writes to them.
    return {f.stem: np.load(f, mmap_mode="c", allow_pickle=False)
            for f in sorted(folder.glob("*.npy"))}


def _write(folder: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write the folder atomically (a reader never sees half of it); False if it cannot be."""
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    try:
        partial.mkdir(parents=True, exist_ok=True)
        for key, array in arrays.items():
            np.save(partial / f"{key}.npy", array, allow_pickle=False)
        os.rename(partial, folder)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        return folder.is_dir()  # another process may have just written it
    return True
