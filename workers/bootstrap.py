"""Make the virtual environment and install plantops into it: with uv when it can be had,
with pip otherwise. Both take their packages from where pip is configured to look.

Run by the Makefile (`python3 -m workers.bootstrap .venv -e '.[test]'`, and
`python3 -m workers.bootstrap --chromium` before the tests) with the interpreter
that makes the environment, before any dependency is installed: standard library only.
PLANTOPS_INSTALLER=pip skips uv.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import time
import venv
from functools import cache
from pathlib import Path

# Settings that tell uv where to look; when one is set, uv is the user's to configure.
UV_INDEX_VARIABLES = (
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
)
TRUE = {"1", "true", "yes", "on"}

# What `plantops up` imports, compiled once after the install: uv does not write bytecode
# (pip did), and where PYTHONDONTWRITEBYTECODE is set no run would ever keep it.
RUNTIME_MODULES = (
    "workers.cli",
    "workers.worker",
    "api.app",
    "domain.migrate",
    "domain.services.demo",
    "psycopg",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.websockets_impl",
    "uvicorn.lifespan.on",
)
PROJECT_FOLDERS = ("workflows", "activities", "api", "domain", "workers", "migrations")
WARM_UP = """
import compileall, importlib, sys
for name in sys.argv[1].split(","):
    try:
        importlib.import_module(name)
    except Exception:
        pass
for folder in sys.argv[2].split(","):
    compileall.compile_dir(folder, quiet=2)
"""


def parse_pip_config(listing: str) -> dict[str, str]:
    """The settings pip applies to `pip install`, from what `pip config list` prints
    (`section.key='value'` lines): the environment over the [install] section over [global]."""
    by_section: dict[str, dict[str, str]] = {}
    for line in listing.splitlines():
        name, sep, raw = line.partition("=")
        if not sep or "." not in name:
            continue
        section, _, key = name.rpartition(".")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        by_section.setdefault(section, {})[key] = str(value)
    merged: dict[str, str] = {}
    for section in ("global", "install", ":env:"):
        merged.update(by_section.get(section, {}))
    return merged


def read_pip_config(python: str) -> dict[str, str]:
    """pip's own reading of its configuration files and PIP_* variables; the PIP_* variables
    alone where that pip cannot answer."""
    try:
        out = subprocess.run(
            [python, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = "\n".join(
            f":env:.{name[4:].lower().replace('_', '-')}={value!r}"
            for name, value in os.environ.items()
            if name.startswith("PIP_")
        )
    return parse_pip_config(out)


def uv_arguments(pip: dict[str, str], environ: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The `uv pip install` options and environment variables that make uv look where pip
    looks and choose as pip chooses."""
    args: list[str] = []
    env: dict[str, str] = {}

    def many(key: str) -> list[str]:
        return pip.get(key, "").split()

    if not any(environ.get(name) for name in UV_INDEX_VARIABLES):
        if pip.get("no-index", "").lower() in TRUE:
            args.append("--no-index")
        if pip.get("index-url"):
            args += ["--index-url", pip["index-url"]]
        for url in many("extra-index-url"):
            args += ["--extra-index-url", url]
        for location in many("find-links"):
            args += ["--find-links", location]
    # pip takes the best version found on any index; uv's default is the first index's.
    if not environ.get("UV_INDEX_STRATEGY"):
        args += ["--index-strategy", "unsafe-best-match"]
    for path in many("constraint"):
        args += ["--constraint", path]
    for host in many("trusted-host"):
        args += ["--allow-insecure-host", host]
    if pip.get("pre", "").lower() in TRUE:
        args += ["--prerelease", "allow"]
    for key, variable in (
        ("cert", "SSL_CERT_FILE"),
        ("client-cert", "SSL_CLIENT_CERT"),
        ("timeout", "UV_HTTP_TIMEOUT"),
        ("default-timeout", "UV_HTTP_TIMEOUT"),
        ("proxy", "HTTPS_PROXY"),
        ("proxy", "HTTP_PROXY"),
    ):
        if pip.get(key) and not environ.get(variable) and variable not in env:
            env[variable] = pip[key]
    return args, env


def _run(args: list[str], env: dict[str, str] | None = None, *, quiet: bool = False) -> bool:
    """Whether the command succeeded; with quiet, its output is shown only if it failed."""
    try:
        done = subprocess.run(args, env=env, capture_output=quiet, text=True)
    except OSError:
        return False
    if quiet and done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
    return done.returncode == 0


@cache
def _has_pip(python: str) -> bool:
    return subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0


def _ensure_pip(python: str) -> bool:
    if _has_pip(python):
        return True
    _has_pip.cache_clear()
    return _run([python, "-m", "ensurepip", "--upgrade", "--default-pip"]) and _has_pip(python)


def find_uv(env_dir: Path, python: str) -> str | None:
    """uv from this environment or the PATH, else installed into the environment with pip:
    the interpreter's own pip pointed at the environment, or the environment's pip."""
    own = env_dir / "bin" / "uv"
    if own.exists():
        return str(own)
    found = shutil.which("uv")
    if found:
        return found
    quiet = ["install", "--quiet", "--disable-pip-version-check", "uv"]
    via_interpreter = [sys.executable, "-m", "pip", "--python", python, *quiet]
    if not (_has_pip(sys.executable) and _run(via_interpreter, quiet=True)):
        if not (_ensure_pip(python) and _run([python, "-m", "pip", *quiet], quiet=True)):
            print("uv could not be installed", file=sys.stderr)
            return None
    return str(own) if own.exists() else None


def install_with_uv(uv: str, python: str, spec: list[str]) -> bool:
    pip_python = sys.executable if _has_pip(sys.executable) else python
    args, extra_env = uv_arguments(read_pip_config(pip_python), dict(os.environ))
    return _run(
        [uv, "pip", "install", "--quiet", "--python", python, *args, *spec],
        env={**os.environ, **extra_env},
    )


def compile_runtime_modules(python: str) -> None:
    """Bytecode for what a start imports, so that the worker and the API do not both
    compile it on every start; an optimisation only, so a failure is ignored."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    args = [python, "-c", WARM_UP, ",".join(RUNTIME_MODULES), ",".join(PROJECT_FOLDERS)]
    try:
        subprocess.run(args, env=env, capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError):
        pass


def refresh_project_bytecode(root: Path) -> None:
    """Bytecode for the project's own files changed since the install (a pull, an edit):
    written even where PYTHONDONTWRITEBYTECODE is set, so the parts that `plantops up`
    starts load it instead of each compiling them on every start. Up to date, it costs
    a look at each file's time."""
    import compileall

    for folder in PROJECT_FOLDERS:
        if (root / folder).is_dir():
            compileall.compile_dir(root / folder, quiet=2)


def install_with_pip(python: str, spec: list[str]) -> bool:
    if not _ensure_pip(python):
        return False
    _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    return _run([python, "-m", "pip", "install", "--quiet", *spec])


def ensure_chromium() -> int:
    """The browser tests drive the system's Chromium: install it with apt when it is missing
    and we may. When it cannot be had, say so and go on: those tests then fail, never skip."""
    if os.environ.get("PLANTOPS_CHROMIUM") or shutil.which("chromium"):
        return 0
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run([apt, "update", "-q"], quiet, quiet=True)
        if _run([apt, "install", "-y", "-q", "chromium"], quiet, quiet=True):
            return 0
    print(
        "chromium is not installed and could not be installed here (apt-get as root): "
        "install it (or set PLANTOPS_CHROMIUM) or the browser tests fail",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--chromium"]:
        return ensure_chromium()
    if len(argv) < 2:
        print("usage: python -m workers.bootstrap VENV PIP-INSTALL-ARGS...", file=sys.stderr)
        return 2
    env_dir, spec = Path(argv[0]), argv[1:]
    python = str(env_dir / "bin" / "python")
    started = time.monotonic()
    if not Path(python).exists():
        venv.EnvBuilder(with_pip=False).create(env_dir)
    uv = None if os.environ.get("PLANTOPS_INSTALLER") == "pip" else find_uv(env_dir, python)
    if uv and install_with_uv(uv, python, spec):
        how = "uv"
        compile_runtime_modules(python)
    else:
        if uv:
            print("uv could not install plantops: installing with pip", file=sys.stderr)
        if not install_with_pip(python, spec):
            print("plantops could not be installed", file=sys.stderr)
            return 1
        how = "pip"
    print(f"installed with {how} in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
