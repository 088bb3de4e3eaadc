"""One-line explanations for the start-up problems a user can fix."""

import socket
import subprocess
import sys

import pytest

from workers.embedded import EmbeddedPostgres, StartupError, free_port, require_free_port


def test_taken_port_is_explained():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(StartupError) as err:
            require_free_port(port, "the API", "PLANTOPS_API_PORT")
    assert str(err.value) == (
        f"port {port} for the API is already in use: stop what holds it or set PLANTOPS_API_PORT"
    )


def test_data_folder_of_another_version_is_explained(tmp_path):
    data = tmp_path / "pg"
    data.mkdir()
    (data / "PG_VERSION").write_text("9\n")
    with pytest.raises(StartupError) as err:
        EmbeddedPostgres(data, free_port()).start()
    assert "was made by PostgreSQL 9" in str(err.value)
    assert "PLANTOPS_DATA_DIR" in str(err.value)


def test_up_reports_a_taken_api_port_in_one_line(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "workers.cli", "up"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "PLANTOPS_API_PORT": str(port)},
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"plantops: port {port} for the API is already in use: stop what holds it or set "
        "PLANTOPS_API_PORT"
    ]
