"""A Dask LocalCluster of two worker processes and an S3-compatible server (moto), both on
127.0.0.1 and started once per session; a small-shard spec so tiny builds have many shards."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from support.scaleout import BUCKET, CREDENTIALS, free_port
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec


@pytest.fixture(scope="session")
def small_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default spec with 5,000-message shards: dev x 0.02 has 20 shards."""
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["output"]["shard_messages"] = 5000
    path = tmp_path_factory.mktemp("scaleout-spec") / "small-shards.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, small_spec: Path) -> dict[str, Any]:
    """The local executor's manifest of dev x 0.02, seed "scale", small shards."""
    out = tmp_path_factory.mktemp("scaleout-ref") / "ds"
    opts = BuildOptions("dev", 0.02, "scale", out, workers=2, spec_path=str(small_spec))
    return build_dataset(load_spec(small_spec), opts).manifest


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    """Two single-threaded worker processes (each restarted by its nanny if killed)."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port: parallel runs never collide
        silence_logs=50,
    )
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, with one bucket; the AWS_* variables point the
    test process (and the `synthgen` subprocesses it starts) at it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {
        k: os.environ.get(k)
        for k in [*CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_EC2_METADATA_DISABLED"]
    }
    # no instance-metadata look-ups (a link-local address): credentials and region are given
    os.environ.update(
        CREDENTIALS,
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    fs = pafs.S3FileSystem(
        endpoint_override=f"127.0.0.1:{port}", scheme="http", allow_bucket_creation=True
    )
    fs.create_dir(BUCKET)
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3fs(s3_endpoint: str) -> pafs.S3FileSystem:
    port = s3_endpoint.rsplit(":", 1)[1]
    return pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http")
