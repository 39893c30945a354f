"""Per-track work as Ray tasks, embeddings in Ray actors: what a stage's loop gets with ``executor: ray``.

Results come back in track order, one per track, whatever happened on the cluster, so a batch
written from them is the same as one written by the local pool: a task whose worker or node died
is re-run by Ray (``max_task_retries``); an embedding call whose actor died goes to another actor
(a new one when none is left), up to ``max_actor_replacements`` times per stage. Each piece of
work runs with one BLAS thread, as in the local pool, so the arithmetic is the same.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from dj_pipeline.config.ingest import RayConfig, load_ingest_config
from dj_pipeline.distributed.cluster import cluster_totals, ensure_connected

TrackResult = tuple  # what the stage's ``process(fn, track)`` returns for one track (rows, reason, ...)
Process = Callable[[Callable[[Any], Any], Any], TrackResult]
EMBEDDER_KEYWORD = "embedder"  # a stage function bound to an embedder (functools.partial) is an embedding stage


def track_results(process: Process, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, TrackResult]] | None:
    """``(i, process(fn, items[i]))`` for every item, computed on the Ray cluster and yielded as each
    finishes (so the stage can checkpoint it); ``None`` with ``executor: local``.

    ``fn`` bound to an ``embedder`` keyword runs in embedding actors (the model is built once per
    actor); any other ``fn`` runs as one Ray task per track.
    """
    config = load_ingest_config()
    if config.executor != "ray":
        return None
    ensure_connected(config.ray)
    embedder = getattr(fn, "keywords", {}).get(EMBEDDER_KEYWORD) if isinstance(fn, partial) else None
    if embedder is not None:
        return actor_results(process, fn, embedder, items, config.ray)
    return task_results(process, fn, items, config.ray)


def _single_threaded(process: Process, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[TrackResult]:
    """``process(fn, item)`` for each item with one BLAS/OpenMP thread (the local pool's arithmetic)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return [process(fn, item) for item in items]


def task_results(
    process: Process, fn: Callable[[Any], Any], items: Sequence[Any], config: RayConfig
) -> Iterator[tuple[int, TrackResult]]:
    """One Ray task per track, yielded as each finishes; the stage function is put in the object
    store once, not sent with every task. A task that still fails after its retries fails the stage
    (the batch is then re-run by the next ingest), never a silently missing track."""
    import ray

    task = ray.remote(_single_threaded).options(
        num_cpus=config.num_cpus_per_track, max_retries=config.max_task_retries, retry_exceptions=False
    )
    fn_ref = ray.put(fn)
    pending = {task.remote(process, fn_ref, [item]): i for i, item in enumerate(items)}
    while pending:
        (ref,), _ = ray.wait(list(pending), num_returns=1)
        yield pending.pop(ref), ray.get(ref)[0]


class EmbedderActor:
    """Holds one embedder for its lifetime; each call embeds a few tracks with it."""

    def __init__(self, make_embedder: Callable[[], Any]) -> None:
        self.embedder = make_embedder()

    def run(self, process: Process, fn: partial, tracks: Sequence[Any]) -> list[TrackResult]:
        bound = partial(fn.func, *fn.args, **{**fn.keywords, EMBEDDER_KEYWORD: self.embedder})
        return _single_threaded(process, bound, tracks)


def embedder_factory(embedder: Any) -> Callable[[], Any]:
    """How an actor gets its embedder: a model backend (CLAP) is loaded again on the actor's node
    and device (weights are not shipped); a light one (DSP) is sent as it is."""
    from dj_pipeline.stages.embeddings_stage import IN_PROCESS_BACKENDS

    if embedder.backend in IN_PROCESS_BACKENDS:
        from dj_pipeline.embeddings import get_embedder

        return partial(get_embedder, backend=embedder.backend, model=embedder.model)
    return partial(_same, embedder)


def _same(obj: Any) -> Any:
    return obj


def actor_options(backend: str, n_calls: int, config: RayConfig, totals: dict[str, float]) -> tuple[dict[str, float], int]:
    """Ray resources per embedding actor and how many actors: one per GPU for a model backend on a
    cluster with GPUs, else one per ``embed_cpus_per_actor`` CPUs; never more than there are calls."""
    from dj_pipeline.stages.embeddings_stage import IN_PROCESS_BACKENDS

    gpus = totals.get("GPU", 0.0)
    if backend in IN_PROCESS_BACKENDS and gpus >= config.embed_gpus_per_actor:
        options = {"num_cpus": config.embed_cpus_per_actor, "num_gpus": config.embed_gpus_per_actor}
        fit = int(gpus // config.embed_gpus_per_actor)
    else:
        options = {"num_cpus": config.embed_cpus_per_actor}
        fit = int(totals.get("CPU", 1.0) // config.embed_cpus_per_actor)
    n = max(1, min(fit, n_calls, config.max_embed_actors or n_calls))
    return options, n


def actor_results(
    process: Process, fn: partial, embedder: Any, items: Sequence[Any], config: RayConfig
) -> Iterator[tuple[int, TrackResult]]:
    """``process(fn, item)`` for every item in embedding actors, ``embed_tracks_per_call`` tracks a call.

    Actors are not restarted by Ray (a restart could wait forever for the CPU of a lost node while
    the other actors hold theirs); a call whose actor died is given to another actor instead, and
    an actor with nothing left to do is ended at once, so one still waiting for resources gets them.
    """
    import ray
    from ray.exceptions import ObjectLostError, RayActorError

    size = config.embed_tracks_per_call
    calls = [list(items[i : i + size]) for i in range(0, len(items), size)]
    options, n_actors = actor_options(embedder.backend, len(calls), config, cluster_totals())
    actor_class = ray.remote(EmbedderActor).options(max_restarts=0, **options)
    factory = ray.put(embedder_factory(embedder))
    light_fn = ray.put(partial(fn.func, *fn.args, **{**fn.keywords, EMBEDDER_KEYWORD: None}))
    idle = [actor_class.remote(factory) for _ in range(n_actors)]
    todo, pending = deque(range(len(calls))), {}
    replacements = 0
    try:
        while todo or pending:
            while todo and idle:
                actor, i = idle.pop(), todo.popleft()
                pending[actor.run.remote(process, light_fn, calls[i])] = (i, actor)
            if not pending:  # every actor died: make one where the cluster has room
                replacements = _count_replacement(replacements, config)
                idle.append(actor_class.remote(factory))
                continue
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            i, actor = pending.pop(ref)
            try:
                done = ray.get(ref)
            except (RayActorError, ObjectLostError):  # the actor (or its node) is gone: the call goes to another
                todo.appendleft(i)
                continue
            if todo:
                idle.append(actor)
            else:  # nothing left to hand out: free its CPU/GPU for an actor still waiting for one
                ray.kill(actor)
            yield from zip(range(i * size, i * size + len(done)), done)
    finally:
        for actor in idle + [a for _, a in pending.values()]:
            ray.kill(actor)


def _count_replacement(done: int, config: RayConfig) -> int:
    if done >= config.max_actor_replacements:
        raise RuntimeError(f"embedding actors died {done} times in one stage (ray.max_actor_replacements)")
    return done + 1
