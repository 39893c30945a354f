"""``track_beats[batch]``: the whole-track beat grid, one row per beat (issue 13).

A thin wrapper over :func:`dj_pipeline.stages.beats_stage.beats_for_batch`: the batch's catalog rows
and ``track_features`` (the tempo) in, ``track_beats/batch=<key>.parquet`` out (view ``track_beats``).
"""

from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue

from dj_pipeline.assets.batches import _materialize, batch_asset, batch_rows, track_features
from dj_pipeline.assets.resources import DJSettings
from dj_pipeline.stages.beats_stage import beats_for_batch


@batch_asset(
    deps=[track_features],
    group_name="tracks",
    automation_condition=AutomationCondition.eager(),
    description=(
        "Beat grid per track over the whole file (streamed): beat_index, time_s, bar_pos (1 = downbeat), "
        "local_bpm. Dynamic programming on a spectral-flux envelope at the analysed tempo, bent by a local "
        "tempo curve (tempo changes), running through drumless breaks; downbeats from kick and band-energy change."
    ),
)
def track_beats(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    features = batch_rows(settings.paths, "track_features", context.partition_key)

    def stats(rows):
        per_track = rows.groupby("track_id").size() if not rows.empty else rows
        return {"tracks_with_grid": MetadataValue.int(int(len(per_track)))}

    return _materialize(
        context, settings, "track_beats", "beats",
        lambda tracks: beats_for_batch(tracks, features, settings.show_progress), stats,
    )  # fmt: skip
