"""docker-compose.yml: the production shape speaks the same PLANTOPS_* settings."""

import shutil
import subprocess

import pytest
import yaml

from domain.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_part_of_the_production_shape_is_there():
    services = _compose()["services"]
    parts = {"postgres", "temporal", "temporal-ui", "mailcatcher", "api", "worker", "worker-alerts"}
    assert parts <= set(services)
    assert services["api"]["command"] == ["plantops", "api"]
    assert services["worker"]["command"] == ["plantops", "worker", "--serves", "lifecycles"]
    assert services["worker-alerts"]["command"] == ["plantops", "worker", "--serves", "alerts"]
    assert services["migrate"]["command"] == ["plantops", "migrate"]


def test_every_plantops_variable_is_a_setting():
    fields = {f"PLANTOPS_{name.upper()}" for name in Settings.model_fields}
    env = _compose()["x-plantops"]["environment"]
    assert set(env) <= fields, set(env) - fields
    assert {"PLANTOPS_DATABASE_URL", "PLANTOPS_TEMPORAL_ADDRESS"} <= set(env)


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose not installed")
def test_docker_compose_config_validates():
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        env={"PLANTOPS_SECRET_KEY": "k", "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
