"""Trained recommenders: the scikit-learn similarity bundle and the CatBoost transition ranker."""

from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from dj_pipeline.assets.library import faiss_index, feature_stats
from dj_pipeline.assets.resources import DJSettings


@asset(
    deps=[feature_stats],
    group_name="models",
    kinds={"scikitlearn"},
    automation_condition=AutomationCondition.eager(),
    description=(
        "StandardScaler + cosine NearestNeighbors over z-scored DJ features (the plain k-NN baseline and a "
        "second candidate source), fitted on the current library and saved under models/."
    ),
)
def similarity_model(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    from dj_pipeline.recommend.training import fit_similarity_model

    info = fit_similarity_model(settings.paths)
    context.log.info("similarity_model: %s", info)
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(info.get("n_tracks", 0)),
            "fitted": MetadataValue.bool(bool(info.get("fitted"))),
            "details": MetadataValue.json({k: v for k, v in info.items() if k != "columns"}),
        }
    )


@asset(
    deps=[faiss_index, feature_stats],
    group_name="models",
    kinds={"catboost"},
    automation_condition=AutomationCondition.eager(),
    description=(
        "CatBoost transition ranker learned from feedback: transitions a DJ took in recorded sessions "
        "(positives) against candidates shown but passed over (negatives). With too little feedback it is "
        "not trained and says so; the recommender then ranks without the learned term."
    ),
)
def transition_ranker(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    from dj_pipeline.recommend.training import train_transition_ranker

    status = train_transition_ranker(settings.paths)
    context.log.info("transition_ranker: %s", status.reason)
    return MaterializeResult(
        metadata={
            "trained": MetadataValue.bool(status.trained),
            "reason": MetadataValue.text(status.reason),
            "positives": MetadataValue.int(status.n_positive),
            "negatives": MetadataValue.int(status.n_negative),
            "metrics": MetadataValue.json(status.metrics),
        }
    )
