"""``track_structure[batch]``: bars, phrases, sections and cue points per track (issue 16).

A thin wrapper over :func:`dj_pipeline.structure.batch.structure_for_batch`: it reads the batch's
catalog rows and ``track_features`` (tempo, first downbeat), writes ``track_structure``,
``track_sections`` and ``track_cues`` batch files (views of the same names in ``dj.duckdb``) and
shows a small structure plot per batch: each track's bar loudness coloured by section.
"""

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue

from dj_pipeline.assets.batches import batch_asset, batch_rows, batch_tracks, track_features
from dj_pipeline.assets.metadata import png_markdown, table_preview
from dj_pipeline.assets.resources import DJSettings
from dj_pipeline.storage.tables import write_batch, write_batch_errors
from dj_pipeline.structure.batch import structure_for_batch

SECTION_COLOURS = {"intro": "#8fbc8f", "build": "#f0c05a", "drop": "#e05a4f", "breakdown": "#5a8fe0", "outro": "#b39ddb"}
PLOT_TRACKS = 6


@batch_asset(
    deps=[track_features, "track_beats"],  # issue 13's beat grid; without it: bpm + first downbeat
    group_name="tracks",
    automation_condition=AutomationCondition.eager(),
    description=(
        "Bars and 8/16/32-bar phrases on the beat grid (track_beats; else bpm + first downbeat refined over the whole track), "
        "sections (intro/build/drop/breakdown/outro) and cue points (mix_in, drop, breakdown, mix_out, end) "
        "with confidence and mix lengths; NULL cues carry a reason. Tables track_structure, track_sections, track_cues."
    ),
)
def track_structure(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    paths, batch = settings.paths, context.partition_key
    tracks = batch_tracks(paths, batch)
    features, beats = batch_rows(paths, "track_features", batch), batch_rows(paths, "track_beats", batch)
    out = structure_for_batch(tracks, features, settings.show_progress, beats=beats)
    write_batch_errors(paths, "structure", batch, out.errors)
    for name, rows in out.tables.items():
        write_batch(paths, name, batch, rows)
    cues = out.tables["track_cues"]
    placed = cues.dropna(subset=["time_s"])
    metadata: dict[str, object] = {
        "dagster/row_count": len(out.tables["track_structure"]),
        "tracks_in": MetadataValue.int(len(tracks)),
        "tracks_ok": MetadataValue.int(out.n_ok),
        "errors": MetadataValue.int(len(out.errors)),
        "sections": MetadataValue.int(len(out.tables["track_sections"])),
        "cues_placed": MetadataValue.int(len(placed)),
        "cues_null": MetadataValue.int(len(cues) - len(placed)),
        "preview": table_preview(cues),
    }
    plot = structure_plot(out.tables["track_structure"], out.tables["track_sections"], tracks)
    if plot is not None:
        metadata["structure_plot"] = plot
    return MaterializeResult(metadata=metadata)


def structure_plot(structure: pd.DataFrame, sections: pd.DataFrame, tracks: pd.DataFrame, n: int = PLOT_TRACKS) -> MetadataValue | None:
    """Bar loudness (dB) over time for the first ``n`` tracks, on spans coloured by section label."""
    if sections.empty:
        return None
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone
    from matplotlib.patches import Patch

    ids = [t for t in structure["track_id"] if t in set(sections["track_id"])][:n]
    names = dict(zip(tracks.get("track_id", []), tracks.get("path", [])))
    fig = Figure(figsize=(6, 0.9 * len(ids) + 0.6))
    axes = fig.subplots(len(ids), 1, squeeze=False)[:, 0]
    for ax, tid in zip(axes, ids):
        sec = sections[sections["track_id"] == tid]
        for r in sec.itertuples():
            ax.axvspan(r.start_s, r.end_s, color=SECTION_COLOURS.get(r.label, "#cccccc"), alpha=0.55, lw=0)
        row = structure[structure["track_id"] == tid].iloc[0]
        level = list(row["bar_level_db"])
        ax.step([row["first_downbeat_s"] + i * row["bar_s"] for i in range(len(level))], level, where="post", color="k", lw=0.8)
        ax.set_ylabel(str(names.get(tid, tid)).rsplit("/", 1)[-1][:18], fontsize=6, rotation=0, ha="right")
        ax.tick_params(labelsize=6)
    axes[-1].set_xlabel("time (s); line: loudness per bar (dB)", fontsize=7)
    fig.legend(handles=[Patch(color=c, label=k) for k, c in SECTION_COLOURS.items()], fontsize=6, ncol=5, loc="upper center")
    return png_markdown(fig)
