"""The comparison's distances and its GO / NO-GO rules; the audit's DSN masking."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.postgres.dsn import mask_dsn_host
from synthgen.sample.against import Comparison, decide, judge, ks, tv
from synthgen.sample.audit import audit_path_for


def test_ks_distance_of_histograms() -> None:
    assert ks(np.array([1.0, 1.0]), np.array([2.0, 2.0])) == 0.0
    assert ks(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 1.0
    assert ks(np.array([3.0, 1.0, 0.0]), np.array([1.0, 1.0, 2.0])) == pytest.approx(0.5)


def test_tv_distance_and_noise() -> None:
    distance, noise = tv({"a": 70, "b": 30}, {"a": 60, "b": 40})
    assert distance == pytest.approx(0.10)
    assert 0 < noise < 0.3
    big = tv({"a": 70_000, "b": 30_000}, {"a": 60_000, "b": 40_000})
    assert big[0] == pytest.approx(0.10) and big[1] < noise / 10
    assert tv({"a": 1}, {"b": 1})[0] == 1.0


@pytest.mark.parametrize(
    ("distance", "noise", "status"),
    [
        (0.10, 0.01, "PASS"),
        (0.20, 0.01, "WARN"),
        (0.31, 0.01, "FAIL"),
        (0.25, 0.30, "SKIP"),  # inside the noise of a small sample: cannot judge
        (0.50, 0.30, "WARN"),
        (0.61, 0.30, "FAIL"),
    ],
)
def test_judging_follows_the_fidelity_gates_bands(
    distance: float, noise: float, status: str
) -> None:
    assert judge(distance, noise, 0.15) == status


def _c(name: str, check: str, status: str) -> Comparison:
    return Comparison(name, check, "KS", 0.0, 0.0, status, 100, 100)


def test_decide_go_and_no_go() -> None:
    critical = ("media", "conversation_mix")
    ok = [
        _c("a", "media", "PASS"),
        _c("b", "conversation_mix", "PASS"),
        _c("c", "temporal", "SKIP"),
    ]
    checks, reasons, warnings = decide(ok, critical, 3)
    assert reasons == [] and checks == {
        "media": "PASS",
        "conversation_mix": "PASS",
        "temporal": "SKIP",
    }
    # SKIP beside a PASS does not hold a check back
    assert decide([_c("a", "media", "PASS"), _c("x", "media", "SKIP")], critical, 3)[0] == {
        "media": "PASS"
    }
    # a critical WARN is NO-GO
    _, reasons, _ = decide([_c("a", "media", "WARN")], critical, 3)
    assert reasons == [
        "media (critical) is WARN: a (KS 0.000); "
        "next: set media.ratio, media.mix and the attachment sizes in the spec"
    ]
    # non-critical WARNs count against max_warnings; any FAIL is NO-GO
    warns = [_c(f"t{i}", "temporal", "WARN") for i in range(4)]
    _, reasons, warnings = decide(warns, critical, 3)
    assert warnings == 4 and reasons == ["4 warnings, more than the 3 allowed"]
    assert decide(warns[:3], critical, 3)[1] == []
    _, reasons, _ = decide([_c("g", "temporal", "FAIL")], critical, 3)
    assert reasons == [
        "temporal failed: g (KS 0.000); next: set time.diurnal and time.bursts in the spec"
    ]


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        ("postgresql://reader:s3cret@db.internal:5432/app", "postgresql://reader:***@***:5432/app"),
        ("postgresql://db1.internal,db2.internal:5433/app", "postgresql://***,***:5433/app"),
        ("postgresql://reader@10.0.0.5/app?sslmode=require", "postgresql://reader@***/app?sslmode=require"),
        ("postgresql:///app?host=/var/run/pg&password=x", "postgresql:///app?host=***&password=***"),
        ("host=db.internal port=5432 user=r password='p w' dbname=app",
         "host=*** port=5432 user=r password=*** dbname=app"),
    ],
)  # fmt: skip
def test_audit_masks_host_and_password(dsn: str, masked: str) -> None:
    assert mask_dsn_host(dsn) == masked


def test_audit_sits_beside_the_output(tmp_path: object) -> None:
    from pathlib import Path

    assert audit_path_for(Path("/x/shape-metrics.json")) == Path("/x/shape-metrics.audit.json")
    assert audit_path_for(Path("/x/metrics")) == Path("/x/metrics.audit.json")
