"""Audio fingerprints: the same recording in another file (an excerpt, a re-encode, another
format) is recognised, never recommended after itself, and flagged ``duplicate_of`` in ``tracks``."""

from dj_pipeline.fingerprint.landmarks import fingerprint_file, fingerprint_signal
from dj_pipeline.fingerprint.match import FingerprintIndex, Match, find_duplicates

__all__ = ["FingerprintIndex", "Match", "find_duplicates", "fingerprint_file", "fingerprint_signal"]
