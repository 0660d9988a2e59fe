"""A real Spark standalone cluster on loopback for the warm_set.py tests.

One master and two workers, started with pyspark's own bin/spark-class on free ports bound to
127.0.0.1, shared by the session and stopped at its end (also when a test fails or the run is
interrupted). WARMSET (default .build/release/warmset) is the binary under test.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOB = os.path.join(ROOT, "examples", "spark", "warm_set.py")

LOG4J = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home():
    import pyspark

    return os.path.dirname(os.path.abspath(pyspark.__file__))


def path_without_warmset():
    """PATH minus every folder holding a warmset: the executors find no binary of their own."""
    parts = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    return os.pathsep.join(p for p in parts if p and not os.path.exists(os.path.join(p, "warmset")))


class Cluster:
    """Master and workers as child process groups; `stop` ends them and their executors."""

    def __init__(self, workers=2):
        self.home = spark_home()
        self.dir = tempfile.mkdtemp(prefix="warmset-spark-")
        self.conf = os.path.join(self.dir, "conf")
        os.makedirs(self.conf)
        with open(os.path.join(self.conf, "log4j2.properties"), "w") as f:
            f.write(LOG4J)
        self.env = dict(
            os.environ,
            SPARK_HOME=self.home,
            SPARK_CONF_DIR=self.conf,
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOCAL_HOSTNAME="localhost",
            SPARK_LOCAL_DIRS=os.path.join(self.dir, "local"),
            SPARK_LOG_DIR=os.path.join(self.dir, "logs"),
            SPARK_DAEMON_MEMORY="256m",
            PYSPARK_PYTHON=sys.executable,
            PATH=path_without_warmset(),
        )
        self.processes = []
        self.logs = []
        self.port, self.ui = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        atexit.register(self.stop)
        self._start("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(self.port), "--webui-port", str(self.ui)])
        for i in range(workers):
            work = os.path.join(self.dir, f"work{i}")
            self._start(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", self.url, "--host", "127.0.0.1",
                                      "--port", str(free_port()), "--webui-port", str(free_port()),
                                      "--cores", "1", "--memory", "1g", "--work-dir", work])
        self._wait_for_workers(workers)

    def _start(self, name, arguments):
        log_path = os.path.join(self.dir, f"{name}.log")
        log = open(log_path, "wb")
        self.logs.append(log_path)
        process = subprocess.Popen([os.path.join(self.home, "bin", "spark-class"), *arguments], env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True)
        log.close()
        self.processes.append(process)

    def _wait_for_workers(self, count, seconds=120):
        deadline = time.time() + seconds
        while time.time() < deadline:
            for process, log in zip(self.processes, self.logs):
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{log} exited with {process.returncode}:\n{tail(log)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json/", timeout=2) as response:
                    state = json.load(response)
                alive = [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
                if len(alive) >= count:
                    return
            except OSError:
                pass
            time.sleep(1)
        logs = "\n".join(f"--- {log}\n{tail(log)}" for log in self.logs)
        self.stop()
        raise RuntimeError(f"the Spark workers did not register within {seconds} s\n{logs}")

    def submit(self, arguments, env=None, timeout=300):
        """spark-submit warm_set.py against this cluster: the finished process, with `output`, its
        stdout and stderr together (spark-submit hands the Python driver's stderr to its stdout)."""
        command = [
            os.path.join(self.home, "bin", "spark-submit"), "--master", self.url,
            "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
            "--conf", "spark.ui.enabled=false", "--conf", f"spark.pyspark.python={sys.executable}",
            "--conf", f"spark.pyspark.driver.python={sys.executable}",
            "--driver-memory", "512m", "--executor-memory", "512m", "--total-executor-cores", "2",
            JOB, *arguments,
        ]
        run_env = dict(self.env, **(env or {}))
        done = subprocess.run(command, env=run_env, cwd=self.dir, capture_output=True, text=True, timeout=timeout)
        done.output = done.stdout + done.stderr
        if os.environ.get("WARMSET_SPARK_VERBOSE"):
            sys.stderr.write(done.output)
        return done

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            # The group also holds the executors the worker started: none may outlive the test.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if process.poll() is None:
                process.wait(timeout=10)
        self.processes = []
        if os.environ.get("WARMSET_SPARK_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)


def tail(path, lines=40):
    try:
        with open(path, "r", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as error:
        return str(error)


@pytest.fixture(scope="session")
def cluster():
    c = Cluster(workers=2)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def warmset():
    path = os.environ.get("WARMSET", os.path.join(ROOT, ".build", "release", "warmset"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"no warmset binary at {path}: run `make release` (or set WARMSET)")
    return os.path.abspath(path)
