"""Test servers for the database sinks: an InfluxDB 1.x started from the Debian package,
the machine's PostgreSQL, a private PostgreSQL a test may stop and start, and a TCP proxy
that can cut a connection for a while."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import orjson

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Influxd:
    """``influxd`` on free loopback ports with a data directory of its own."""

    def __init__(self, *, auth: bool = False) -> None:
        self.auth = auth  # [http] auth-enabled: writes need a user
        self.dir = Path(tempfile.mkdtemp(prefix="sl-influx-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Influxd:
        exe = shutil.which("influxd")
        if exe is None:
            raise RuntimeError("influxd not found: run .ci/services.sh (Debian package influxdb)")
        d = self.dir
        conf = d / "influxdb.conf"
        conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{free_port()}"\n'
            f'[meta]\n  dir = "{d}/meta"\n'
            f'[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n  query-log-enabled = false\n'
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            f"  auth-enabled = {'true' if self.auth else 'false'}\n"
            f"[monitor]\n  store-enabled = false\n"
            f"[continuous_queries]\n  enabled = false\n"
        )
        self.log = open(d / "influxd.log", "ab")  # noqa: SIM115 - closed in halt()
        self.proc = subprocess.Popen(
            [exe, "-config", str(conf)], stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/ping", timeout=1) as r,
            ):
                if r.status == 204:
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"influxd did not start: {(d / 'influxd.log').read_text()[-2000:]}")

    def query(self, q: str, db: str | None = None) -> dict:
        params = {"q": q, **({"db": db} if db else {})}
        req = urllib.request.Request(
            f"{self.url}/query", data=urllib.parse.urlencode(params).encode()
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return orjson.loads(r.read())

    def halt(self) -> None:
        """Stop the server and keep its data: :meth:`start` brings it back (same port)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if hasattr(self, "log"):
            self.log.close()

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.dir, ignore_errors=True)


class TcpProxy:
    """Forwards a loopback port to a server; :meth:`cut` drops every connection and
    refuses new ones (as a stopped server does) until :meth:`restore`."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None

    def __enter__(self) -> TcpProxy:
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()

    def restore(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self._listener = s
        self._accepting = threading.Thread(target=self._accept, args=(s,), daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._accepting is not None:
            self._accepting.join(5)
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


class PrivatePostgres:
    """A PostgreSQL server of its own (``initdb`` in a temporary directory, a free
    loopback port, trust auth), so a test can stop and start it without disturbing the
    machine's server that other tests share. Run as the ``postgres`` user when the tests
    run as root (``initdb`` refuses root)."""

    def __init__(self, hba: str | None = None) -> None:
        #: ``pg_hba.conf`` lines instead of initdb's (e.g. passwords for some roles)
        self.hba = hba
        self.dir = Path(tempfile.mkdtemp(prefix="sl-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.dsn = (
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=5"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self._bin = self._find_bin()
        # as root: run the server as the postgres user itself (no runuser in between, so
        # a signal reaches the postmaster)
        self._as: dict[str, str] = {}
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self._as = {"user": "postgres", "group": "postgres"}

    @staticmethod
    def _find_bin() -> Path:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if found:
            return found[-1].parent
        exe = shutil.which("initdb")
        if exe is None:
            raise RuntimeError("initdb not found: install the Debian package postgresql")
        return Path(exe).parent

    def init(self) -> PrivatePostgres:
        out = subprocess.run(
            [str(self._bin / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--no-sync", "-E", "UTF8"],
            capture_output=True,
            **self._as,  # type: ignore[call-overload]
        )  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"initdb failed: {out.stderr.decode()[-2000:]}")
        if self.hba is not None:
            (self.data / "pg_hba.conf").write_text(self.hba)
        return self.start()

    def start(self) -> PrivatePostgres:
        self.log = open(self.dir / "postgres.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(self._bin / "postgres"), "-D", str(self.data),
             "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.dir}", "-c", "fsync=off",
             "-c", "shared_buffers=16MB", "-c", "max_connections=20"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            **self._as,  # type: ignore[call-overload]
        )  # fmt: skip
        deadline = time.monotonic() + 30
        import psycopg

        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.OperationalError), psycopg.connect(self.dsn):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not start: {(self.dir / 'postgres.log').read_text()}")

    def stop(self) -> None:
        """A fast shutdown (SIGINT): sessions are cut, new connections refused."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if hasattr(self, "log"):
            self.log.close()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
