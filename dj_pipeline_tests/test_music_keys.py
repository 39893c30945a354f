import pytest

from dj_pipeline.music import camelot_code, camelot_distance, camelot_parse, key_name, open_key_code, parse_key


@pytest.mark.parametrize(
    ("root", "mode", "code"),
    [(0, "major", "8B"), (9, "minor", "8A"), (7, "major", "9B"), (4, "minor", "9A"), (6, "minor", "11A"),
     (5, "major", "7B"), (2, "minor", "7A"), (11, "major", "1B"), (8, "minor", "1A"), (1, "major", "3B")],
)  # fmt: skip
def test_camelot_matches_mixxx_table(root: int, mode: str, code: str) -> None:
    assert camelot_code(root, mode) == code
    assert parse_key(code) == (root, mode)


def test_open_key_and_names() -> None:
    assert open_key_code(0, "major") == "1d"
    assert open_key_code(9, "minor") == "1m"
    assert key_name(10, "minor") == "A# minor"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A minor", (9, "minor")), ("Am", (9, "minor")), ("F#m", (6, "minor")), ("Bb", (10, "major")),
     ("Ebm", (3, "minor")), ("C major", (0, "major")), ("12B", (4, "major"))],
)  # fmt: skip
def test_parse_key_notations(text: str, expected: tuple[int, str]) -> None:
    assert parse_key(text) == expected


@pytest.mark.parametrize("bad", ["H minor", "13A", "", "A lydian"])
def test_parse_key_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_key(bad)


def test_camelot_distance() -> None:
    assert camelot_distance("8A", "8A") == 0
    assert camelot_distance("8A", "9A") == 1
    assert camelot_distance("12A", "1A") == 1
    assert camelot_distance("8A", "8B") == 1
    assert camelot_distance("8A", "10A") == 2
    assert camelot_distance("8A", "3B") == 6
    with pytest.raises(ValueError):
        camelot_parse("0A")
