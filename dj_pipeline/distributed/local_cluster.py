"""A throwaway Ray cluster of separate node processes on this machine (the Ray tests and bench).

``ray start --head`` and ``ray start --address`` run as child processes (``--block``), each node
with its own ports (free ones, asked of the OS) and its own temp dir. Ray's token authentication
is off for it (``RAY_AUTH_MODE=disabled``: a driver reads that mode when Ray is imported, so a
token set later would not reach it); it lives for a test. Every process of a node descends from its ``ray
start``, so a node can be killed as a whole (:meth:`LocalRayCluster.kill_node`, what a lost
machine looks like to Ray) and everything is stopped by :meth:`LocalRayCluster.stop`, never by
``ray stop`` (which would stop every Ray on the machine).

Loopback only: Ray (2.60) turns ``--node-ip-address=127.0.0.1`` into the machine's interface
address (``services.resolve_ip_for_localhost``) and then its GCS, raylet and worker gRPC servers
listen on every interface; given a node address that stays ``127.0.0.1`` they listen on
``127.0.0.1`` only. So every node is started through :data:`RAY` (the ``ray`` CLI with that one
function keeping loopback addresses) and the driver of this process gets the same while the
cluster lives (:func:`keep_loopback`). Ray's own Windows/macOS switch
(``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``) does the same for a head but refuses a second node.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
# The `ray` CLI of this interpreter, with loopback addresses kept as they are (see the module docstring).
_KEEP_LOOPBACK_CLI = (
    "import sys, ray._private.services as s; r = s.resolve_ip_for_localhost; "
    f"s.resolve_ip_for_localhost = lambda h: h if h == {LOOPBACK!r} else r(h); "
    "from ray.scripts.scripts import main; sys.argv[0] = 'ray'; main()"
)
RAY = [sys.executable, "-c", _KEEP_LOOPBACK_CLI]
WORKER_PORTS_PER_NODE = 24  # worker processes' port range of each node
NODE_START_TIMEOUT_S = 240.0  # a loaded 2-core machine takes tens of seconds per node
STOP_GRACE_S = 5.0


def keep_loopback(on: bool = True) -> None:
    """Make this process's Ray keep ``127.0.0.1`` as an address (``on``), or undo it."""
    import ray._private.services as services

    original = getattr(services, "_dj_original_resolve", None) or services.resolve_ip_for_localhost
    services._dj_original_resolve = original
    services.resolve_ip_for_localhost = (lambda host: host if host == LOOPBACK else original(host)) if on else original


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def free_port_range(n: int, tries: int = 200) -> int:
    """The first of ``n`` consecutive free ports."""
    for _ in range(tries):
        start = free_port()
        if start + n < 65535 and all(_is_free(p) for p in range(start, start + n)):
            return start
    raise RuntimeError(f"no {n} consecutive free ports")


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def node_port_args() -> list[str]:
    """Distinct free ports for every server a Ray node starts."""
    worker_lo = free_port_range(WORKER_PORTS_PER_NODE)
    args = [f"--min-worker-port={worker_lo}", f"--max-worker-port={worker_lo + WORKER_PORTS_PER_NODE - 1}"]
    for flag in ("node-manager-port", "object-manager-port", "metrics-export-port", "runtime-env-agent-port",
                 "dashboard-agent-listen-port", "dashboard-agent-grpc-port"):  # fmt: skip
        args.append(f"--{flag}={free_port()}")
    return args


@dataclass
class LocalRayCluster:
    """A head node and worker nodes started by :func:`start_local_cluster`; ``address`` = GCS host:port."""

    address: str
    temp_root: Path
    env: dict[str, str]
    head: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    killed: list[subprocess.Popen] = field(default_factory=list)

    def add_worker_node(self, num_cpus: int = 1) -> subprocess.Popen:
        """Start another node process that joins the cluster (returns at once; see :meth:`wait_for_nodes`)."""
        temp = self.temp_root / f"w{len(self.workers)}"
        temp.mkdir(parents=True, exist_ok=True)
        cmd = [*RAY, "start", f"--address={self.address}", f"--node-ip-address={LOOPBACK}", f"--num-cpus={num_cpus}",
               "--num-gpus=0", "--block", "--disable-usage-stats", f"--temp-dir={temp}", *node_port_args()]  # fmt: skip
        proc = _spawn(cmd, self.env, temp / "ray_start.log")
        self.workers.append(proc)
        return proc

    def wait_for_nodes(self, n_nodes: int, timeout_s: float = NODE_START_TIMEOUT_S) -> None:
        """Connect this process to the cluster (as a Ray driver) and wait until ``n_nodes`` are alive."""
        import ray

        os.environ.update(self.env)
        keep_loopback()
        deadline = time.monotonic() + timeout_s
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False, namespace="dj_pipeline")
        while sum(1 for n in ray.nodes() if n["Alive"]) < n_nodes:
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"Ray cluster at {self.address}: fewer than {n_nodes} nodes after {timeout_s:.0f} s\n{self.log_tails()}")
            time.sleep(0.5)

    def kill_node(self, proc: subprocess.Popen) -> int:
        """SIGKILL a node's ``ray start`` and every process under it (its raylet, its workers); returns how many."""
        self.killed.append(proc)
        return _kill_tree(proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Disconnect this process, stop every node (SIGTERM, then SIGKILL) and remove the temp dirs."""
        try:
            import ray

            if ray.is_initialized():
                ray.shutdown()
            keep_loopback(False)
        finally:
            for proc in [*self.workers, self.head]:
                _stop_tree(proc)
            shutil.rmtree(self.temp_root, ignore_errors=True)

    def listening_addresses(self) -> set[str]:
        """Local IP addresses on which a process of this cluster's nodes accepts TCP connections."""
        import psutil

        out = set()
        for proc in [self.head, *self.workers]:
            for p in _tree(proc.pid):
                try:
                    out |= {c.laddr.ip for c in p.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
        return out

    def log_tails(self, n_lines: int = 15) -> str:
        """The last lines of each node's ``ray start`` output and raylet log: why a node did not come up."""
        out = []
        for log in sorted(self.temp_root.glob("*/ray_start.log")) + sorted(self.temp_root.glob("*/session_*/logs/raylet.*")):
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-n_lines:]
            out.append(f"--- {log.relative_to(self.temp_root)}\n" + "\n".join(lines))
        return "\n".join(out)

    def _check_alive(self) -> None:
        if self.head.poll() is not None:
            raise RuntimeError(f"the Ray head exited ({self.head.returncode})\n{self.log_tails()}")
        for i, proc in enumerate(self.workers):
            if proc.poll() is not None and proc not in self.killed:
                raise RuntimeError(f"Ray worker node {i} exited ({proc.returncode})\n{self.log_tails()}")

    def __enter__(self) -> "LocalRayCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local_cluster(head_cpus: int = 1, worker_nodes: int = 1, cpus_per_worker: int = 1, wait: bool = True) -> LocalRayCluster:
    """A head node with ``head_cpus`` CPUs and ``worker_nodes`` worker node processes, this process
    connected to it as a driver; no dashboard, nothing started outside this machine."""
    temp_root = Path(tempfile.mkdtemp(prefix="djray", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    port = free_port()
    head_temp = temp_root / "head"
    head_temp.mkdir()
    cmd = [*RAY, "start", "--head", f"--node-ip-address={LOOPBACK}", f"--port={port}", f"--num-cpus={head_cpus}",
           "--num-gpus=0", "--include-dashboard=false", f"--dashboard-port={free_port()}", f"--ray-client-server-port={free_port()}",
           "--block", "--disable-usage-stats", f"--temp-dir={head_temp}", *node_port_args()]  # fmt: skip
    head = _spawn(cmd, env, head_temp / "ray_start.log")
    cluster = LocalRayCluster(address=f"{LOOPBACK}:{port}", temp_root=temp_root, env=env, head=head)
    try:
        _wait_for_port(port, cluster)
        for _ in range(worker_nodes):
            cluster.add_worker_node(cpus_per_worker)
        if wait:
            cluster.wait_for_nodes(1 + worker_nodes)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _spawn(cmd: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen:
    with log_file.open("wb") as log:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_for_port(port: int, cluster: LocalRayCluster, timeout_s: float = NODE_START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while _is_free(port):
        cluster._check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Ray head did not listen on port {port} within {timeout_s:.0f} s")
        time.sleep(0.25)


def _tree(pid: int) -> list:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _kill_tree(pid: int, sig: int) -> int:
    import psutil

    procs = _tree(pid)  # listed first: children of a killed parent are re-parented and lost from view
    for p in procs:
        try:
            p.send_signal(sig)
        except psutil.NoSuchProcess:
            continue
    return len(procs)


def _stop_tree(proc: subprocess.Popen) -> None:
    import psutil

    procs = _tree(proc.pid)
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(procs, timeout=STOP_GRACE_S)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            continue
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:  # pragma: no cover - killed above
        pass
