"""`make dev` (scripts/dev.py) stops everything it started, whenever and however it is stopped.

Each test runs the real script with its own ports and data directory. Every process a run starts is
tracked from outside: the test puts a mark of its own in the script's environment, and a sampler
records every process carrying it, every descendant of the script, and every process working in the
run's data directory (PostgreSQL and Redis write their titles over their environment, mark included).
After the stop none of them may run and every port must be free.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from embedded_services import EmbeddedPostgres, free_port

ROOT = Path(__file__).resolve().parents[1]
DEV_SCRIPT = ROOT / "scripts" / "dev.py"
MARK = "DOCKET_DEV_TEST_MARK"
STOP_DEADLINE = 10.0  # the promise: everything is gone within 10 s of the signal
START_DEADLINE = 180.0  # did not hang; a loaded two-core machine starts the three services slowly
PORT_VARIABLES = (
    "DEV_PG_PORT",
    "DEV_REDIS_PORT",
    "DEV_API_PORT",
    "DEV_API_MANAGEMENT_PORT",
    "DEV_WORKER_PORT",
    "DEV_WEB_PORT",
    "DEV_WEB_MANAGEMENT_PORT",
)


class Sampler:
    """Records, every 0.5 s, each process that belongs to a run: marked, descended, or in its data."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, float], str] = {}
        self.runs: list[DevRun] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.sample()
            except Exception as exc:  # a blind sampler would let the test pass vacuously
                self.errors.append(exc)
                return

    def sample(self) -> None:
        for process in belonging(list(self.runs)):
            with contextlib.suppress(psutil.Error):
                key = (process.pid, process.create_time())
                command = " ".join(process.cmdline())
                with self._lock:  # an exiting process reads as an empty command line: keep the real one
                    if command or key not in self.seen:
                        self.seen[key] = command

    def processes(self) -> dict[tuple[int, float], str]:
        assert not self.errors, f"the sampler failed: {self.errors!r}"
        with self._lock:
            return dict(self.seen)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def commands(self) -> str:
        return "\n".join(self.processes().values())


class DevRun:
    """scripts/dev.py as a real process in a session of its own, as a terminal would run it.

    With ``terminal``, that session has a pseudo-terminal as its controlling terminal, set to
    ``tostop`` (background processes that write to it are stopped), and Ctrl-C is typed on it.
    """

    def __init__(self, data_dir: Path, ports: dict[str, str], log: Path, terminal: bool = False) -> None:
        self.data_dir = data_dir
        self.ports = ports
        self.mark = uuid.uuid4().hex
        self.log = log
        self.terminal: int | None = None
        env = {**os.environ, **ports, "DEV_DATA_DIR": str(data_dir), MARK: self.mark}
        argv = [sys.executable, str(DEV_SCRIPT)]
        if not terminal:
            with log.open("ab") as out:
                self.process = subprocess.Popen(
                    argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            return
        self.terminal, child_end = pty.openpty()
        modes = termios.tcgetattr(child_end)
        modes[3] |= termios.TOSTOP
        termios.tcsetattr(child_end, termios.TCSANOW, modes)
        self.process = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdin=child_end, stdout=child_end, stderr=child_end,
            start_new_session=True, preexec_fn=_take_controlling_terminal,
        )  # fmt: skip
        os.close(child_end)
        self.copier = threading.Thread(target=self._copy_terminal, daemon=True)
        self.copier.start()

    def _copy_terminal(self) -> None:
        """Keep reading the terminal (a full one blocks its writers) into the log."""
        assert self.terminal is not None
        with self.log.open("ab") as out:
            while True:
                try:
                    chunk = os.read(self.terminal, 65536)
                except OSError:  # EIO: every process holding the terminal has gone
                    break
                if not chunk:
                    break
                out.write(chunk)
                out.flush()
        os.close(self.terminal)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def port(self, variable: str) -> int:
        return int(self.ports[variable])

    def wait_until(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_DEADLINE
        while not condition():
            assert self.process.poll() is None, f"dev.py exited before {what}:\n{self.output()[-4000:]}"
            assert time.monotonic() < deadline, (
                f"no {what} within {START_DEADLINE} s:\n{self.output()[-4000:]}"
            )
            time.sleep(0.1)

    def stop(self, how: str) -> float:
        """Send the signal and return the seconds dev.py took to exit."""
        started = time.monotonic()
        if how.startswith("Ctrl-C"):
            assert self.terminal is not None
            os.write(self.terminal, b"\x03")  # the terminal sends SIGINT to its foreground group
        elif how.startswith("SIGINT to the group"):
            os.killpg(self.process.pid, signal.SIGINT)
            if how.endswith("twice"):  # an impatient user: the second one skips the grace period
                time.sleep(0.2)
                os.killpg(self.process.pid, signal.SIGINT)
        else:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"dev.py did not stop within {STOP_DEADLINE} s of {how}:\n{self.output()[-4000:]}")
        took = time.monotonic() - started
        if self.terminal is not None:
            self.copier.join(10)  # the last lines dev.py wrote
        return took


def _take_controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # stdin, the new session's terminal; dev.py is its foreground


def all_processes() -> Iterator[psutil.Process]:
    """Every process; unlike psutil.process_iter (a shared cache), safe from two threads at once."""
    for pid in psutil.pids():
        with contextlib.suppress(psutil.Error):
            yield psutil.Process(pid)


def marked(mark: str) -> list[psutil.Process]:
    return belonging_to_marks({mark}, [])


def belonging(runs: list[DevRun]) -> list[psutil.Process]:
    """Every live process of these runs, found three independent ways."""
    found = belonging_to_marks({run.mark for run in runs}, [run.data_dir.resolve() for run in runs])
    for run in runs:
        with contextlib.suppress(psutil.Error):
            found += psutil.Process(run.process.pid).children(recursive=True)
    return [process for process in found if _running(process)]


def belonging_to_marks(marks: set[str], data_dirs: list[Path]) -> list[psutil.Process]:
    """Processes carrying one of ``marks`` or working in one of ``data_dirs``, in one pass."""
    found = []
    for process in all_processes():
        with contextlib.suppress(psutil.Error):
            if process.environ().get(MARK) in marks:
                found.append(process)
                continue
        with contextlib.suppress(psutil.Error):
            if data_dirs and any(Path(process.cwd()).is_relative_to(d) for d in data_dirs):
                found.append(process)
    return found


def _running(process: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    return False


def port_is_free(port: int) -> bool:
    with contextlib.closing(socket.socket()) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def assert_nothing_left(sampler: Sampler, runs: list[DevRun]) -> None:
    sampler.sample()
    survivors = {
        f"{pid}: {command}"
        for (pid, created), command in sampler.processes().items()
        if _still_runs(pid, created)
    }
    survivors |= {f"{p.pid}: {' '.join(p.cmdline())}" for p in belonging(runs)}
    assert not survivors, "left running:\n" + "\n".join(sorted(survivors))
    busy = [port for run in runs for port in map(int, run.ports.values()) if not port_is_free(port)]
    assert not busy, f"ports still taken: {busy}"


def _still_runs(pid: int, created: float) -> bool:
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        return process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE
    return False


@pytest.fixture
def sampler() -> Iterator[Sampler]:
    watcher = Sampler()
    yield watcher
    watcher.close()
    for run in watcher.runs:  # a failed test must not leave a run behind for the next one
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()
    leftovers = belonging(watcher.runs)
    for process in leftovers:
        with contextlib.suppress(psutil.Error):
            process.kill()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # PostgreSQL runs as nobody under root: the directory must be reachable for it (pytest's are 0700)
    path = Path(tempfile.mkdtemp(prefix="docket-devtest-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ports() -> dict[str, str]:
    chosen: set[int] = set()
    while len(chosen) < len(PORT_VARIABLES):
        chosen.add(free_port())
    return dict(zip(PORT_VARIABLES, map(str, sorted(chosen)), strict=True))


@pytest.fixture
def start_run(
    sampler: Sampler, data_dir: Path, ports: dict[str, str], tmp_path: Path
) -> Callable[..., DevRun]:
    def start(terminal: bool = False) -> DevRun:
        run = DevRun(data_dir, ports, tmp_path / f"dev-{len(sampler.runs)}.log", terminal)
        sampler.runs.append(run)
        return run

    return start


def _has(run: DevRun, *words: str) -> bool:
    """Whether a descendant of the script has all ``words`` in its command line."""
    with contextlib.suppress(psutil.Error):
        for process in psutil.Process(run.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if all(word in " ".join(process.cmdline()) for word in words):
                    return True
    return False


def _banner(run: DevRun) -> bool:
    return "Press Ctrl-C to stop." in run.output()


MOMENTS: dict[str, Callable[[DevRun], tuple[str, Callable[[], bool]]]] = {
    "before PostgreSQL is up": lambda run: ("initdb", lambda: _has(run, "bin/initdb")),
    "during migrations": lambda run: ("migrations", lambda: _has(run, "docket-api migrate")),
    "right after the api is ready": lambda run: (
        "api port",
        lambda: port_accepts(run.port("DEV_API_PORT")),
    ),
}
STARTED_BY_THEN = {
    "before PostgreSQL is up": ["initdb"],
    "during migrations": ["bin/postgres", "redis-server", "docket-api migrate"],
    "right after the api is ready": ["bin/postgres", "redis-server", "docket-api serve"],
}
EVERYTHING = ["bin/postgres", "redis-server", "docket-api serve", "docket-worker run", "docket-web serve"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("moment", "how"),
    [
        ("before PostgreSQL is up", "SIGINT to the group, twice"),
        ("during migrations", "SIGTERM"),
        ("right after the api is ready", "Ctrl-C in its terminal (stty tostop)"),
    ],
)  # with everything running: the second run of the next test
def test_a_stop_at_any_moment_leaves_no_process_and_no_port_behind(
    moment: str, how: str, start_run: Callable[..., DevRun], sampler: Sampler
) -> None:
    run = start_run(terminal=how.startswith("Ctrl-C"))
    what, reached = MOMENTS[moment](run)
    run.wait_until(what, reached)
    sampler.sample()  # what runs at the moment of the signal, however briefly it lived
    seconds = run.stop(how)
    print(f"\n[dev stop] {how} {moment}: {seconds:.2f} s")
    assert run.process.returncode == 0, run.output()[-4000:]
    for command in STARTED_BY_THEN[moment]:  # the run had really started what the moment promises
        assert command in sampler.commands(), f"never saw {command!r}:\n{sampler.commands()}"
    assert_nothing_left(sampler, [run])
    output = run.output()
    assert "Traceback" not in output, output[-4000:]
    assert output.rstrip().endswith("Docket stopped."), output[-4000:]


@pytest.mark.slow
def test_a_killed_run_is_cleaned_up_by_the_next_one_which_starts_and_keeps_the_data(
    start_run: Callable[..., DevRun], sampler: Sampler
) -> None:
    first = start_run()
    first.wait_until("the worker starting", lambda: _has(first, "docket-worker run"))
    pg_url = f"postgresql://postgres@127.0.0.1:{first.port('DEV_PG_PORT')}/postgres"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept_across_runs (note text)")
        conn.execute("INSERT INTO kept_across_runs VALUES ('from the killed run')")
    sampler.sample()
    first.process.kill()  # SIGKILL while the worker starts: it, the api, Redis and PostgreSQL are orphans
    first.process.wait()
    orphans = " ".join(" ".join(p.cmdline()) for p in belonging([first]))
    for command in ("bin/postgres", "redis-server", "docket-api serve", "docket-worker run"):
        assert command in orphans, f"the killed run should have left {command!r} running: {orphans}"

    second = start_run()  # same data directory and ports
    second.wait_until("the banner", lambda: _banner(second))
    sampler.sample()
    for command in EVERYTHING:
        assert command in sampler.commands(), f"never saw {command!r}:\n{sampler.commands()}"
    assert "an earlier, killed run left" in second.output()
    assert "the PostgreSQL an earlier run left" in second.output()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT note FROM kept_across_runs").fetchall() == [("from the killed run",)]
    seconds = second.stop("SIGINT to the group")
    print(f"\n[dev stop] SIGINT to the group with everything running, after a killed run: {seconds:.2f} s")
    assert second.process.returncode == 0, second.output()[-4000:]
    assert_nothing_left(sampler, [first, second])
    assert "Traceback" not in second.output()


@pytest.mark.slow
def test_a_run_killed_during_initdb_leaves_nothing_the_next_run_trips_over(
    start_run: Callable[..., DevRun], sampler: Sampler
) -> None:
    first = start_run()
    first.wait_until("initdb", lambda: _has(first, "bin/initdb"))
    sampler.sample()
    first.process.kill()
    first.process.wait()

    second = start_run()
    second.wait_until("migrations", lambda: _has(second, "docket-api migrate"))
    sampler.sample()
    second.stop("SIGTERM")
    assert second.process.returncode == 0, second.output()[-4000:]
    assert (first.data_dir / "pgdata" / "PG_VERSION").exists()
    assert not (first.data_dir / "pgdata.initdb").exists()
    assert_nothing_left(sampler, [first, second])


@pytest.mark.slow
def test_a_service_that_fails_to_start_stops_the_run_with_one_line_and_leaves_nothing(
    start_run: Callable[..., DevRun], sampler: Sampler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_CONCURRENCY", "many")  # only the worker reads it: it exits with status 2
    run = start_run()
    assert run.process.wait(START_DEADLINE) == 1, run.output()[-4000:]
    output = run.output()
    assert "dev: worker exited with status 2 during start-up (its log is above)" in output, output[-4000:]
    assert "docket-worker: configuration error" in output
    assert "docket-api serve" in sampler.commands(), "the api had started and had to be stopped"
    assert "Traceback" not in output, output[-4000:]
    assert_nothing_left(sampler, [run])


def _only_line(run: DevRun) -> str:
    assert run.process.wait(60) == 1
    lines = run.output().strip().splitlines()
    assert len(lines) == 1, run.output()
    return lines[0]


@pytest.mark.parametrize("variable", ["DEV_API_PORT", "DEV_PG_PORT"])
def test_a_taken_port_is_named_with_its_holder_in_one_line_and_nothing_starts(
    variable: str, start_run: Callable[..., DevRun], ports: dict[str, str], data_dir: Path
) -> None:
    port = int(ports[variable])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        line = _only_line(start_run())
    assert line.startswith(f"dev: port {port} ({variable}) is already in use by pid {os.getpid()} (")
    assert "pytest" in line or sys.executable in line, line
    assert not (data_dir / "pgdata").exists(), "nothing may start when a port is taken"


def test_a_second_run_on_the_same_data_is_refused_in_one_line(
    start_run: Callable[..., DevRun], data_dir: Path
) -> None:
    with (data_dir / "dev.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write("4242\n")
        lock.flush()
        line = _only_line(start_run())
    assert (
        line == f"dev: another `make dev` (pid 4242) is running on {data_dir}; stop it, or set DEV_DATA_DIR"
    )


def test_a_malformed_port_variable_is_named_in_one_line(
    start_run: Callable[..., DevRun], ports: dict[str, str]
) -> None:
    ports["DEV_WEB_PORT"] = "80800"
    line = _only_line(start_run())
    assert line == "dev: DEV_WEB_PORT must be a port number from 1 to 65535, not '80800'"


def test_postgres_starts_over_a_stale_postmaster_pid_whose_pid_is_reused() -> None:
    server = EmbeddedPostgres().start()
    try:
        crashed = server.processes()
        for process in crashed:  # as a crash would: no shutdown, the pid file stays
            process.kill()
        psutil.wait_procs(crashed, timeout=10)
        pid_file = server.data_dir / "postmaster.pid"
        # a live process of PostgreSQL's own user now has the old pid (another cluster's backend, say):
        # PostgreSQL alone would refuse to start, "lock file postmaster.pid already exists"
        owner = "nobody" if os.geteuid() == 0 else None
        with subprocess.Popen(["sleep", "60"], user=owner) as stranger:
            lines = pid_file.read_text().split("\n")
            pid_file.write_text("\n".join([str(stranger.pid), *lines[1:]]))
            server.start()
            stranger.kill()
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.destroy()
    assert not server.processes()
