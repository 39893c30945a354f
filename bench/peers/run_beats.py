#!/usr/bin/env python3
"""Beat and downbeat peers for ``bench/analysis_accuracy.py --realset`` (benchmark only, never a dependency).

Runs in the shared peers virtualenv ``$PEERS_DIR/venv`` (re-executes itself there, like the runners
in ``../shared/peers``, whose helpers it reuses; ``--runners`` or ``$PEERS_RUNNERS`` points at them).

    PEERS_DIR=/work/peers python3 bench/peers/run_beats.py --peer madmom FILES > madmom_beats.csv

Peers: ``madmom`` = RNNDownBeatProcessor + DBNDownBeatTrackingProcessor (beats_per_bar 3 or 4, Böck,
Krebs & Widmer 2016; models CC BY-NC-SA), ``librosa`` = ``librosa.beat.beat_track`` (Ellis 2007 DP
at 22050 Hz; beats only), ``essentia`` = RhythmExtractor2013 multifeature ticks (AGPL; beats only),
``mixxx`` = mixxx-analyzer's beat grid (Queen Mary TempoTrackV2, Mixxx's default analyser; beats only).
stdout: CSV ``file,beats,downbeats`` (space-separated times in s; blank downbeats = no estimate);
stderr: ``#time`` lines as the shared runners write them.
"""
import argparse
import csv
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNERS = os.environ.get("PEERS_RUNNERS", os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "peers")))
sys.path.insert(0, RUNNERS)
from peers_common import audio_duration, cpu_now, ensure_venv  # noqa: E402

PEERS = os.environ.get("PEERS_DIR", RUNNERS)
ensure_venv(PEERS + "/venv")

import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402


def madmom_tracker():
    import madmom_shim  # noqa: F401
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    act = RNNDownBeatProcessor()
    dbn = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100)

    def track(path):
        out = dbn(act(path))
        return out[:, 0], out[out[:, 1] == 1, 0]

    return track


def librosa_tracker():
    import librosa

    def track(path):
        y, sr = librosa.load(path, sr=22050, mono=True)
        _, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
        return beats, None

    return track


def essentia_tracker():
    import essentia
    import essentia.standard as es

    essentia.log.infoActive = False
    essentia.log.warningActive = False
    rhythm = es.RhythmExtractor2013(method="multifeature")

    def track(path):
        x = es.MonoLoader(filename=path, sampleRate=44100)()
        return np.asarray(rhythm(x)[1]), None

    return track


def mixxx_tracker():
    import mixxx_analyzer

    def track(path):
        return np.asarray(mixxx_analyzer.analyze(path).beatgrid, dtype=np.float64), None

    return track


TRACKERS = {"madmom": madmom_tracker, "librosa": librosa_tracker, "essentia": essentia_tracker, "mixxx": mixxx_tracker}


def times_text(t):
    return "" if t is None else " ".join(f"{float(x):.3f}" for x in t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=sorted(TRACKERS), required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    track = TRACKERS[a.peer]()
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["file", "beats", "downbeats"])
    for f in a.files:
        c0, t0 = cpu_now(), time.time()
        try:
            beats, downs = track(f)
            err = ""
        except Exception as e:  # keep going; report the failure
            beats, downs, err = None, None, f"{type(e).__name__}: {e}"
        w.writerow([f, times_text(beats), times_text(downs)])
        sys.stdout.flush()
        msg = f"#time file={os.path.basename(f)} wall_s={time.time() - t0:.3f} cpu_s={cpu_now() - c0:.3f} audio_s={audio_duration(f):.2f}"
        print(msg + (f" ERROR={err}" if err else ""), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
