"""Where the Parquet tables live: the data dir, another local folder, or an object store (issue 17).

``parquet_uri`` (``ingest.yaml``, ``$DJ_PARQUET_URI``) places the Parquet system of record:

* ``""`` (default): ``<data>/parquet``, a local :class:`~pathlib.Path`, as always;
* a local path or ``file:///...`` URI (a shared filesystem such as NFS mounted on every node): a
  local ``Path`` too, so every reader and writer works on it unchanged;
* any other URI (``s3://bucket/prefix``, ``gs://...``, ``memory://...`` with fsspec): a
  :class:`TablePath` on the ``pyarrow.fs`` filesystem of the URI (pyarrow's own for ``s3``, ``gs``,
  ``hdfs``; through fsspec for other schemes when fsspec is installed).

``TablePath`` has the few ``pathlib.Path`` operations the storage code uses (``/``, ``name``,
``parent``, ``exists``, ``glob`` ...), so callers stay as they are; it has no ``__fspath__``, so an
``os``/``open`` call that only works on local files fails loudly instead of writing a stray local
file. Parquet reads go through :func:`read_arrow_table` / :func:`parquet_file`, which pass the
filesystem to pyarrow.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

LOCAL_SCHEMES = ("", "file", "local")
PYARROW_SCHEMES = ("s3", "gs", "gcs", "hdfs", "abfs", "abfss")  # pyarrow.fs builds these itself


class TablePath:
    """A file or folder on a ``pyarrow.fs`` filesystem, with the ``pathlib`` subset storage uses."""

    def __init__(self, fs: pafs.FileSystem, fs_path: str, scheme: str) -> None:
        self.fs = fs
        self.fs_path = fs_path.rstrip("/") or "/"
        self.scheme = scheme

    def __truediv__(self, name: str) -> TablePath:
        return TablePath(self.fs, f"{self.fs_path.rstrip('/')}/{name}", self.scheme)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.fs_path.lstrip('/')}" if self.scheme in PYARROW_SCHEMES else f"{self.scheme}://{self.fs_path}"

    def __repr__(self) -> str:
        return f"TablePath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TablePath) and (self.scheme, self.fs_path) == (other.scheme, other.fs_path)

    def __hash__(self) -> int:
        return hash((self.scheme, self.fs_path))

    def __lt__(self, other: TablePath) -> bool:
        return self.fs_path < other.fs_path

    @property
    def name(self) -> str:
        return self.fs_path.rsplit("/", 1)[-1]

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0] if "." in self.name else self.name

    @property
    def parent(self) -> TablePath:
        head = self.fs_path.rsplit("/", 1)[0]
        return TablePath(self.fs, head or "/", self.scheme)

    def _info(self) -> Any:
        return self.fs.get_file_info(self.fs_path)

    def exists(self) -> bool:
        import pyarrow.fs as pafs

        return self._info().type != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        import pyarrow.fs as pafs

        return self._info().type == pafs.FileType.Directory

    def is_file(self) -> bool:
        import pyarrow.fs as pafs

        return self._info().type == pafs.FileType.File

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Create the folder (object stores have none: harmless there)."""
        self.fs.create_dir(self.fs_path, recursive=parents)

    def _children(self, recursive: bool = False) -> list[Any]:
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(self.fs_path, allow_not_found=True, recursive=recursive)
        return self.fs.get_file_info(selector)

    def iterdir(self) -> list[TablePath]:
        return [TablePath(self.fs, info.path, self.scheme) for info in self._children()]

    def glob(self, pattern: str) -> list[TablePath]:
        """Direct children whose name matches ``pattern`` (no ``**``: the storage layout is flat)."""
        return [p for p in self.iterdir() if fnmatch.fnmatchcase(p.name, pattern)]

    def files_with_mtime(self, pattern: str) -> list[tuple[TablePath, float | None]]:
        """Every file below this folder whose name matches ``pattern``, with its mtime (``None``: unknown)."""
        import pyarrow.fs as pafs

        out = []
        for info in self._children(recursive=True):
            name = info.path.rsplit("/", 1)[-1]
            if info.type == pafs.FileType.File and fnmatch.fnmatchcase(name, pattern):
                out.append((TablePath(self.fs, info.path, self.scheme), info.mtime.timestamp() if info.mtime else None))
        return out

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.delete_file(self.fs_path)
        except FileNotFoundError:
            if not missing_ok:
                raise


AnyPath = Path | TablePath


def resolve_parquet_dir(uri: str, default: Path) -> AnyPath:
    """Where the Parquet tables are for ``uri`` (see the module docstring); ``default`` when empty."""
    uri = (uri or "").strip()
    if not uri:
        return default
    parsed = urlparse(uri)
    if len(parsed.scheme) <= 1 or parsed.scheme in LOCAL_SCHEMES:  # a plain path (or a Windows drive letter)
        local = parsed.path if parsed.scheme in ("file", "local") else uri
        return Path(local).expanduser().resolve()
    if parsed.scheme in PYARROW_SCHEMES:
        import pyarrow.fs as pafs

        fs, fs_path = pafs.FileSystem.from_uri(uri)
        return TablePath(fs, fs_path, parsed.scheme)
    return _fsspec_path(uri, parsed.scheme)


def _fsspec_path(uri: str, scheme: str) -> TablePath:
    try:
        import fsspec
    except ImportError:
        raise ValueError(f"parquet_uri {uri!r}: scheme {scheme!r} needs fsspec (pip install fsspec)") from None
    import pyarrow.fs as pafs

    fs, fs_path = fsspec.core.url_to_fs(uri)
    return TablePath(pafs.PyFileSystem(pafs.FSSpecHandler(fs)), fs_path if fs_path.startswith("/") else f"/{fs_path}", scheme)


def as_table_path(path: str | os.PathLike | TablePath) -> AnyPath:
    """``path`` as a ``Path`` unless it already is a ``TablePath``."""
    return path if isinstance(path, TablePath) else Path(path)


def arrow_source(path: AnyPath) -> tuple[str, pafs.FileSystem | None]:
    """``(path, filesystem)`` arguments for pyarrow's readers."""
    return (path.fs_path, path.fs) if isinstance(path, TablePath) else (str(path), None)


def read_arrow_table(path: AnyPath, columns: list[str] | None = None) -> pa.Table:
    """``pyarrow.parquet.read_table`` of a local or remote table file."""
    import pyarrow.parquet as pq

    source, fs = arrow_source(path)
    return pq.read_table(source, columns=columns, filesystem=fs)


def parquet_file(path: AnyPath) -> pq.ParquetFile:
    """``pyarrow.parquet.ParquetFile`` of a local or remote table file (footer only is read)."""
    import pyarrow.parquet as pq

    source, fs = arrow_source(path)
    return pq.ParquetFile(source, filesystem=fs)


def move_out(src: AnyPath, target: Path) -> None:
    """Move a table file to a local ``target`` (kept for a person to look at), across filesystems."""
    if isinstance(src, TablePath):
        with src.fs.open_input_stream(src.fs_path) as fh, open(target, "wb") as out:
            shutil.copyfileobj(fh, out)
        src.unlink()
    else:
        shutil.move(src, target)  # os.rename when on one filesystem, else copy + delete
