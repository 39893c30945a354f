"""musicnn backend: the TF checkpoint reader, the PyTorch rebuild, loading, fallback and ``auto``.

Every test runs on a fresh clone: checkpoints are random ones written by ``tiny_musicnn`` in the
wheel's on-disk format. The real wheel's weights (``pip install --no-deps musicnn``) and the real
dev set are only used by the tests marked so, which skip when they are absent.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dj_pipeline.config.embeddings import load_embeddings_config  # noqa: E402
from dj_pipeline.embeddings import BackendUnavailableError, fit_library_standardizer, get_embedder, resolve_backend  # noqa: E402
from dj_pipeline.embeddings.musicnn import MusicnnEmbedder, find_musicnn_checkpoint  # noqa: E402
from dj_pipeline.embeddings.musicnn_net import MusicnnNet, load_tf_weights  # noqa: E402
from dj_pipeline.embeddings.tf_checkpoint import CheckpointError, read_checkpoint  # noqa: E402
from dj_pipeline_tests.tiny_musicnn import save_random_musicnn, tf_variables, write_checkpoint  # noqa: E402

SR = 16000


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_musicnn(tmp_path_factory.mktemp("musicnn") / "MSD_musicnn", seed=3)


def _config(checkpoint: Path | str, **musicnn):  # noqa: ANN202
    return load_embeddings_config(overrides={"musicnn": {"checkpoint": str(checkpoint), **musicnn}, "clap": {"model": "/nonexistent/clap"}})


def _tone(freq_hz: float, seconds: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    noise = np.random.default_rng(seed).normal(0, 0.01, t.size)
    return (0.3 * np.sin(2 * np.pi * freq_hz * t) + noise).astype(np.float32)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    variables = {"a/kernel": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "b": np.array(7, dtype=np.int64), "c/bias": np.ones(5, np.float32)}
    write_checkpoint(f"{tmp_path}/ck", variables)
    back = read_checkpoint(tmp_path / "ck")
    assert sorted(back) == sorted(variables)
    for name, value in variables.items():
        np.testing.assert_array_equal(back[name], value)
        assert back[name].shape == value.shape


def test_checkpoint_reader_refuses_broken_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint(tmp_path / "missing")
    write_checkpoint(f"{tmp_path}/ck", {"x": np.zeros(3, np.float32)})
    (tmp_path / "ck.index").write_bytes(b"not a table" * 10)
    with pytest.raises(CheckpointError, match="magic"):
        read_checkpoint(tmp_path / "ck")


def test_tf_layout_mapping_reproduces_the_network() -> None:
    """Weights taken out in TF layout and loaded back give the same outputs (conv/dense/BN mapping)."""
    torch.manual_seed(0)
    net = MusicnnNet().eval()
    for bn in [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]:
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 187, 96)
    again = load_tf_weights(MusicnnNet(), tf_variables(net))
    with torch.inference_mode():
        a, b = net(x), again(x)
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    assert a["penultimate"].shape == (2, 200) and a["mean_pool"].shape == (2, 753) and a["taggram"].shape == (2, 50)


def test_loading_refuses_a_misshaped_or_missing_variable() -> None:
    variables = tf_variables(MusicnnNet())
    bad = dict(variables, **{"conv2d/kernel": np.zeros((7, 30, 1, 204), np.float32)})
    with pytest.raises(ValueError, match="shape"):
        load_tf_weights(MusicnnNet(), bad)
    del variables["dense_1/bias"]
    with pytest.raises(KeyError, match="dense_1/bias"):
        load_tf_weights(MusicnnNet(), variables)


def test_embedder_loads_a_checkpoint_and_embeds(checkpoint: Path) -> None:
    emb = MusicnnEmbedder(_config(checkpoint))
    assert emb.backend == "musicnn" and emb.dim == 200 and emb.sr == SR and "MSD_musicnn:penultimate" in emb.model
    windows = [_tone(220, 7.0), _tone(3000, 1.0, seed=1), _tone(220, 7.0)]  # 1 s: shorter than a patch, repeat-padded
    vecs = emb.embed(windows, SR)
    assert vecs.shape == (3, 200) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vecs[0], vecs[2], atol=1e-6)  # deterministic
    assert float(vecs[0] @ vecs[1]) < 0.9999  # different audio, different vector
    clone = pickle.loads(pickle.dumps(emb))  # worker processes get it without the loaded net
    assert clone._net is None
    np.testing.assert_allclose(clone.embed(windows[:1], SR), vecs[:1], atol=1e-6)


def test_patch_stride_spreads_patches_over_the_window(checkpoint: Path) -> None:
    y = _tone(440, 31.0)
    every_patch = MusicnnEmbedder(_config(checkpoint, patch_stride=1))
    assert every_patch.patches(y).shape == (10, 187, 96)
    every_third = MusicnnEmbedder(_config(checkpoint, patch_stride=3))
    np.testing.assert_array_equal(every_third.patches(y), every_patch.patches(y)[[0, 3, 6, 9]])
    assert every_third.model != every_patch.model, "the stride shapes the vector: new model id"


def test_missing_checkpoint_raises_and_auto_falls_back_to_dsp(tmp_path: Path) -> None:
    cfg = _config(tmp_path / "no_such_checkpoint")
    assert find_musicnn_checkpoint(cfg.musicnn.checkpoint) is None
    with pytest.raises(BackendUnavailableError, match="pip install --no-deps musicnn"):
        get_embedder("musicnn", config=cfg)
    assert resolve_backend("auto", config=cfg) == "dsp"
    assert get_embedder("auto", config=cfg).backend == "dsp"


def test_auto_picks_musicnn_when_its_checkpoint_is_installed(checkpoint: Path) -> None:
    cfg = _config(checkpoint)
    assert resolve_backend("auto", config=cfg) == "musicnn"
    assert get_embedder("auto", config=cfg).backend == "musicnn"
    assert get_embedder("dsp", config=cfg).backend == "dsp", "an explicit backend is always honoured"
    with pytest.raises(ValueError, match="unknown embedding backend"):
        resolve_backend("musicnn2", config=cfg)


def test_musicnn_vectors_get_their_own_standardiser(checkpoint: Path) -> None:
    raw = np.random.default_rng(0).random((20, 200)).astype(np.float32)
    std = fit_library_standardizer(raw, "musicnn")
    assert std.backend == "musicnn"
    out = std.transform(raw)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert abs(float(out.mean())) < 0.05, "z-scored: the all-positive activations are centred"


@pytest.mark.slow  # a full ingest twice (~1.5 min on 2 busy cores); the fast tests above cover auto's choice
def test_ingest_switches_to_musicnn_when_it_is_installed(small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A library embedded with dsp is embedded again (only that asset) once a musicnn package with its
    checkpoint is importable, and ``auto`` then indexes musicnn vectors only."""
    import importlib
    import shutil

    from dj_pipeline.pipeline import requested_embedding, run_ingest
    from dj_pipeline.storage import read_asset

    lib = tmp_path / "lib"
    lib.mkdir()
    for f in sorted((small_library / "tracks").rglob("*.*"))[:3]:
        shutil.copy2(f, lib / f.name)
    data = tmp_path / "data"
    first = run_ingest(lib, data, embedding_backend="dsp", show_progress=False, echo=lambda s: None)
    features_file = next((data / "parquet" / "track_features").glob("batch=*.parquet"))
    features_mtime = features_file.stat().st_mtime_ns

    site = tmp_path / "site"  # what `pip install --no-deps musicnn` leaves: a package folder with checkpoints
    (site / "musicnn").mkdir(parents=True)
    (site / "musicnn" / "__init__.py").write_text("")
    save_random_musicnn(site / "musicnn" / "MSD_musicnn", seed=5)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    backend, model = requested_embedding("auto", None)
    assert backend == "musicnn" and model is not None and model.startswith("musicnn-v1:MSD_musicnn:")

    again = run_ingest(lib, data, embedding_backend="auto", show_progress=False, echo=lambda s: None)
    assert again.batches_processed == first.batches_processed and again.library_refreshed
    assert features_file.stat().st_mtime_ns == features_mtime, "features must not be recomputed for a backend switch"
    emb = read_asset(data, "track_embeddings")
    assert set(emb["backend"]) == {"musicnn"} and set(emb["model"]) == {model} and set(emb["dim"]) == {200}
    assert emb["track_id"].nunique() == 3
    from dj_pipeline.index.files import read_meta
    from dj_pipeline.storage import DataPaths

    meta = read_meta(DataPaths(data).index_dir, "track")
    assert meta["backend"] == "musicnn" and meta["model"] == model
