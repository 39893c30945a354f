"""write_bad_files: every input has exactly the defect it claims, and the good one is good."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dj_pipeline.audio import AudioDecodeError, load_audio, probe
from dj_pipeline.demo import write_bad_files


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a DataFrame
    return write_bad_files(tmp_path_factory.mktemp("bad")).set_index("kind")


def test_frame_shape(bad) -> None:  # noqa: ANN001
    assert set(bad.index) == {"zero_bytes", "truncated_wav", "truncated_flac", "not_audio", "silent", "too_short", "directory", "non_ascii_name"}
    assert bad["should_fail"].sum() == 7 and not bad.loc["non_ascii_name", "should_fail"]
    assert all(Path(p).exists() for p in bad["path"])


def test_defects(bad) -> None:  # noqa: ANN001
    assert Path(bad.loc["zero_bytes", "path"]).stat().st_size == 0
    wav = Path(bad.loc["truncated_wav", "path"]).read_bytes()
    data_at = wav.index(b"data")
    announced = int.from_bytes(wav[data_at + 4 : data_at + 8], "little")
    assert len(wav) - data_at - 8 < 0.6 * announced  # header promises about twice the data
    assert Path(bad.loc["directory", "path"]).is_dir()
    assert Path(bad.loc["not_audio", "path"]).read_bytes().startswith(b"this is a text file")
    silent, _ = sf.read(bad.loc["silent", "path"])
    assert len(silent) and not np.any(silent)
    assert sf.info(bad.loc["too_short", "path"]).duration == pytest.approx(3.0)
    assert sf.info(bad.loc["silent", "path"]).duration == pytest.approx(20.0)
    for kind in ("zero_bytes", "not_audio", "directory", "truncated_flac"):
        with pytest.raises(AudioDecodeError):
            load_audio(bad.loc[kind, "path"])
    with pytest.raises(AudioDecodeError, match="truncated"):
        probe(bad.loc["truncated_wav", "path"])


def test_non_ascii_file_is_real_music(bad) -> None:  # noqa: ANN001
    from tinytag import TinyTag

    path = bad.loc["non_ascii_name", "path"]
    assert "é" in Path(path).name and "☃" in Path(path).name
    y, sr = load_audio(path)
    assert len(y) / sr == pytest.approx(40.0) and np.sqrt(np.mean(y**2)) > 0.01
    tag = TinyTag.get(path)
    assert (tag.artist, tag.title) == ("Beyoncé", "Ça va")
