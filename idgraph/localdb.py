"""Run a real Neo4j Community server as a local process from the Maven Central jars.

Used by ``idgraph serve`` when no ``IDGRAPH_NEO4J_URI`` is set, by the test suite and by
the benchmarks. Production runs the official Docker image or a managed Neo4j instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from neo4j import GraphDatabase
from neo4j import exceptions as neo4j_errors

from idgraph.errors import ConfigError, Unavailable

JVM_FLAGS = (
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields", "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024", "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true", "-Dfile.encoding=UTF-8",
)


def free_port() -> int:
    """An ephemeral TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """True when something listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LocalNeo4j:
    """A Neo4j server process with its own home (conf, data, logs) and Bolt port."""

    home: Path
    lib: Path
    bolt_port: int
    heap: str = "1g"
    pagecache: str = "512m"
    tx_log_retention: str = "keep_none"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def uri(self) -> str:
        """Bolt URI of the server."""
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def log_path(self) -> Path:
        """Where the server's console output goes."""
        return self.home / "logs" / "console.log"

    def _write_conf(self) -> None:
        for sub in ("conf", "data", "logs", "run", "plugins"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        home = self.home.resolve()
        (self.home / "conf" / "neo4j.conf").write_text("\n".join([
            "server.default_listen_address=127.0.0.1",
            "server.bolt.enabled=true",
            f"server.bolt.listen_address=127.0.0.1:{self.bolt_port}",
            "server.http.enabled=false",
            "server.https.enabled=false",
            "dbms.security.auth_enabled=false",
            "dbms.usage_report.enabled=false",
            f"server.directories.data={home / 'data'}",
            f"server.directories.logs={home / 'logs'}",
            f"server.directories.run={home / 'run'}",
            f"server.memory.pagecache.size={self.pagecache}",
            f"db.tx_log.rotation.retention_policy={self.tx_log_retention}",
            "db.tx_log.rotation.size=16M",  # small files: pruned sooner after an erasure
            "db.transaction.timeout=60s",
            "",
        ]))

    def command(self) -> list[str]:
        """The java command line Neo4j's own launcher would build, with our heap."""
        java = shutil.which("java", path=os.path.join(os.environ.get("JAVA_HOME", ""), "bin")
                            + os.pathsep + os.environ.get("PATH", ""))
        if java is None:
            raise ConfigError("java (17+) is needed to run a local Neo4j")
        home = self.home.resolve()
        classpath = f"{home / 'plugins'}/*:{self.lib.resolve()}/*"
        return [java, f"-Xms{self.heap}", f"-Xmx{self.heap}", *JVM_FLAGS, "-cp", classpath,
                "org.neo4j.server.CommunityEntryPoint", f"--home-dir={home}",
                f"--config-dir={home / 'conf'}", "--console-mode"]

    def start(self, timeout: float = 120.0) -> None:
        """Start the server and wait until Bolt answers; raise Unavailable with the log."""
        if not any(self.lib.glob("neo4j-*.jar")):
            raise ConfigError(f"no Neo4j jars in {self.lib}; run `make deps`")
        if port_open(self.bolt_port):
            raise ConfigError(f"port {self.bolt_port} is taken; set IDGRAPH_NEO4J_BOLT_PORT")
        self._write_conf()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with GraphDatabase.driver(self.uri, auth=None) as driver:
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise Unavailable(f"Neo4j exited with {self.process.returncode}:\n"
                                      + self.log_tail())
                try:
                    driver.verify_connectivity()
                    return
                except (neo4j_errors.DriverError, neo4j_errors.Neo4jError, OSError):
                    if time.monotonic() > deadline:
                        self.stop()
                        raise Unavailable(f"Neo4j not ready after {timeout:.0f}s:\n"
                                          + self.log_tail()) from None
                    time.sleep(0.5)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's console log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """Kill the server at once (SIGKILL): no checkpoint, no clean shutdown; the next
        start recovers from the transaction log."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `timeout`)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
