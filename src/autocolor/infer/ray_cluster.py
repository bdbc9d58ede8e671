"""Where the Ray engine runs: a local runtime on loopback, or a cluster joined by address, and
how big a pool of network actors it holds.

Kept apart from the pipeline (:mod:`autocolor.infer.ray_engine`) because the command line
needs a part of it before Ray is imported (:func:`loopback_environment`), and because joining
a cluster is where users meet Ray's own failures: an address where nothing answers, a token the
cluster refuses. Each becomes one line naming the address (:class:`~autocolor.batch.Refused`),
never Ray's minutes of retrying or its traceback.

Tests and benchmarks start a runtime on 127.0.0.1 only: node IP 127.0.0.1, no dashboard, no
usage statistics, and ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (:func:`loopback_environment`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

from autocolor.batch import Refused
from autocolor.errors import first_line


def loopback_environment() -> None:
    """Before Ray is imported: no usage statistics, and a local runtime on 127.0.0.1 only.

    ``ray.init(_node_ip_address="127.0.0.1")`` alone is not enough on Linux: Ray swaps a
    loopback address for the machine's routable one (``services.resolve_ip_for_localhost``)
    unless multi-node clusters are off, which is what ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``
    says (macOS and Windows default to it). It only concerns the runtime this process starts.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    if "ray" in sys.modules:  # imported already (a test session): the constant is read by now
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False


def on_loopback(address: str | None) -> bool:
    """Whether ``address`` (``HOST:PORT``) names this machine's loopback (a test cluster)."""
    host = (address or "").rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def token_auth_if_configured(environ: MutableMapping[str, str] | None = None) -> bool:
    """Clusters started by ``ray start`` use token authentication, and their token is written
    where Ray's own tools read it (``~/.ray/auth_token``, or ``RAY_AUTH_TOKEN`` /
    ``RAY_AUTH_TOKEN_PATH``), but a client uses it only with ``RAY_AUTH_MODE=token``. Set that
    when a token is there and the mode is not set; -> whether it was set."""
    env: MutableMapping[str, str] = os.environ if environ is None else environ
    if env.get("RAY_AUTH_MODE"):
        return False
    token_file = Path(env.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    if env.get("RAY_AUTH_TOKEN") or token_file.is_file():
        env["RAY_AUTH_MODE"] = "token"
        return True
    return False


# How long joining a cluster waits for its address to answer before it says so (Ray's own
# client waits for minutes, retrying, when nothing listens there).
CONNECT_TIMEOUT_S = 5.0


def unreachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """Whether anything answers at a cluster address (``host:port`` of the head's GCS, or
    ``ray://host[:port]`` of a Ray Client server): -> why not, in a few words, or None (it
    answers, or the address is not one this check understands: ``auto``, a bare host)."""
    import socket

    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host:
        host, port = (target, "10001") if address.startswith("ray://") else ("", "")
    if not host or not port.isdigit():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except TimeoutError:
        return f"nothing answered within {timeout:.0f} s"
    except OSError as error:
        return error.strerror or type(error).__name__


def start_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Join the cluster at ``address``, or start a local runtime on loopback: node IP 127.0.0.1,
    no dashboard, no usage statistics. -> whether this call started Ray (and should stop it).
    An address where nothing answers is refused within :data:`CONNECT_TIMEOUT_S`.
    A runtime already started in this process (tests, notebooks) is used as it is."""
    if address and (why := unreachable(address)) is not None:
        raise Refused(f"--ray-address {address}: cannot join the cluster ({why}); is it "
                      "running there (`ray status` on the head node)?")
    if address and not on_loopback(address):
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    else:
        loopback_environment()
    import ray

    if ray.is_initialized():
        return False
    if address:  # a cluster on this machine's loopback is joined from 127.0.0.1 too
        token_auth_if_configured()
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=True,
                     _node_ip_address="127.0.0.1" if on_loopback(address) else None)
        except ray.exceptions.AuthenticationError:
            raise Refused(
                f"--ray-address {address}: the cluster refused this client's token (Ray's token "
                "authentication); put the cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN "
                "(`ray get-auth-token` on the head node prints it)") from None
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as error:
            raise Refused(f"--ray-address {address}: cannot join the cluster "
                          f"({first_line(error)})") from None
    else:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                 _node_ip_address="127.0.0.1", logging_level=logging.ERROR, log_to_driver=True)
    return True


def cluster_resources() -> dict[str, float]:
    import ray

    return dict(ray.cluster_resources())


def network_pool(concurrency: int | None, num_gpus: float) -> int | tuple[int, int]:
    """The actor pool: ``concurrency`` actors; by default one per GPU (with GPUs), else from 1
    up to one per 4 CPUs of the cluster, grown by Ray Data when inputs queue up."""
    if concurrency is not None:
        return max(1, concurrency)
    resources = cluster_resources()
    if num_gpus > 0:
        return max(1, int(resources.get("GPU", 0) // num_gpus))
    most = max(1, int(resources.get("CPU", 1) // 4))
    return most if most == 1 else (1, most)


def starved(pool: int | tuple[int, int], actor_cpus: float, cpus: float) -> str | None:
    """Why a pool of network actors leaves no CPU for the decode and write tasks, or None."""
    actors = pool if isinstance(pool, int) else pool[0]
    if cpus - actors * actor_cpus >= 1:
        return None
    return (f"{actors} network actor(s) of {actor_cpus:g} CPU leave no CPU of the cluster's "
            f"{cpus:g} for decoding and writing; lower --concurrency or --actor-cpus")


def actor_threads(pool: int | tuple[int, int], actor_cpus: float, cpus: float,
                  local_runtime: bool) -> int:
    """A network actor's threads: the CPUs it reserves, except for the one actor of a local
    runtime, which takes every core: the decode and write tasks of small photos leave most of
    the cores idle while the network waits (docs/scale.md; ``bench_scale.py --pools``)."""
    if local_runtime and pool == 1:
        return max(1, int(cpus))
    return max(1, round(actor_cpus))
