"""A throwaway local PostgreSQL cluster managed by synthgen (see ``synthgen.postgres.cluster``)."""

from __future__ import annotations

from synthgen.postgres.cluster import (
    DEFAULT_CLUSTER_DIR,
    ClusterInfo,
    ClusterStatus,
    ServerBinaries,
    cluster_status,
    ensure_cluster,
    find_server_binaries,
    mask_dsn,
    stop_cluster,
)

__all__ = [
    "DEFAULT_CLUSTER_DIR",
    "ClusterInfo",
    "ClusterStatus",
    "ServerBinaries",
    "cluster_status",
    "ensure_cluster",
    "find_server_binaries",
    "mask_dsn",
    "stop_cluster",
]
