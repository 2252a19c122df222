"""Writes that cannot destroy: an output folder is checked before any work starts
(:func:`check_output_folder`), built in a temporary sibling and renamed into place
(:func:`atomic_folder`); single files are written to a temporary sibling and renamed
(:func:`write_atomic`). Reads of small JSON files name the file on any problem
(:func:`read_json_file`). Nothing here imports torch."""
from __future__ import annotations

import contextlib
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Iterator

from pyg_nar.errors import OutputExistsError

__all__ = ["check_output_folder", "check_creatable", "atomic_folder", "torch_file_problem", "write_atomic", "write_text", "read_json_file",
           "MAX_JSON_BYTES"]

#: The largest JSON file pyg_nar reads from a checkpoint or a dataset folder (metadata only).
MAX_JSON_BYTES = 16 * 2 ** 20


def check_output_folder(path: str, overwrite: bool = False, ours: Callable[[str], bool] | None = None,
                        what: str = "output folder", flag: str = "--overwrite") -> bool:
    """Whether ``path`` may be (re)written as an output folder; checked before any work.

    A missing path or an empty folder is fine (returns ``False``: nothing to replace). A
    folder that ``ours(path)`` recognises (a checkpoint pyg_nar wrote) may be replaced only
    with ``overwrite`` (returns ``True``). An existing file, or a non-empty folder that is not
    ours, is never touched: :class:`~pyg_nar.errors.OutputExistsError` naming it, at once.
    """
    if not osp.lexists(path):
        check_creatable(path, what)
        return False
    if not osp.isdir(path) or osp.islink(path):
        raise OutputExistsError(f"{path}: exists and is not a folder; choose another {what} "
                                f"(pyg_nar never replaces a file with a folder)")
    if not os.listdir(path):
        return False
    if ours is not None and ours(path):
        if overwrite:
            return True
        raise OutputExistsError(f"{path}: already holds a {what}; pass {flag} to replace it, "
                                f"or choose another one")
    raise OutputExistsError(f"{path}: is a folder with other files in it, which pyg_nar does not "
                            f"overwrite; choose a new or empty {what}")


def check_creatable(path: str, what: str = "output folder") -> None:
    """That the folder ``path`` (which does not exist) can be created: its nearest existing
    ancestor is a folder, not a file; else :class:`~pyg_nar.errors.OutputExistsError`."""
    ancestor = osp.dirname(osp.abspath(path))
    while not osp.lexists(ancestor):
        ancestor = osp.dirname(ancestor)
    if not osp.isdir(ancestor):
        raise OutputExistsError(f"{path}: cannot be created as a {what}, {ancestor} is a file")


@contextlib.contextmanager
def atomic_folder(path: str, replace: bool = False) -> Iterator[str]:
    """Build a folder in a temporary sibling (yielded) and rename it to ``path`` when the
    block ends without an error; on an error the sibling is removed and ``path`` is as it
    was. ``replace``: an existing ``path`` is moved aside, the new folder renamed in, then
    the old one removed (else an existing non-empty ``path`` is an
    :class:`~pyg_nar.errors.OutputExistsError`)."""
    path = osp.abspath(path)
    parent, name = osp.split(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=parent)
    try:
        yield tmp
        old = None
        if replace and osp.isdir(path) and os.listdir(path):
            old = tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=parent)
            os.rename(path, osp.join(old, name))
        try:
            os.rename(tmp, path)  # onto a missing path or an empty folder only
        except OSError:
            if old is not None:
                os.rename(osp.join(old, name), path)
            raise OutputExistsError(f"{path}: appeared while it was written; the new files are "
                                    f"in {tmp}") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_atomic(path: str, write: Callable[[str], None]) -> str:
    """Call ``write(tmp)`` on a temporary sibling of ``path`` and rename it to ``path``: a
    reader never sees a half-written file. Returns ``path``. A folder at ``path`` is never
    replaced: :class:`~pyg_nar.errors.OutputExistsError`, before ``write`` runs."""
    if osp.isdir(path):
        raise OutputExistsError(f"{path}: is a folder, where pyg_nar writes a file; it is not "
                                f"replaced: remove or rename it")
    parent, name = osp.split(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return path


def write_text(path: str, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` through :func:`write_atomic`. Returns ``path``."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return write_atomic(path, write)


def torch_file_problem(path: str) -> str | None:
    """What makes ``path`` unfit for ``torch.load(weights_only=True)`` before it is opened:
    ``None`` for a zip archive of uncompressed records (what ``torch.save`` writes; then
    loading it allocates no more than the file's size), else the reason (not a zip archive,
    or compressed records, which could inflate far beyond the file)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        return f"not a torch zip archive ({type(e).__name__})"
    if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
        return "it holds compressed records, which torch.save never writes"
    if sum(i.file_size for i in infos) > osp.getsize(path):
        return "its records claim more bytes than the file holds"
    return None


def read_json_file(path: str, error: type, expect: type | tuple = dict,
                   max_bytes: int = MAX_JSON_BYTES):
    """The JSON value of the file ``path``, of type ``expect``; ``error`` naming the file for a
    file that is too large, not UTF-8 (a BOM is accepted), not JSON or of another type."""
    try:
        size = osp.getsize(path)
        if size > max_bytes:
            raise error(f"{path}: {size} bytes, more than the {max_bytes} a pyg_nar JSON file may hold")
        with open(path, "rb") as f:
            text = f.read().decode("utf-8-sig")
        value = json.loads(text)
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise error(f"{path}: invalid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply") from None
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror or e})") from None
    if not isinstance(value, expect):
        names = " or ".join(t.__name__ for t in (expect if isinstance(expect, tuple) else (expect,)))
        kind = {dict: "object", list: "array"}
        raise error(f"{path}: expected a JSON {kind.get(expect, names)}, got {type(value).__name__}")
    return value
