"""The install step: pip's settings read as pip applies them, and handed to uv."""

import importlib.util
import os
import sys
from pathlib import Path

from workers.bootstrap import (
    parse_pip_config,
    read_pip_config,
    refresh_project_bytecode,
    uv_arguments,
)

LISTING = """\
:env:.cert='/certs/bundle.pem'
:env:.find-links='/wheels'
global.constraint='/etc/constraints.txt'
global.extra-index-url='file:///mirror/a/simple file:///mirror/b/simple'
global.index-url='https://global.mirror.test/simple'
global.timeout='60'
install.index-url='https://install.mirror.test/simple'
not a setting
"""


def test_environment_over_install_section_over_global():
    pip = parse_pip_config(LISTING + ":env:.index-url='https://env.mirror.test/simple'\n")

    assert pip["index-url"] == "https://env.mirror.test/simple"
    assert pip["extra-index-url"] == "file:///mirror/a/simple file:///mirror/b/simple"
    assert pip["cert"] == "/certs/bundle.pem"
    assert parse_pip_config(LISTING)["index-url"] == "https://install.mirror.test/simple"


def test_uv_looks_where_pip_looks():
    args, env = uv_arguments(parse_pip_config(LISTING), {})

    pairs = list(zip(args[::2], args[1::2], strict=True))
    assert pairs == [
        ("--index-url", "https://install.mirror.test/simple"),
        ("--extra-index-url", "file:///mirror/a/simple"),
        ("--extra-index-url", "file:///mirror/b/simple"),
        ("--find-links", "/wheels"),
        ("--index-strategy", "unsafe-best-match"),
        ("--constraint", "/etc/constraints.txt"),
    ]
    assert env == {"SSL_CERT_FILE": "/certs/bundle.pem", "UV_HTTP_TIMEOUT": "60"}


def test_no_index_and_no_settings():
    assert uv_arguments(parse_pip_config(":env:.no-index='1'\n"), {})[0][0] == "--no-index"
    assert uv_arguments({}, {}) == (["--index-strategy", "unsafe-best-match"], {})


def test_uv_settings_of_the_user_win():
    environ = {"UV_DEFAULT_INDEX": "https://mine.test/simple", "SSL_CERT_FILE": "/mine.pem"}

    args, env = uv_arguments(parse_pip_config(LISTING), environ)

    assert "--index-url" not in args and "--extra-index-url" not in args
    assert "--find-links" not in args and "--constraint" in args
    assert "SSL_CERT_FILE" not in env


def test_pip_variables_alone_when_pip_cannot_answer(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.mirror.test/simple")

    pip = read_pip_config(sys.executable + "-missing")

    assert pip["index-url"] == "https://env.mirror.test/simple"


def test_a_start_refreshes_the_bytecode_of_changed_project_files(tmp_path, monkeypatch):
    """Even where bytecode is never written on import (PYTHONDONTWRITEBYTECODE), the
    project's changed files are compiled once by `up`, not by every part on every start."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    module = tmp_path / "domain" / "rules_x.py"
    module.parent.mkdir()
    module.write_text("LIMIT = 1\n")
    cached = Path(importlib.util.cache_from_source(str(module)))
    refresh_project_bytecode(tmp_path)
    assert cached.exists()
    first = cached.read_bytes()

    module.write_text("LIMIT = 2  # edited after the install\n")
    os.utime(module, (module.stat().st_atime, module.stat().st_mtime + 5))
    refresh_project_bytecode(tmp_path)
    assert cached.read_bytes() != first
