"""The musicnn network (Pons & Serra, 2019) rebuilt in PyTorch, for its published checkpoints.

Architecture as in the ``musicnn`` package's ``models.build_musicnn`` (ISC licence, MTG-UPF):

- input: log-compressed mel patches ``[batch, frames, 96]``, batch-normalised (one channel);
- front end: two *timbral* convolutions (7 frames x 38 / 67 mel bands, 204 filters) and three
  *temporal* convolutions (128 / 64 / 32 frames x 1 band, 51 filters), each ReLU -> batch norm ->
  max over frequency, concatenated to 561 channels per frame;
- mid end: three 7-frame 1-D convolutions of 64 filters (ReLU -> batch norm, the last two residual),
  densely connected with the front end: 561 + 3 x 64 = 753 channels per frame;
- back end: max and mean over time (interleaved per channel, as TF flattened them), batch norm,
  dense 1506 -> 200 (ReLU, batch norm: the *penultimate* layer), dense 200 -> 50 tag logits.

TF layouts are NHWC with kernels ``[h, w, in, out]``; here the time axis is the conv "height" and
batch norm uses TF's epsilon (1e-3). :func:`load_tf_weights` maps the checkpoint's variable names
(``conv2d_<i>``, ``batch_normalization_<i>``, ``dense[_1]``, in the order TF created them) onto
this module, so the rebuilt net computes what the original does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

TF_BN_EPS = 1e-3
N_MELS = 96
TIMBRAL_KERNELS = ((7, 38), (7, 67))  # (frames, mel bands) = (7, int(0.4*96)), (7, int(0.7*96))
TEMPORAL_KERNELS = (128, 64, 32)  # frames
TIMBRAL_FILTERS, TEMPORAL_FILTERS = 204, 51  # int(1.6*128), int(1.6*32)
TIME_PAD = 3  # 7-frame kernels padded 3 + 3 (TF pads time only, then convolves "valid")


def _tf_same_pad(kernel: int) -> tuple[int, int]:
    """TF "same" padding of a stride-1 kernel: the extra frame goes after."""
    total = kernel - 1
    return total // 2, total - total // 2


def _relu_bn_freq_max(z: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    """``max over frequency of bn(relu(z))`` for ``z`` ``[B, C, T, F]``, computed on the pooled map.

    Inference batch norm is a per-channel affine ``a * v + b``, and ReLU is monotonic, so the
    maximum over frequency is ``a * relu(max z) + b`` where ``a >= 0`` and ``a * relu(min z) + b``
    where ``a < 0``: the same numbers as pooling last, without normalising the full map (2-3x the
    pooled size times 59-96 bands) first.
    """
    if bn.training:
        return bn(F.relu(z)).amax(dim=3)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    pooled = F.relu(z.amax(dim=3))
    if bool((scale < 0).any()):
        pooled = torch.where((scale >= 0)[None, :, None], pooled, F.relu(z.amin(dim=3)))
    return pooled * scale[None, :, None] + shift[None, :, None]


class MusicnnNet(nn.Module):
    """musicnn with its intermediate outputs; ``forward`` returns a dict of pooled features."""

    def __init__(self, n_classes: int = 50, midend_filters: int = 64, backend_units: int = 200) -> None:
        super().__init__()
        self.bn_input = nn.BatchNorm2d(1, eps=TF_BN_EPS)
        self.timbral = nn.ModuleList(nn.Conv2d(1, TIMBRAL_FILTERS, k) for k in TIMBRAL_KERNELS)
        self.timbral_bn = nn.ModuleList(nn.BatchNorm2d(TIMBRAL_FILTERS, eps=TF_BN_EPS) for _ in TIMBRAL_KERNELS)
        self.temporal = nn.ModuleList(nn.Conv2d(1, TEMPORAL_FILTERS, (k, 1)) for k in TEMPORAL_KERNELS)
        self.temporal_bn = nn.ModuleList(nn.BatchNorm2d(TEMPORAL_FILTERS, eps=TF_BN_EPS) for _ in TEMPORAL_KERNELS)
        front = len(TIMBRAL_KERNELS) * TIMBRAL_FILTERS + len(TEMPORAL_KERNELS) * TEMPORAL_FILTERS
        self.midend = nn.ModuleList(nn.Conv1d(c, midend_filters, 7) for c in (front, midend_filters, midend_filters))
        self.midend_bn = nn.ModuleList(nn.BatchNorm1d(midend_filters, eps=TF_BN_EPS) for _ in range(3))
        self.pool_dim = front + 3 * midend_filters
        self.bn_pool = nn.BatchNorm1d(2 * self.pool_dim, eps=TF_BN_EPS)
        self.dense = nn.Linear(2 * self.pool_dim, backend_units)
        self.bn_dense = nn.BatchNorm1d(backend_units, eps=TF_BN_EPS)
        self.logits = nn.Linear(backend_units, n_classes)

    def frame_features(self, mel: torch.Tensor) -> torch.Tensor:
        """``[batch, 753, frames]``: front-end and mid-end features per frame of ``[batch, frames, 96]``."""
        x = self.bn_input(mel.unsqueeze(1))  # [B, 1, T, F]
        padded = F.pad(x, (0, 0, TIME_PAD, TIME_PAD))
        maps = [_relu_bn_freq_max(conv(padded), bn) for conv, bn in zip(self.timbral, self.timbral_bn)]
        for conv, bn, k in zip(self.temporal, self.temporal_bn, TEMPORAL_KERNELS):
            maps.append(_relu_bn_freq_max(conv(F.pad(x, (0, 0, *_tf_same_pad(k)))), bn))
        front = torch.cat(maps, dim=1)  # [B, 561, T]
        outs = [front]
        h = front
        for i, (conv, bn) in enumerate(zip(self.midend, self.midend_bn)):
            y = bn(F.relu(conv(F.pad(h, (TIME_PAD, TIME_PAD)))))
            h = y if i == 0 else y + h
            outs.append(h)
        return torch.cat(outs, dim=1)

    def forward(self, mel: torch.Tensor) -> dict[str, torch.Tensor]:
        """Pooled features of each patch: ``max_pool``/``mean_pool`` (753), ``penultimate`` (200), ``taggram`` (50)."""
        feats = self.frame_features(mel)
        max_pool, mean_pool = feats.amax(dim=2), feats.mean(dim=2)
        flat = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # TF order: per channel (max, mean)
        penultimate = self.bn_dense(F.relu(self.dense(self.bn_pool(flat))))
        return {
            "max_pool": max_pool,
            "mean_pool": mean_pool,
            "penultimate": penultimate,
            "taggram": torch.sigmoid(self.logits(penultimate)),
        }


def _bn(name: str) -> dict[str, str]:
    return {"weight": f"{name}/gamma", "bias": f"{name}/beta", "running_mean": f"{name}/moving_mean", "running_var": f"{name}/moving_variance"}


def tf_name_map(net: MusicnnNet) -> list[tuple[nn.Module, dict[str, str], str]]:
    """(module, {torch param: TF variable}, kind) in TF creation order (see the module docstring)."""
    convs = list(net.timbral) + list(net.temporal) + list(net.midend)
    bns = [net.bn_input, *net.timbral_bn, *net.temporal_bn, *net.midend_bn, net.bn_pool, net.bn_dense]
    out: list[tuple[nn.Module, dict[str, str], str]] = []
    for i, conv in enumerate(convs):
        name = "conv2d" if i == 0 else f"conv2d_{i}"
        out.append((conv, {"weight": f"{name}/kernel", "bias": f"{name}/bias"}, "conv"))
    for i, bn in enumerate(bns):
        out.append((bn, _bn("batch_normalization" if i == 0 else f"batch_normalization_{i}"), "bn"))
    out.append((net.dense, {"weight": "dense/kernel", "bias": "dense/bias"}, "dense"))
    out.append((net.logits, {"weight": "dense_1/kernel", "bias": "dense_1/bias"}, "dense"))
    return out


def _to_torch(value: np.ndarray, kind: str, param: str, target: torch.Tensor) -> torch.Tensor:
    """A TF array in the layout of ``target``: conv kernels ``[h, w, in, out]`` -> ``[out, in, h, w]``
    (1-D mid-end kernels ``[7, C, 1, out]`` -> ``[out, C, 7]``), dense ``[in, out]`` -> ``[out, in]``."""
    a = np.asarray(value, dtype=np.float32)
    if kind == "conv" and param == "weight":
        a = a[:, :, 0, :].transpose(2, 1, 0) if target.dim() == 3 else a.transpose(3, 2, 0, 1)
    elif kind == "dense" and param == "weight":
        a = a.T
    t = torch.from_numpy(np.ascontiguousarray(a))
    if tuple(t.shape) != tuple(target.shape):
        raise ValueError(f"checkpoint tensor for {param} has shape {tuple(t.shape)}, the network wants {tuple(target.shape)}")
    return t


def load_tf_weights(net: MusicnnNet, variables: dict[str, Any]) -> MusicnnNet:
    """Copy checkpoint ``variables`` (name -> array) into ``net``; a missing or misshaped one raises."""
    with torch.no_grad():
        for module, params, kind in tf_name_map(net):
            for param, tf_name in params.items():
                if tf_name not in variables:
                    raise KeyError(f"checkpoint has no variable {tf_name!r}")
                target = getattr(module, param)
                target.copy_(_to_torch(variables[tf_name], kind, param, target))
    return net.eval()
