"""run_sandboxed with real bubblewrap: what a run may write, see and reach, and that a timeout leaves nothing behind."""
import random
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from rtg_core.sandbox import SandboxLimits, SandboxMounts, run_sandboxed

REPO = Path(__file__).resolve().parents[1]


def sandboxed(command: str, *, writable: tuple[Path, ...] = (), cwd: Path = Path("/"), wall_seconds: float = 10.0):
    return run_sandboxed(["sh", "-c", command], cwd=cwd, mounts=SandboxMounts(writable=writable), env={},
                         limits=SandboxLimits(wall_seconds=wall_seconds))


def processes_matching(pattern: str) -> str:
    return subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout


def unique_sleep_seconds() -> str:
    """A sleep argument no other process on the machine has, to find the sleep again with pgrep."""
    return f"30.{random.randrange(10**9):09d}"


@pytest.mark.parametrize("directory", [REPO, Path("/usr"), Path("/etc")])
def test_write_outside_the_writable_dirs_fails(directory):
    target = directory / f"rtg-sandbox-{uuid.uuid4().hex}"
    try:
        result = sandboxed(f"echo escaped > {target}")
        assert result.returncode != 0
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


def test_write_to_home_lands_in_a_tmpfs_not_on_the_host():
    target = Path.home() / f"rtg-sandbox-{uuid.uuid4().hex}"
    try:
        result = sandboxed(f"echo escaped > {target} && cat {target}")
        assert (result.returncode, result.stdout) == (0, "escaped\n")
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


def test_read_only_system_says_so():
    target = Path("/usr/local") / f"rtg-sandbox-{uuid.uuid4().hex}"  # on the system, never under a hidden dir
    result = sandboxed(f"touch {target}")
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr
    assert not target.exists()


def test_write_to_a_writable_dir_persists(tmp_path):
    result = sandboxed("echo kept > out.txt && mkdir sub && echo deep > sub/inner.txt", writable=(tmp_path,),
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text() == "kept\n"
    assert (tmp_path / "sub" / "inner.txt").read_text() == "deep\n"


def test_tmp_is_empty_and_fresh_for_each_run():
    marker = Path(f"/tmp/rtg-sandbox-host-{uuid.uuid4().hex}")
    marker.write_text("host only")
    try:
        first = sandboxed("ls -A /tmp /var/tmp; echo inside > /tmp/left-behind")
        second = sandboxed("ls -A /tmp")
    finally:
        marker.unlink()
    assert first.returncode == 0, first.stderr
    assert first.stdout == "/tmp:\n\n/var/tmp:\n"
    assert (second.returncode, second.stdout) == (0, "")
    assert not Path("/tmp/left-behind").exists()


def test_no_network_even_to_a_host_socket():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        command = f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"
        on_host = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=10)
        assert on_host.stdout == "connected\n"  # the probe works where there is a network
        listener.accept()[0].close()
        inside = run_sandboxed(["bash", "-c", command], cwd=Path("/"), mounts=SandboxMounts(), env={},
                               limits=SandboxLimits(wall_seconds=10))
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert inside.returncode != 0
    assert "connected" not in inside.stdout
    assert not inside.timed_out


def test_only_a_loopback_interface():
    result = sandboxed("cat /proc/net/dev")  # /proc is the sandbox's own; /sys still shows the host's devices
    assert result.returncode == 0
    interfaces = [line.split(":")[0].strip() for line in result.stdout.splitlines()[2:]]
    assert interfaces == ["lo"]


@pytest.mark.parametrize("command", [
    "sleep {s}",
    "sleep {s} & sleep {s}",  # a child in the background
    "setsid sleep {s} & sleep {s}",  # one in a session of its own
])
def test_timeout_kills_the_run_and_every_process_it_started(command):
    seconds = unique_sleep_seconds()
    start = time.monotonic()
    result = sandboxed(command.format(s=seconds), wall_seconds=1)
    elapsed = time.monotonic() - start
    assert result.timed_out
    assert elapsed < 10
    assert processes_matching(f"sleep {seconds}") == ""


def test_background_process_does_not_outlive_a_run_that_exits():
    seconds = unique_sleep_seconds()
    result = sandboxed(f"sleep {seconds} >/dev/null 2>&1 & exit 0")
    assert (result.returncode, result.timed_out) == (0, False)
    assert processes_matching(f"sleep {seconds}") == ""


def test_exit_status_and_output_come_back():
    result = sandboxed("echo out; echo err >&2; exit 3")
    assert (result.returncode, result.stdout, result.stderr, result.timed_out) == (3, "out\n", "err\n", False)
