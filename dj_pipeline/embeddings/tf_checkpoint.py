"""Read a TensorFlow checkpoint (tensor bundle: ``<prefix>.index`` + ``<prefix>.data-00000-of-00001``)
without TensorFlow.

Why: the musicnn wheel ships its weights as TF1 checkpoints and pins numpy < 1.17 and TensorFlow,
which cannot live beside this project's numpy 2. The bundle format is small and stable: the
``.index`` file is a LevelDB-style sorted table (uncompressed blocks) mapping each variable name
to a ``BundleEntryProto`` (dtype, shape, shard, offset, size), and the data file holds the raw
little-endian tensor bytes at those offsets. Only what the musicnn checkpoints use is supported:
one shard, uncompressed blocks, float32/int64/int32 tensors, no partitioned (sliced) variables.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TABLE_MAGIC = 0xDB4775248B80FB57  # LevelDB table magic, little-endian in the footer's last 8 bytes
FOOTER_BYTES = 48
BLOCK_TRAILER_BYTES = 5  # compression type (1 byte) + masked crc32c (4 bytes)
NO_COMPRESSION = 0
TF_DTYPES: dict[int, np.dtype] = {1: np.dtype("<f4"), 2: np.dtype("<f8"), 3: np.dtype("<i4"), 9: np.dtype("<i8")}


class CheckpointError(ValueError):
    """A file that is not a checkpoint this reader supports; the message says what is wrong."""


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    """A protobuf/LevelDB base-128 varint at ``buf[i]``: (value, next index)."""
    value = shift = 0
    while True:
        if i >= len(buf):
            raise CheckpointError("truncated varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs of one table block (prefix-compressed keys, restart array at the end)."""
    if len(block) < 4:
        raise CheckpointError("table block too short")
    n_restarts = struct.unpack("<I", block[-4:])[0]
    end = len(block) - 4 - 4 * n_restarts
    i, key = 0, b""
    while i < end:
        shared, i = _varint(block, i)
        unshared, i = _varint(block, i)
        value_len, i = _varint(block, i)
        key = key[:shared] + block[i : i + unshared]
        i += unshared
        yield key, block[i : i + value_len]
        i += value_len


def _read_block(data: bytes, handle: bytes) -> bytes:
    offset, j = _varint(handle, 0)
    size, _ = _varint(handle, j)
    if offset + size + BLOCK_TRAILER_BYTES > len(data):
        raise CheckpointError("block handle points past the end of the index file")
    if data[offset + size] != NO_COMPRESSION:
        raise CheckpointError("compressed index blocks are not supported")
    return data[offset : offset + size]


def read_table(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Every (key, value) of a LevelDB-format table held in ``data``, in key order."""
    if len(data) < FOOTER_BYTES or struct.unpack("<Q", data[-8:])[0] != TABLE_MAGIC:
        raise CheckpointError("not a TensorFlow checkpoint index (bad table magic)")
    footer = data[-FOOTER_BYTES:]
    _, i = _varint(footer, 0)  # metaindex offset
    _, i = _varint(footer, i)  # metaindex size
    index_block = _read_block(data, footer[i:])
    for _, handle in _block_entries(index_block):
        yield from _block_entries(_read_block(data, handle))


def _fields(msg: bytes) -> dict[int, list]:
    """A protobuf message's fields by number (varints as int, length-delimited as bytes)."""
    out: dict[int, list] = {}
    i = 0
    while i < len(msg):
        tag, i = _varint(msg, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = _varint(msg, i)
        elif wire == 2:
            n, i = _varint(msg, i)
            value, i = msg[i : i + n], i + n
        elif wire == 5:
            value, i = msg[i : i + 4], i + 4
        elif wire == 1:
            value, i = msg[i : i + 8], i + 8
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        out.setdefault(field, []).append(value)
    return out


def _entry(value: bytes) -> tuple[np.dtype, tuple[int, ...], int, int]:
    """(dtype, shape, offset, size) of a ``BundleEntryProto``."""
    f = _fields(value)
    if 7 in f:
        raise CheckpointError("partitioned (sliced) variables are not supported")
    if f.get(3, [0])[0] != 0:
        raise CheckpointError("multi-shard checkpoints are not supported")
    dtype_code = f.get(1, [0])[0]
    if dtype_code not in TF_DTYPES:
        raise CheckpointError(f"unsupported tensor dtype code {dtype_code}")
    shape = tuple(_fields(d).get(1, [0])[0] for d in _fields(f[2][0]).get(2, [])) if 2 in f else ()
    return TF_DTYPES[dtype_code], shape, f.get(4, [0])[0], f.get(5, [0])[0]


def checkpoint_files(prefix: str | os.PathLike) -> tuple[Path, Path]:
    """The ``.index`` and single data shard of the checkpoint at ``prefix`` (a directory means ``dir/``)."""
    p = Path(prefix)
    stem = str(p) + os.sep if p.is_dir() else str(p)
    index, data = Path(stem + ".index"), Path(stem + ".data-00000-of-00001")
    if not index.is_file() or not data.is_file():
        raise CheckpointError(f"no checkpoint at {prefix} (need {index.name} and {data.name})")
    return index, data


def read_checkpoint(prefix: str | os.PathLike, skip_prefixes: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """``{variable name: array}`` of a TF checkpoint; names starting with a ``skip_prefixes`` entry,
    or containing one of them as a path part (optimizer slots such as ``/Adam``), are left out."""
    index_file, data_file = checkpoint_files(prefix)
    blob = data_file.read_bytes()
    out: dict[str, np.ndarray] = {}
    for key, value in read_table(index_file.read_bytes()):
        name = key.decode("utf-8")
        if not name or any(name.startswith(s) or f"/{s}" in name for s in skip_prefixes):
            continue  # "" is the bundle header
        dtype, shape, offset, size = _entry(value)
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if size != n * dtype.itemsize or offset + size > len(blob):
            raise CheckpointError(f"variable {name}: size {size} does not match shape {shape}")
        out[name] = np.frombuffer(blob, dtype=dtype, count=n, offset=offset).reshape(shape).copy()
    return out
