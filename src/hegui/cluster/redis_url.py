"""``HEGUI_REDIS_URL``: one Redis server, or a Redis Cluster named by its scheme.

- ``redis://[user:password@]host:6379/0``, ``rediss://…`` (TLS), ``unix:///path.sock``: one server,
  read by redis-py as it is.
- ``redis+cluster://[user:password@]host:port[,host:port…][?option=value…]`` and ``rediss+cluster://…``
  (TLS): a Redis Cluster. The hosts are seeds: any one that answers tells the client the whole
  topology, so one configuration endpoint (AWS ElastiCache's, Azure's) is enough, and a few are
  safer. A cluster has only database 0, so the path is empty, ``/`` or ``/0``.

The cluster is named by the URL, not by a second setting, so one value says all of it (the ``+``
reads as in ``postgresql+psycopg://``); a single-server URL pointed at a cluster fails with MOVED
errors, a cluster URL pointed at a single server fails at the first command, both loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from hegui.errors import ConfigError

KEY = "HEGUI_REDIS_URL"
DEFAULT_PORT = 6379
_SINGLE = ("redis", "rediss", "unix")
_CLUSTER = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


@dataclass(frozen=True, slots=True)
class Node:
    host: str
    port: int

    @property
    def netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """What ``HEGUI_REDIS_URL`` names."""

    cluster: bool
    #: The URL redis-py reads: the setting itself for one server; for a cluster, the URL of its first
    #: seed with the credentials and options (``redis://`` or ``rediss://``, database 0).
    url: str
    #: The cluster's seed nodes (empty for one server).
    seeds: tuple[Node, ...] = ()

    def node_url(self, node: Node) -> str:
        """The URL of one node of the cluster, with the seeds' credentials and options."""
        parts = urlsplit(self.url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{node.netloc}" if userinfo else node.netloc
        return parts._replace(netloc=netloc).geturl()


def _node(text: str, url: str) -> Node:
    text = text.strip()
    if not text:
        raise ConfigError(f"an empty host in the cluster's node list of {_redacted(url)}", key=KEY)
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ConfigError(f"not a host:port: {text!r}", key=KEY)
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise ConfigError(f"not a host:port: {text!r}", key=KEY)
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"not a port in {text!r}", key=KEY) from None
    if not 0 < port < 65536:
        raise ConfigError(f"not a port in {text!r}", key=KEY)
    return Node(unquote(host), port)


def _redacted(url: str) -> str:
    """The URL without its password, for error messages."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hosts = rest.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{hosts}" if ":" in userinfo else url


def parse_redis_url(url: str) -> RedisTarget:
    """The target ``url`` names; ConfigError (naming the accepted forms) for anything else."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in (*_SINGLE, *_CLUSTER):
        hint = ""
        if "cluster" in scheme:
            hint = (
                " (a Redis Cluster is redis+cluster://host:port[,host:port…], or rediss+cluster:// for TLS)"
            )
        raise ConfigError(
            f"not a Redis URL: {_redacted(url)!r}{hint}; use redis://host:6379/0, rediss://… (TLS), "
            "unix:///path.sock, or redis+cluster://host:port[,host:port…] for a Redis Cluster",
            key=KEY,
        )
    if scheme in _SINGLE:
        return RedisTarget(False, url)
    netloc, _, tail = rest.partition("/")
    path, query = tail, ""
    if "?" in netloc:  # redis+cluster://h:1,h:2?opt=v (no slash before the query)
        netloc, _, query = netloc.partition("?")
        path = ""
    elif "?" in tail:
        path, _, query = tail.partition("?")
    if path not in ("", "0"):
        raise ConfigError(f"a Redis Cluster has only database 0, not {path!r}: {_redacted(url)}", key=KEY)
    userinfo, at, hosts = netloc.rpartition("@")
    seeds = tuple(_node(part, url) for part in hosts.split(","))
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"a node is named twice in {_redacted(url)}", key=KEY)
    target = f"{_CLUSTER[scheme]}://{userinfo}{at}{seeds[0].netloc}/0" + (f"?{query}" if query else "")
    return RedisTarget(True, target, seeds)
