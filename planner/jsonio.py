"""Small JSON helpers shared by every package: atomic writes, strict reading of JSON files and
logs, and strict dataclass loading."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
import tempfile
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from planner.validate import InputError

T = TypeVar("T")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text to path so that readers see the old file or the new one, never a torn one."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write data atomically (temporary file, fsync, rename). Only a regular file is ever replaced:
    a symlink is followed to its target, and a FIFO, device, socket or folder is refused."""
    target = writable_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def writable_target(path: str | os.PathLike, flag: str = "") -> Path:
    """The file that writing to path replaces: path itself, or the end of its symlinks; InputError
    (naming flag, e.g. "--out") when that exists and is not a regular file."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):  # a new file (under a file: check_output_path says so)
        return target
    if not stat.S_ISREG(mode):
        kind = KINDS.get(stat.S_IFMT(mode), "not a regular file")
        via = f" (a link to {target})" if str(target) != os.path.abspath(path) else ""
        raise InputError(f"{flag + ' ' if flag else ''}{path}{via} is {kind}; only a regular file is ever "
                         "replaced: give a file name")
    return target


def check_output_path(path: str | os.PathLike, flag: str) -> None:
    """Refuse, before any work is done, an output path that cannot be written: not a regular file,
    or no writable folder to hold it."""
    folder = writable_target(path, flag).parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{flag} {path} cannot be written: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path} cannot be written: the folder {folder} is not writable")


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename or a new file in folder durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write obj as indented JSON, atomically; NaN or infinity is refused (JSON has neither)."""
    atomic_write_text(path, dumps(obj, f"{path}", indent=2) + "\n")


def as_stored(obj: Any) -> Any:
    """obj as a JSON file holds it and reads it back (a tuple is a list there): compare with this."""
    return json.loads(json.dumps(obj))


def dumps(obj: Any, what: str, **kwargs: Any) -> str:
    """json.dumps that refuses NaN and infinity (not JSON) with an InputError naming where one is."""
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError:
        raise InputError(f"{what} would hold {_non_finite(obj)}, which JSON cannot represent; "
                         "nothing was written") from None


def _non_finite(obj: Any, where: str = "") -> str | None:
    """'key.path = nan' of the first NaN or infinity inside obj, or None."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return f"{where or 'the value'} = {obj!r}"
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for key, value in items:
        found = _non_finite(value, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


MAX_DIGITS = 40  # the longest integer a spendwise file holds: a 128-bit RNG state word has 39 digits


class _HugeInteger(ValueError):
    """An integer literal longer than MAX_DIGITS (float() of it would overflow)."""


def _parse_int(text: str) -> int:
    if len(text) > MAX_DIGITS + 1:
        raise _HugeInteger(text)
    return int(text)


def parse_json(text: str | bytes, where: str) -> Any:
    """Parse JSON text strictly: malformed text, nesting deep enough to exhaust the stack, and
    integers too long for any field (10**400 would overflow float) are an InputError naming where."""
    try:
        return json.loads(text, parse_int=_parse_int)
    except _HugeInteger as e:
        raise InputError(f"{where} holds an integer of {len(str(e))} digits, longer than any field allows") from None
    except RecursionError:
        raise InputError(f"{where} is nested too deeply to be a spendwise file") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{where} is not valid JSON (line {e.lineno}: {e.msg})") from None
    except UnicodeDecodeError:
        raise InputError(f"{where} is not valid JSON (not UTF-8 text)") from None


def read_bytes(path: str | os.PathLike, what: str) -> bytes:
    """A regular file's bytes; a missing or unreadable file, or one that is not a regular file (a
    FIFO would block the read, a folder has no bytes), is an InputError naming it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO must not wait for a writer
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as e:
        raise InputError(f"{what} {path} cannot be read ({e.__class__.__name__})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{what} {path} is {KINDS.get(stat.S_IFMT(mode), 'not a regular file')}, not a file")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as e:
        raise InputError(f"{what} {path} cannot be read ({e.__class__.__name__})") from None
    finally:
        os.close(fd)


def read_json(path: str | os.PathLike, what: str) -> Any:
    """Read a JSON file (parse_json), turning a missing or unreadable file into an InputError naming it."""
    return parse_json(read_bytes(path, what), f"{what} {path}")


def read_jsonl(path: str | os.PathLike, what: str) -> list[dict]:
    """Read a JSON-lines log strictly: a torn last line or a corrupted line is an InputError."""
    lines = read_bytes(path, what).split(b"\n")
    if lines[-1] != b"":
        raise InputError(f"{what} {path} ends with a truncated line {len(lines)}; it was left untouched")
    out = []
    for i, line in enumerate(lines[:-1], 1):
        at = f"{what} {path} line {i}"
        try:
            record = parse_json(line, at)
        except InputError as e:
            why = f"{at} is corrupted (not JSON)" if str(e).startswith(f"{at} is not valid JSON") else str(e)
            raise InputError(f"{why}; it was left untouched") from None
        if not isinstance(record, dict):
            raise InputError(f"{what} {path} line {i} is not a JSON object; it was left untouched")
        out.append(record)
    return out


def from_dict(cls: type[T], data: Any, what: str) -> T:
    """Build the dataclass cls from a dict, refusing unknown keys and wrongly typed values."""
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object, not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InputError(f"{what} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    kwargs = {k: _coerce(v, hints[k], f"{what} key {k!r}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise InputError(f"{what}: {e}") from None


def _coerce(value: Any, hint: Any, what: str) -> Any:
    """Check value against a simple type hint (float, int, str, bool, tuples/lists and Optionals of them)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        return _coerce(value, hint, what)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{what} must be a list, not {value!r}")
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner, what) for v in value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{what} must be a number, not {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise InputError(f"{what} must be a whole number, not {value!r}")
        return int(value)
    if hint is bool and not isinstance(value, bool):
        raise InputError(f"{what} must be true or false, not {value!r}")
    if hint is str and not isinstance(value, str):
        raise InputError(f"{what} must be a string, not {value!r}")
    return value
