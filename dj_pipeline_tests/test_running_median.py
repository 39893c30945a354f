"""The selection-network running median equals the median of each edge-padded window, ties included."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from dj_pipeline.analysis.running_median import median_network, running_median


def _reference(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    pad = [(0, 0)] * x.ndim
    pad[axis] = (size // 2, size // 2)
    return np.median(sliding_window_view(np.pad(x, pad, mode="edge"), size, axis=axis), axis=-1).astype(x.dtype)


@pytest.mark.parametrize("size", [1, 3, 5, 7, 9, 11, 17, 31])
@pytest.mark.parametrize("axis", [0, 1])
def test_equals_the_median_of_each_window(size: int, axis: int) -> None:
    rng = np.random.default_rng(size)
    x = (rng.random((40, 300)) ** 4).astype(np.float32)
    x[:, 50:90] = 0.25  # a held level: ties
    x[5:9] = rng.integers(0, 3, size=(4, 300))  # few distinct values: ties everywhere
    out = running_median(x, size, axis)
    assert out.shape == x.shape and out.dtype == x.dtype and out.flags.c_contiguous
    assert np.array_equal(out, _reference(x, size, axis))


def test_equals_scipys_median_filter_along_one_axis() -> None:
    from scipy.ndimage import median_filter

    mel = (np.random.default_rng(7).random((64, 500)) ** 4).astype(np.float32)
    assert np.array_equal(running_median(mel, 17, axis=1), median_filter(mel, size=(1, 17), mode="nearest"))
    assert np.array_equal(running_median(mel, 9, axis=0), median_filter(mel, size=(9, 1), mode="nearest"))


def test_short_axes_even_sizes_and_empty_input() -> None:
    x = np.arange(12, dtype=np.float64).reshape(3, 4) ** 2
    assert np.array_equal(running_median(x, 9, axis=1), _reference(x, 9, 1))  # window longer than the axis
    assert np.array_equal(running_median(x, 4, axis=0), _reference(x, 5, 0))  # even sizes round up, as before
    assert running_median(np.zeros((0, 5)), 9, axis=0).shape == (0, 5)


def test_the_network_is_pruned_to_the_middle_output() -> None:
    assert (len(median_network(9)), len(median_network(17))) == (24, 70)  # Batcher's sorts of 16 and 32 use 63 and 191
    for n in (3, 9, 17):
        rng = np.random.default_rng(n)
        for _ in range(200):
            v = list(rng.permutation(n))
            for i, j, keep_min, keep_max in median_network(n):
                lo, hi = min(v[i], v[j]), max(v[i], v[j])
                v[i], v[j] = (lo if keep_min else None), (hi if keep_max else None)
            assert v[n // 2] == (n - 1) // 2
