"""A TensorFlow tensor-bundle *writer* for tests: random musicnn checkpoints without TensorFlow or
downloads, in the exact on-disk format of the checkpoints the musicnn wheel ships (a LevelDB-style
table ``.index`` of ``BundleEntryProto`` records and one ``.data-00000-of-00001`` shard)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from dj_pipeline.embeddings.tf_checkpoint import TABLE_MAGIC

DTYPE_CODES = {np.dtype("<f4"): 1, np.dtype("<i8"): 9}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _entry(dtype: np.dtype, shape: tuple[int, ...], offset: int, size: int) -> bytes:
    dims = b"".join(_field(2, _field(1, d)) for d in shape)
    return _field(1, DTYPE_CODES[dtype]) + _field(2, dims) + _field(4, offset) + _field(5, size)


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A table block with a restart point at every entry (no shared key prefixes)."""
    body, restarts = bytearray(), []
    for key, value in entries:
        restarts.append(len(body))
        body += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    return bytes(body) + b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))


def write_checkpoint(prefix: str, variables: dict[str, np.ndarray]) -> None:
    """Write ``variables`` as ``<prefix>.index`` + ``<prefix>.data-00000-of-00001``."""
    data, entries = bytearray(), [(b"", b"")]  # the empty key holds the bundle header
    for name in sorted(variables):
        arr = np.asarray(variables[name])  # (ascontiguousarray would turn a scalar into shape (1,))
        arr = arr.astype("<f4") if arr.dtype.kind == "f" else arr.astype("<i8")
        entries.append((name.encode(), _entry(arr.dtype, arr.shape, len(data), arr.nbytes)))
        data += arr.tobytes()
    out = bytearray()

    def add_block(block: bytes) -> bytes:
        handle = _varint(len(out)) + _varint(len(block))
        out.extend(block + b"\x00" + b"\x00\x00\x00\x00")  # type "no compression" + (unchecked) crc
        return handle

    data_handle = add_block(_block(entries))
    meta_handle = add_block(_block([]))
    index_handle = add_block(_block([(entries[-1][0], data_handle)]))
    footer = meta_handle + index_handle
    out += footer + b"\x00" * (40 - len(footer)) + struct.pack("<Q", TABLE_MAGIC)
    Path(prefix + ".index").write_bytes(bytes(out))
    Path(prefix + ".data-00000-of-00001").write_bytes(bytes(data))


def tf_variables(net) -> dict[str, np.ndarray]:  # noqa: ANN001 - a MusicnnNet
    """The TF-layout variables of a PyTorch musicnn (the inverse of ``load_tf_weights``)."""
    from dj_pipeline.embeddings.musicnn_net import tf_name_map

    out: dict[str, np.ndarray] = {}
    for module, params, kind in tf_name_map(net):
        for param, tf_name in params.items():
            a = getattr(module, param).detach().numpy()
            if kind == "conv" and param == "weight":
                a = a.transpose(2, 1, 0)[:, :, None, :] if a.ndim == 3 else a.transpose(2, 3, 1, 0)
            elif kind == "dense" and param == "weight":
                a = a.T
            out[tf_name] = a
    return out


def save_random_musicnn(directory: Path, seed: int = 0, n_classes: int = 50) -> Path:
    """A randomly initialised musicnn saved as a checkpoint the way the wheel ships it (``dir/.index``)."""
    import torch

    from dj_pipeline.embeddings.musicnn_net import MusicnnNet

    torch.manual_seed(seed)
    net = MusicnnNet(n_classes=n_classes)
    gen = np.random.default_rng(seed)
    with torch.no_grad():  # non-trivial batch-norm statistics, so a layout mistake shows up
        for bn in [m for m in net.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]:
            bn.running_mean.copy_(torch.from_numpy(gen.normal(0, 0.1, bn.running_mean.shape).astype(np.float32)))
            bn.running_var.copy_(torch.from_numpy(gen.uniform(0.5, 2.0, bn.running_var.shape).astype(np.float32)))
            bn.weight.copy_(torch.from_numpy(gen.uniform(0.5, 1.5, bn.weight.shape).astype(np.float32)))
    directory.mkdir(parents=True, exist_ok=True)
    variables = tf_variables(net)
    variables["dense/kernel/Adam"] = np.zeros((1,), np.float32)  # optimizer slots are skipped when read
    write_checkpoint(f"{directory}/", variables)  # "<dir>/.index", as in the wheel
    return directory
