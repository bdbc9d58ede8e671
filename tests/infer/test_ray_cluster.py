"""Where the Ray engine runs (:mod:`autocolor.infer.ray_cluster`): joining a cluster fails in
one line and at once, a token is picked up where Ray keeps it, and the actor pool fits the
cluster. No runtime is started here: the engine's tests start one."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocolor.batch import Refused
from autocolor.infer import ray_cluster


def test_a_pool_that_leaves_no_cpu_for_decoding_is_named() -> None:
    assert ray_cluster.starved(1, 1.0, 2.0) is None
    assert ray_cluster.starved((1, 4), 1.0, 2.0) is None  # an autoscaling pool starts at 1
    assert ray_cluster.starved(2, 1.0, 2.0) == (
        "2 network actor(s) of 1 CPU leave no CPU of the cluster's 2 for decoding and writing; "
        "lower --concurrency or --actor-cpus")
    assert ray_cluster.starved(1, 1.5, 2.0) is not None


def test_the_one_actor_of_a_local_runtime_takes_every_core() -> None:
    assert ray_cluster.actor_threads(1, 1.0, 2.0, local_runtime=True) == 2
    assert ray_cluster.actor_threads(1, 1.0, 16.0, local_runtime=True) == 16
    assert ray_cluster.actor_threads(1, 1.0, 16.0, local_runtime=False) == 1  # a shared cluster
    assert ray_cluster.actor_threads((1, 4), 1.0, 16.0, local_runtime=True) == 1  # several
    assert ray_cluster.actor_threads(2, 0.5, 2.0, local_runtime=True) == 1
    assert ray_cluster.actor_threads(2, 3.0, 16.0, local_runtime=False) == 3


def test_network_pool_sizes(monkeypatch) -> None:
    monkeypatch.setattr(ray_cluster, "cluster_resources", lambda: {"CPU": 64.0, "GPU": 8.0})
    assert ray_cluster.network_pool(3, 0.0) == 3
    assert ray_cluster.network_pool(None, 1.0) == 8  # one actor per GPU
    assert ray_cluster.network_pool(None, 0.5) == 16
    assert ray_cluster.network_pool(None, 0.0) == (1, 16)  # CPU only: 1 to one per 4 CPUs
    monkeypatch.setattr(ray_cluster, "cluster_resources", lambda: {"CPU": 2.0})
    assert ray_cluster.network_pool(None, 0.0) == 1


def test_token_auth_is_picked_up_where_ray_keeps_it(tmp_path: Path, monkeypatch) -> None:
    """A cluster started by `ray start` has a token in ~/.ray/auth_token: the client turns token
    mode on to use it; a mode already set, or no token anywhere, is left alone."""
    monkeypatch.setenv("HOME", str(tmp_path))
    environ: dict[str, str] = {}
    assert not ray_cluster.token_auth_if_configured(environ) and environ == {}
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("secret")
    assert ray_cluster.token_auth_if_configured(environ) and environ["RAY_AUTH_MODE"] == "token"
    environ = {"RAY_AUTH_MODE": "disabled"}
    assert not ray_cluster.token_auth_if_configured(environ)
    assert environ["RAY_AUTH_MODE"] == "disabled"
    assert ray_cluster.token_auth_if_configured({"RAY_AUTH_TOKEN": "x"})


def test_an_address_where_nothing_answers_is_refused_at_once() -> None:
    """Ray's client retries for minutes where nothing listens; the engine asks first."""
    import socket
    import time

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert ray_cluster.unreachable(f"127.0.0.1:{port}") is None
    assert "refused" in ray_cluster.unreachable(f"127.0.0.1:{port}").lower()  # closed now
    assert ray_cluster.unreachable("auto") is None  # not an address this check reads
    started = time.monotonic()
    with pytest.raises(Refused, match=f"127.0.0.1:{port}: cannot join"):
        ray_cluster.start_ray(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 15
