"""The executor switch and the Ray settings (issue 17), without a Ray cluster: config, guards, actor sizing, deploy files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dj_pipeline.config.ingest import RayConfig, env_overrides, load_ingest_config
from dj_pipeline.errors import UserError

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_executor_defaults_to_local_and_env_points_it_at_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJ_EXECUTOR", raising=False)
    monkeypatch.delenv("DJ_RAY_ADDRESS", raising=False)
    assert load_ingest_config().executor == "local"
    monkeypatch.setenv("DJ_EXECUTOR", "Ray")
    monkeypatch.setenv("DJ_RAY_ADDRESS", "ray://head:10001")
    config = load_ingest_config()
    assert config.executor == "ray" and config.ray.address == "ray://head:10001"
    assert config.ray.max_task_retries == RayConfig().max_task_retries  # the rest of the yaml's ray block stays
    assert env_overrides({"DJ_RAY_ADDRESS": ""}) == {"ray": {"address": ""}}  # empty: start Ray in-process


def test_a_user_ingest_yaml_is_read_from_dj_ingest_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJ_EXECUTOR", raising=False)
    monkeypatch.delenv("DJ_RAY_ADDRESS", raising=False)
    user = tmp_path / "ingest.yaml"
    user.write_text("executor: ray\nray:\n  address: 10.0.0.5:6379\n  embed_tracks_per_call: 2\n", encoding="utf-8")
    monkeypatch.setenv("DJ_INGEST_CONFIG", str(user))
    config = load_ingest_config()
    assert (config.executor, config.ray.address, config.ray.embed_tracks_per_call) == ("ray", "10.0.0.5:6379", 2)


@pytest.mark.parametrize(
    "overrides",
    [{"executor": "spark"}, {"ray": {"num_cpus_per_track": 0}}, {"ray": {"max_task_retries": -1}}, {"ray": {"embed_tracks_per_call": 0}}, {"ray": {"adress": "x"}}],
)
def test_bad_executor_settings_are_refused(overrides: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJ_EXECUTOR", raising=False)
    with pytest.raises(ValueError):
        load_ingest_config(overrides=overrides)


def test_local_executor_leaves_the_tracks_to_the_local_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    from dj_pipeline.distributed import track_results

    monkeypatch.setenv("DJ_EXECUTOR", "local")
    assert track_results(lambda fn, t: ([], None, False), lambda t: [], [object()]) is None


def test_ray_executor_without_ray_is_a_one_line_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import dj_pipeline.distributed.cluster as cluster

    monkeypatch.setattr(cluster, "ray_installed", lambda: False)
    with pytest.raises(UserError, match="pip install 'dj_pipeline\\[ray\\]'"):
        cluster.ensure_connected(RayConfig())


def test_embedding_actors_one_per_gpu_for_clap_else_per_cpu() -> None:
    from dj_pipeline.distributed.remote import actor_options

    config = RayConfig()
    assert actor_options("clap", 100, config, {"CPU": 64.0, "GPU": 4.0}) == ({"num_cpus": 1.0, "num_gpus": 1.0}, 4)
    assert actor_options("dsp", 100, config, {"CPU": 64.0, "GPU": 4.0}) == ({"num_cpus": 1.0}, 64)  # DSP needs no GPU
    assert actor_options("clap", 100, config, {"CPU": 6.0}) == ({"num_cpus": 1.0}, 6)  # no GPU: CLAP on CPUs
    assert actor_options("dsp", 3, config, {"CPU": 64.0})[1] == 3  # never more actors than calls
    capped = RayConfig(max_embed_actors=2, embed_cpus_per_actor=4.0)
    assert actor_options("dsp", 100, capped, {"CPU": 64.0}) == ({"num_cpus": 4.0}, 2)
    assert actor_options("dsp", 100, config, {"CPU": 0.0})[1] == 1  # at least one (it waits for a node)


def test_deploy_files_parse_and_name_this_ray_version() -> None:
    cluster = yaml.safe_load((DEPLOY / "kuberay" / "raycluster.yaml").read_text(encoding="utf-8"))
    assert cluster["kind"] == "RayCluster" and cluster["spec"]["workerGroupSpecs"]
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"))
    assert instance["run_launcher"]["class"] == "RayRunLauncher"
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert f"rayproject/ray:{cluster['spec']['rayVersion']}-" in dockerfile
