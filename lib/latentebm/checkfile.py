"""Checked files: a ``torch.save`` payload stored with the config it was made under and a SHA-256 checksum.

Training checkpoints (``training.loop.Checkpointer``) and saved models (``models.store``) both use this format::

    {"format": "latentebm-checked-1", "kind": "checkpoint", "config": {...plain values...}, "payload": {...},
     "sha256": "..."}

The checksum runs over the config and the payload in a canonical order: every tensor's dtype, shape and bytes,
every number's ``repr``, dict entries sorted by key. Reading (``torch.load(weights_only=True)``) turns every way
a file can be broken (empty, truncated, random bytes, a flipped bit in a weight, an older format) into one error
of the caller's class whose message names the file and says what is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = "latentebm-checked-1"


def plain(value: Any, where: str = "config") -> Any:
    """``value`` as plain values (dicts with string keys, lists, str, int, float, bool, None), recursively.

    Dataclasses become dicts of their fields, tuples lists; NumPy
    scalars, paths, torch dtypes and devices become numbers or strings; anything else
    is a TypeError naming where it sits (``config['recipe']['sizes'][2]``)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path | torch.dtype | torch.device):
        return str(value)
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"{where} has a non-string key {key!r}; a config holds plain values")
        return {key: plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"{where} is {type(value).__name__} {value!r}; a config holds plain values")


def _feed(digest: Any, value: Any) -> None:
    """Feed ``value`` to ``digest`` in a canonical, type-tagged encoding (same bytes after a save/load trip)."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"T{tensor.dtype}{tuple(value.shape)}:".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    elif isinstance(value, Mapping):
        keys = sorted(value, key=lambda key: (type(key).__name__, repr(key)))
        digest.update(f"D{len(keys)}:".encode())
        for key in keys:
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, list | tuple):
        digest.update(f"{'L' if isinstance(value, list) else 'U'}{len(value)}:".encode())
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, bool | int | float | str):
        text = repr(value)
        digest.update(f"{type(value).__name__[0]}{len(text)}:{text}".encode())
    else:
        raise TypeError(f"cannot checksum a {type(value).__name__}; store tensors and plain values")


def checksum(config: Any, payload: Any) -> str:
    """SHA-256 (hex) of ``config`` and ``payload`` in the canonical encoding."""
    digest = hashlib.sha256()
    _feed(digest, config)
    _feed(digest, payload)
    return digest.hexdigest()


def write(path: Path | str, payload: Mapping[str, Any], config: Mapping[str, Any] | None = None,
          kind: str = "file") -> Path:
    """Write ``payload`` (tensors, state dicts, plain values) with ``config`` (plain values) and their checksum to
    ``path``, atomically (a temporary file renamed into place), marked as a ``kind`` file. Returns the path."""
    path = Path(path)
    config = plain(dict(config or {}))
    payload = dict(payload)
    record = {"format": FORMAT, "kind": kind, "config": config, "payload": payload,
              "sha256": checksum(config, payload)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(record, tmp)
    tmp.replace(path)
    return path


def read(path: Path | str, error: type[Exception] = ValueError, kind: str = "file") -> tuple[dict, dict]:
    """``(payload, config)`` from a ``kind`` file written by :func:`write`, tensors on the CPU, checksum verified.

    A file that is empty, cannot be read (truncated, random bytes), is in another format or of another kind, or
    fails its checksum raises ``error`` with a message naming the file. The caller checks that the file exists."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise error(f"{kind} {path} is empty (0 bytes); delete it and run again")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as failure:  # noqa: BLE001 - torch raises RuntimeError, EOFError, UnpicklingError, ...
        raise error(f"{kind} {path} cannot be read ({size} bytes; truncated or corrupted: "
                    f"{type(failure).__name__}); delete it and run again") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT or "sha256" not in record:
        raise error(f"{kind} {path} is not a checked {FORMAT} file (written by an older version, or another "
                    "program); delete it and run again")
    if record.get("kind") != kind:
        raise error(f"{kind} {path} is a {record.get('kind')!r} file, not a {kind}")
    try:
        expected = checksum(record.get("config"), record.get("payload"))
    except TypeError as failure:
        raise error(f"{kind} {path} holds values this format never writes ({failure}): it is corrupted") from None
    if record["sha256"] != expected:
        raise error(f"{kind} {path} fails its checksum (stored {record['sha256'][:16]}..., contents give "
                    f"{expected[:16]}...): the file is corrupted; delete it and run again")
    return dict(record["payload"]), dict(record["config"])


_ABSENT = object()


def same(a: Any, b: Any) -> bool:
    """Equal as plain values: tuples as lists, NaN equal to NaN, but ``1`` not ``1.0`` and ``True`` not ``1``."""
    if a is _ABSENT or b is _ABSENT:
        return a is b
    a, b = plain(a, "value"), plain(b, "value")
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def differences(saved: Mapping[str, Any], wanted: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``["key: old -> new", ...]`` for every entry whose value differs, nested dicts as ``outer.inner``."""
    lines = []
    for key in sorted(set(saved) | set(wanted), key=str):
        old, new = saved.get(key, _ABSENT), wanted.get(key, _ABSENT)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            lines += differences(old, new, f"{prefix}{key}.")
        elif not same(old, new):
            lines.append(f"{prefix}{key}: {_show(old)} -> {_show(new)}")
    return lines


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else repr(value)
