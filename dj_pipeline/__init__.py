"""dj_pipeline: a local-first pipeline that turns a DJ's library into analysed, recommendable data."""

import os as _os
from pathlib import Path as _Path

__version__ = "0.1.0"


def _use_own_numba_cache() -> None:
    """Point numba's on-disk cache at a per-user folder unless the user chose one.

    librosa compiles its kernels with ``cache=True``, and numba's default keeps that cache next to
    librosa's own source in site-packages. A cache file left there by another interpreter, another
    numba build or two writers at once is loaded without question and crashes the process (a
    segfault inside ``librosa.feature.chroma_stft``), so a shared site-packages can break every
    analysis. Our own folder is only ever written by this package's processes. It must be set
    before numba is first imported, which is why it lives here.
    """
    if "NUMBA_CACHE_DIR" in _os.environ:
        return
    base = _os.environ.get("XDG_CACHE_HOME") or str(_Path.home() / ".cache")
    _os.environ["NUMBA_CACHE_DIR"] = str(_Path(base) / "dj_pipeline" / "numba")


_use_own_numba_cache()
