"""The ``dj`` command line (INTERFACE.md "CLI"). User errors print one line and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import NoReturn
from pathlib import Path

from dj_pipeline.config.embeddings import BACKEND_CHOICES
from dj_pipeline.cli_errors import check_data_dir, check_output_file, check_track_file, non_negative_int, one_line_error, positive_int
from dj_pipeline.errors import UserError

EXIT_USER_ERROR = 2
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command whose reader went away (128 + SIGPIPE)


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="data directory (default: $DJ_DATA_DIR or ./data)")


def check_ingest_args(args: argparse.Namespace) -> None:
    """What can be checked before the (slow) pipeline import: folders and the sampling profile."""
    if not Path(args.library).expanduser().is_dir():
        raise UserError(f"library folder not found: {args.library}")
    if args.samples is not None and not Path(args.samples).expanduser().is_dir():
        raise UserError(f"samples folder not found: {args.samples}")
    if args.profile:
        from dj_pipeline.config.windows import load_windows_config

        try:
            load_windows_config().profile(args.profile)
        except ValueError as exc:
            raise UserError(str(exc)) from None


def cmd_ingest(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    check_ingest_args(args)
    from dj_pipeline.pipeline import run_ingest
    from dj_pipeline.progress import ingest_summary, on_terminal

    report = run_ingest(
        args.library, args.data, args.samples, args.profile, args.backend, args.model, args.device,
        show_progress=not args.quiet and on_terminal(), drum_profiles=args.drum_profiles,
        retry_errors=args.retry_errors, force_paths=args.force, allow_deletions=args.allow_deletions,
    )  # fmt: skip
    print(ingest_summary(args.data, report, time.perf_counter() - started))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from dj_pipeline.storage import DataPaths
    from dj_pipeline.storage.duckdb_catalog import connect_readonly
    from dj_pipeline.storage.sql import format_table, run_query, to_json

    import duckdb

    paths = DataPaths(args.data)
    try:
        con = connect_readonly(paths)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    except duckdb.Error as exc:  # e.g. a dj.duckdb that is not a database (damaged): ingest rebuilds it
        raise UserError(f"cannot open {paths.duckdb_path}: {str(exc).strip().splitlines()[0]}; run `dj ingest` to rebuild it") from None
    try:
        result = run_query(con, args.query, None if args.json else args.max_rows, str(paths.root))
    finally:
        con.close()
    print(to_json(result) if args.json else format_table(result))
    return 0


def cmd_demo_library(args: argparse.Namespace) -> int:
    from dj_pipeline.demo import generate_library

    truth = generate_library(args.out, n_tracks=args.tracks, n_samples=args.samples, seed=args.seed)
    print(f"wrote {len(truth)} tracks to {Path(args.out) / 'tracks'}, one-shots to {Path(args.out) / 'samples'}, truth in {Path(args.out) / 'truth.csv'}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    if not Path(args.file).is_file():  # before the analysis import (seconds): a typo is answered at once
        raise UserError(f"file not found: {args.file}")
    from dj_pipeline.analysis import analyze_file
    from dj_pipeline.audio import AudioDecodeError

    from dj_pipeline.structure.report import analyze_lines, structure_json, structure_of_features

    try:
        features = analyze_file(args.file)
        structure = structure_of_features(args.file, features)
    except AudioDecodeError as exc:
        raise UserError(f"cannot analyse {args.file}: {exc}") from None
    if args.json:
        print(json.dumps({**features, **structure_json(features["track_id"], structure)}, default=_json_default, indent=2))
    else:
        width = max(len(k) for k in features)
        for k, v in features.items():
            print(f"{k:<{width}}  {_fmt(v)}")
        print("\n".join(analyze_lines(features["track_id"], structure)))
    return 0


def cmd_cues(args: argparse.Namespace) -> int:
    from dj_pipeline.structure.report import cue_lines, cue_records, cue_sheet

    path, cues = cue_sheet(args.data, args.track)
    if args.json:
        print(json.dumps(cue_records(cues), default=_json_default, indent=2))
    else:
        print(path)
        print("\n".join(cue_lines(cues)))
    return 0


def cmd_roles(args: argparse.Namespace) -> int:
    if not Path(args.samples).is_dir():
        raise UserError(f"samples folder not found: {args.samples}")
    from dj_pipeline.embeddings import get_embedder, resolve_backend
    from dj_pipeline.roles import assign_folder

    # CLAP zero-shot scores join the rules when CLAP weights are on disk (same rule as the asset)
    clap = get_embedder("clap", model=args.model) if resolve_backend(args.backend, args.model) == "clap" else None
    roles, pools, errors = assign_folder(args.samples, clap=clap)
    if args.json:
        print(roles.to_json(orient="records", default_handler=str))
        return 0
    for role, grp in pools.groupby("role", sort=False):
        print(f"{role} ({len(grp)})")
        merged = grp.merge(roles[["sample_id", "path", "confidence"]], on="sample_id", how="left")
        for r in merged.sort_values("rank").itertuples(index=False):
            print(f"  {r.rank:>2}. {Path(r.path).name:<40} confidence {r.confidence:.2f}")
    for r in errors.itertuples(index=False):
        print(f"skipped {r.path}: {r.error}")
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    check_track_file(args.current, args.data)
    from dj_pipeline.config.recommend import load_recommend_config
    from dj_pipeline.query import recommend_overrides, recommend_text

    config = load_recommend_config(overrides=recommend_overrides(args.energy_boost, args.stay_in_style, args.artist_window, args.half_double))
    print(recommend_text(args.current, args.goal, args.top_k, args.history or [], args.json, args.data, args.session, args.plan, config))
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    check_track_file(args.track, args.data)
    from dj_pipeline.query import similar_text

    print(similar_text(args.track, args.top_k, args.json, args.data))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from dj_pipeline.query import Recommender
    from dj_pipeline.recommend.output import format_table

    hits = Recommender(data_dir=args.data).search_text(args.text, top_k=args.top_k)
    print(json.dumps(hits, default=_json_default, indent=2) if args.json else format_table(hits))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from dj_pipeline.export import write_rekordbox_xml

    check_output_file(args.out)
    out = write_rekordbox_xml(args.data, args.out, args.playlist or [])
    print(f"wrote {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the demo library, ingest it and print a recommended set: the README's main command."""
    from dj_pipeline.demo_run import run_demo

    run_demo(args.data, n_tracks=args.tracks, n_samples=args.samples, seed=args.seed, set_length=args.set_length)
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line (``dj sql: error: ...``) instead of the usage block and the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see `{self.prog} -h`)\n")


def cmd_ui(args: argparse.Namespace) -> int:
    """``dagster dev`` on this project, with the data dir's instance (its dagster.yaml written first)."""
    import subprocess

    from dj_pipeline.dagster_home import ui_command
    from dj_pipeline.storage import DataPaths

    argv, env = ui_command(DataPaths(args.data).root, args.library, args.port)
    return subprocess.call(argv, env=env)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="dj", description="dj_pipeline: analyse a DJ library and recommend what to play next.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = OneLineParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="log details to stderr; show the traceback of any error")

    p = sub.add_parser("ingest", parents=[common], help="scan, analyse, embed and index a library (incremental)")
    p.add_argument("--library", required=True, help="folder of audio tracks")
    p.add_argument("--samples", default=None, help="folder of drum one-shots for role pools")
    p.add_argument("--profile", default=None, help="window sampling profile (club_hifi_150s, balanced_120s, adaptive)")
    p.add_argument("--backend", default=os.environ.get("DJ_EMBEDDING_BACKEND", "auto"), choices=list(BACKEND_CHOICES))
    p.add_argument("--model", default=None, help="CLAP model id (HF cache) or local directory")
    p.add_argument("--device", default=None, help="cuda, mps or cpu for CLAP (default: auto)")
    p.add_argument("--drum-profiles", action="store_true", help="also store each track's drum-role shares (a few s per track)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--retry-errors", action="store_true", help="try every file listed in ingest_errors again")
    p.add_argument("--force", nargs="*", default=None, metavar="PATH", help="analyse these files/folders again (none given: all)")
    p.add_argument("--allow-deletions", action="store_true", help="drop missing tracks; accept an empty library or vanished folder")
    _data_arg(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("analyze", parents=[common], help="analyse one audio file and print its features")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("cues", parents=[common], help="print a track's cue sheet (time, bar, type): mix-in/out, drop, breakdown, end")
    p.add_argument("track", help="library track id or path, or any audio file (analysed on the fly)")
    p.add_argument("--json", action="store_true")
    _data_arg(p)
    p.set_defaults(func=cmd_cues)

    p = sub.add_parser("recommend", parents=[common], help="next-track recommendations")
    p.add_argument("--current", required=True, help="path or track_id of the track playing now")
    p.add_argument("--goal", default=None, choices=["maintain", "up", "down", "peak"], help="default: maintain, or the plan's goal")
    p.add_argument("--top-k", type=positive_int, default=10)
    p.add_argument("--history", nargs="*", default=None, help="track ids (or paths) already played")
    p.add_argument("--session", default=None, help="keep a named set's history in the data dir (survives restarts)")
    p.add_argument("--plan", default=None, help='set plan for the session, e.g. "warm-up 30 min -> peak -> release"')
    p.add_argument("--energy-boost", action="store_true", help="also allow the +2/+7 Camelot energy-boost moves")
    p.add_argument("--stay-in-style", action="store_true", help="only tracks of the current track's style (genre tag, else sound)")
    p.add_argument("--artist-window", type=int, default=None, help="no artist of the last N tracks played (default 1: not back to back; 0: off)")
    p.add_argument("--half-double", action="store_true", help="allow half/double-time jumps at any tempo (default: D&B <-> half-time only)")
    p.add_argument("--json", action="store_true")
    _data_arg(p)
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("similar", parents=[common], help="library tracks that sound nearest a track (no goal, no filters)")
    p.add_argument("track", help="track id, library path or any audio file")
    p.add_argument("--top-k", type=positive_int, default=10)
    p.add_argument("--json", action="store_true")
    _data_arg(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("search", parents=[common], help="find tracks by a text description (needs the clap backend)")
    p.add_argument("text")
    p.add_argument("--top-k", type=positive_int, default=10)
    p.add_argument("--json", action="store_true")
    _data_arg(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("sql", parents=[common], help="run read-only SQL against dj.duckdb")
    p.add_argument("query")
    p.add_argument("--json", action="store_true")
    p.add_argument("--max-rows", type=non_negative_int, default=100, help="rows printed (0: all); --json prints all")
    _data_arg(p)
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("roles", parents=[common], help="assign drum roles to the one-shots in a folder")
    p.add_argument("--samples", required=True)
    p.add_argument("--backend", default="auto", choices=["auto", "dsp", "clap"], help="dsp: rules only; auto: + CLAP when weights exist")
    p.add_argument("--model", default=None, help="CLAP model id (HF cache) or local directory")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_roles)

    p = sub.add_parser("export", parents=[common], help="export the analysed library to DJ software")
    p.add_argument("target", choices=["rekordbox"])
    p.add_argument("--out", required=True, help="output file (Rekordbox XML)")
    p.add_argument("--playlist", nargs="*", default=None, help="session names to export as playlists")
    _data_arg(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo-library", parents=[common], help="write the generated demo library")
    p.add_argument("out")
    p.add_argument("--tracks", type=int, default=24)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo_library)

    p = sub.add_parser("demo", parents=[common], help="generate the demo library, ingest it and print a recommended set")
    p.add_argument("--tracks", type=int, default=24)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set-length", type=int, default=10)
    _data_arg(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ui", parents=[common], help="open the Dagster UI (dagster dev) on the data directory's instance")
    p.add_argument("--library", default=None, help="folder of audio tracks the UI's runs scan (default: $DJ_LIBRARY_DIR)")
    p.add_argument("--port", type=int, default=3000)
    _data_arg(p)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    if getattr(args, "verbose", False):  # -v: what each step logs; otherwise only warnings (one line each)
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if hasattr(args, "data"):
            check_data_dir(args.data)
        return func(args)
    except KeyboardInterrupt:
        print(f"dj {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `dj sql ... | head -1`: the reader has all it wanted
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - user and environment errors become one line; bugs keep their traceback
        message = one_line_error(exc, getattr(args, "data", None))
        if message is None or getattr(args, "verbose", False):
            raise
        print(f"dj {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _json_default(v: object) -> object:
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    raise SystemExit(main())
