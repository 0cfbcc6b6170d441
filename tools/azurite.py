"""Start and stop the Azurite storage emulator (installed from npm, see package.json)."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from local_functions_host.lifeline import die_with_parent, is_same_process, process_start_time

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Azurite's documented development account; public, not a secret.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEFAULT_PORTS = (10000, 10001, 10002)
PID_FILE = "azurite.pid"  # in the data folder: "<pid> <start time in ticks>"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def connection_string(blob: int, queue: int, table: int, host: str = "127.0.0.1", scheme: str = "http") -> str:
    return (
        f"DefaultEndpointsProtocol={scheme};AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint={scheme}://{host}:{blob}/{ACCOUNT};"
        f"QueueEndpoint={scheme}://{host}:{queue}/{ACCOUNT};"
        f"TableEndpoint={scheme}://{host}:{table}/{ACCOUNT};"
    )


def azurite_binary() -> str:
    local = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    found = shutil.which("azurite")
    if not found:
        raise FileNotFoundError("Azurite is not installed; run `npm ci` in the project folder (or `make install`)")
    return found


@dataclass
class Azurite:
    """A running Azurite process we started (never someone else's on the same ports)."""

    process: subprocess.Popen
    blob_port: int
    queue_port: int
    table_port: int
    location: str | None
    scheme: str = "http"  # https when started with a certificate
    oauth: bool = False

    @property
    def connection_string(self) -> str:
        return connection_string(self.blob_port, self.queue_port, self.table_port, scheme=self.scheme)

    def service_uri(self, service: str) -> str:
        """The account endpoint of ``service`` (blob, queue or table), e.g. for
        ``AzureWebJobsStorage__blobServiceUri``."""
        port = {"blob": self.blob_port, "queue": self.queue_port, "table": self.table_port}[service]
        return f"{self.scheme}://127.0.0.1:{port}/{ACCOUNT}"

    def identity_settings(self) -> dict[str, str]:
        """Identity-based connection settings (``AzureWebJobsStorage__*ServiceUri``) for
        this instance; meaningful with ``oauth`` (which needs a certificate)."""
        return {f"AzureWebJobsStorage__{s}ServiceUri": self.service_uri(s) for s in ("blob", "queue", "table")}

    @classmethod
    def start(
        cls,
        ports: tuple[int, int, int] | None = None,
        location: str | os.PathLike | None = None,
        timeout: float = 30.0,
        log_file: str | os.PathLike | None = None,
        *,
        cert: str | os.PathLike | None = None,
        key: str | os.PathLike | None = None,
        oauth: bool = False,
        debug_log: str | os.PathLike | None = None,
    ) -> Azurite:
        """Start Azurite on ``ports`` (free ones when None), persisting to ``location``
        (in memory when None); wait until all three services accept connections.

        ``cert``/``key`` (PEM files) serve HTTPS; ``oauth`` adds ``--oauth basic`` (bearer
        tokens accepted, signatures not checked), which Azurite allows only with HTTPS.
        ``debug_log`` records every request Azurite serves."""
        if oauth and not cert:
            raise ValueError("Azurite's --oauth needs HTTPS: pass cert and key")
        if bool(cert) != bool(key):
            raise ValueError("pass both cert and key (PEM files), or neither")
        blob, queue, table = ports or (free_port(), free_port(), free_port())
        args = [
            azurite_binary(),
            "--silent",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", str(blob),
            "--queueHost", "127.0.0.1", "--queuePort", str(queue),
            "--tableHost", "127.0.0.1", "--tablePort", str(table),
        ]  # fmt: skip
        if cert and key:
            args += ["--cert", str(cert), "--key", str(key)]
        if oauth:
            args += ["--oauth", "basic"]
        if debug_log:
            args += ["--debug", str(debug_log)]
        if location is None:
            args.append("--inMemoryPersistence")
        else:
            Path(location).mkdir(parents=True, exist_ok=True)
            args += ["--location", str(location)]
        output = open(log_file, "ab") if log_file else subprocess.DEVNULL
        # Own session (a terminal's Ctrl-C reaches only us, and we stop it), and SIGTERM
        # when this process dies, even by SIGKILL: never a stray Azurite on the ports.
        process = subprocess.Popen(
            args, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent(),
        )  # fmt: skip
        if location is not None:
            _write_pid_file(Path(location), process.pid)
        instance = cls(
            process, blob, queue, table, str(location) if location else None, "https" if cert else "http", oauth
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"Azurite exited with code {process.returncode} (ports {blob}/{queue}/{table} busy?)"
                )
            if all(port_open(p) for p in (blob, queue, table)):
                return instance
            time.sleep(0.1)
        instance.stop()
        raise TimeoutError(f"Azurite did not open ports {blob}/{queue}/{table} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.location is not None:
            (Path(self.location) / PID_FILE).unlink(missing_ok=True)
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _write_pid_file(location: Path, pid: int) -> None:
    started = process_start_time(pid)
    if started is not None:
        (location / PID_FILE).write_text(f"{pid} {started}\n")


def leftover(location: str | os.PathLike) -> int | None:
    """The pid of an Azurite that :meth:`Azurite.start` started with data in ``location``
    and that is still running (its starter died without stopping it, e.g. on a system
    without ``PR_SET_PDEATHSIG``), else None. A stale pid file is removed."""
    path = Path(location) / PID_FILE
    try:
        pid_text, started_text = path.read_text().split()
        pid, started = int(pid_text), int(started_text)
    except (OSError, ValueError):
        return None
    if is_same_process(pid, started, "azurite"):
        return pid
    path.unlink(missing_ok=True)
    return None


def stop_leftover(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM the leftover Azurite's process group (it is its own session leader),
    SIGKILL after ``timeout`` s."""
    started = process_start_time(pid)
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_start_time(pid) != started:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
