"""The production guard's environment and name rules (the row rule needs a server)."""

from __future__ import annotations

import pytest

from synthgen.errors import GuardError
from synthgen.postgres.guard import GuardSettings, check_environment, check_names

STRICT = GuardSettings()
WAIVED = GuardSettings(override=True)


@pytest.mark.parametrize(
    "env",
    [{"SYNTHGEN_ENV": "production"}, {"NODE_ENV": "production"}, {"NODE_ENV": " Production "}],
)
def test_environment_rule_fires_and_says_so(env: dict[str, str]) -> None:
    with pytest.raises(GuardError, match=r"production guard \(environment\): \w+=production"):
        check_environment(STRICT, env)
    check_environment(WAIVED, env)


@pytest.mark.parametrize("env", [{}, {"NODE_ENV": "development"}, {"SYNTHGEN_ENV": "staging"}])
def test_environment_rule_lets_other_environments_through(env: dict[str, str]) -> None:
    check_environment(STRICT, env)


def test_deny_pattern_on_database_name_and_hosts() -> None:
    local = "postgresql://me@127.0.0.1:5432/scratch"
    check_names(STRICT, "scratch", local)
    with pytest.raises(GuardError, match=r"\(deny-pattern\): database name 'app_PROD'"):
        check_names(STRICT, "app_PROD", local)
    with pytest.raises(GuardError, match=r"\(deny-pattern\): host 'db-prod-1'"):
        check_names(STRICT, "scratch", "postgresql://me@db-prod-1/scratch")
    check_names(WAIVED, "app_prod", "postgresql://me@db-prod-1/app_prod")
    custom = GuardSettings(deny_pattern=r"^live_|\.corp$")
    check_names(custom, "app_prod", local)
    with pytest.raises(GuardError, match="live_"):
        check_names(custom, "live_app", local)
    with pytest.raises(GuardError, match="invalid"):
        check_names(GuardSettings(deny_pattern="("), "x", local)
