"""Benchmark: validate and load a dataset read in place from an S3-compatible store vs locally.

    python benchmarks/bench_object_store.py                      # dev x 0.5, validate only
    python benchmarks/bench_object_store.py --scale 1 --dsn postgresql://...   # and load

Builds dev x SCALE locally, copies it byte for byte into a bucket of moto's S3 server (in its
own process on 127.0.0.1; it holds objects in memory), then runs each command in a fresh
`synthgen` process on the local directory and on the s3:// prefix, and prints its wall time,
peak RSS and the bytes it wrote to local files (the kernel's count of its output blocks):
reading in place, the stored runs write next to nothing. moto on loopback has no network
latency: a real store adds a round trip per ranged read. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.fs as pafs
from _common import ROOT, SYNTHGEN, generate_cmd

BUCKET = "synthgen-bench"
MOTO = """
import logging, sys, time
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False).start()
print("up", flush=True)
while True:
    time.sleep(3600)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(seconds, peak RSS MiB, MB written to local files) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[3:])}: exit {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_oublock * 512 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--dsn", help="also time `synthgen load` into this server")
    args = parser.parse_args()
    port = _free_port()
    # its own process: a child forked from one holding the objects would inherit its peak RSS
    server = subprocess.Popen(
        [sys.executable, "-c", MOTO, str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert server.stdout is not None
    server.stdout.readline()  # "up": listening
    work = Path(tempfile.mkdtemp(prefix="synthgen-bench-s3-"))
    env = os.environ | {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    try:
        local = work / "ds"
        subprocess.run(generate_cmd(local, args.scale, 2), cwd=ROOT, check=True)
        size = sum(f.stat().st_size for f in local.rglob("*") if f.is_file()) / 1e6
        fs = pafs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{port}",
            scheme="http",
            access_key="bench",
            secret_key="bench",
            allow_bucket_creation=True,
        )
        fs.create_dir(BUCKET)
        started = time.perf_counter()
        pafs.copy_files(str(local), f"{BUCKET}/ds", destination_filesystem=fs)
        uploaded = time.perf_counter() - started
        print(f"dev x {args.scale:g}: {size:,.0f} MB, uploaded in {uploaded:.1f} s")
        targets = {"local": str(local), "s3": f"s3://{BUCKET}/ds"}
        commands = {"validate": ["validate", "{}", "--quiet"]}
        if args.dsn:
            commands["load"] = ["load", "{}", "--dsn", args.dsn, "--schema", "bench_{}",
                                "--replace", "--quiet"]  # fmt: skip
        print(f"{'command':<10} {'from':<6} {'seconds':>8} {'peak RSS MiB':>13} {'MB written':>11}")
        for command, template in commands.items():
            for where, target in targets.items():
                argv = [a.format(target if a == "{}" else where) for a in template]
                seconds, rss, written = measured([*SYNTHGEN, *argv], env)
                print(f"{command:<10} {where:<6} {seconds:>8.1f} {rss:>13,.0f} {written:>11,.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
