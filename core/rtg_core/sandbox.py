"""The sandbox for untrusted code: generated tests and everything cargo builds from them.

bubblewrap gives each run a read-only view of the system, no network, fresh /tmp, /var/tmp and $HOME, its own
PID namespace, and writes only to the directories the caller names. Resource limits bound memory, file size and
processes; a wall-clock timeout kills the whole process group, so a hung test is a verdict, never a hung judge.
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

GIB = 1024**3


class SandboxUnavailable(RuntimeError):
    """Raised instead of running untrusted code without isolation."""


@dataclass(frozen=True)
class SandboxLimits:
    wall_seconds: float = 60.0
    address_space_bytes: int = 8 * GIB  # rustc and multi-threaded tests reserve far more than they touch
    file_size_bytes: int = 512 * 1024**2
    # RLIMIT_NPROC counts per user and is not enforced for root; the PID namespace still dies with the run.
    max_processes: int = 512


@dataclass(frozen=True)
class SandboxResult:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    wall_seconds: float
    cancelled: bool = False


@dataclass(frozen=True)
class SandboxMounts:
    """What a run may see beyond the read-only system: `writable` dirs and `hidden` dirs (replaced by empty tmpfs)."""

    writable: tuple[Path, ...] = ()
    readonly: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = field(default_factory=tuple)


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, and rtg refuses to run untrusted generated code without a "
            "sandbox. Install it with `apt-get install bubblewrap` (or run scripts/setup.sh)."
        )
    return path


def _toolchain_dirs_under(home: Path) -> list[Path]:
    """rustup keeps cargo and rustc under $HOME, which the sandbox hides; bring those back read-only."""
    dirs = []
    for name in ("RUSTUP_HOME", "CARGO_HOME"):
        value = os.environ.get(name)
        if value:
            dirs.append(Path(value))
    dirs += [home / ".rustup", home / ".cargo"]
    return [d for d in dict.fromkeys(dirs) if d.is_dir() and d.resolve().is_relative_to(home.resolve())]


def _bwrap_argv(mounts: SandboxMounts, cwd: Path) -> list[str]:
    home = Path.home()
    argv = [
        bwrap_path(),
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--tmpfs", "/var/tmp",
        "--tmpfs", "/dev/shm",
        "--tmpfs", str(home),
        "--unshare-all",  # network, PID, IPC, UTS and cgroup namespaces
        "--die-with-parent",
        "--new-session",
    ]
    for path in _toolchain_dirs_under(home):
        argv += ["--ro-bind", str(path), str(path)]
    for path in mounts.hidden:
        argv += ["--tmpfs", str(path)]
    for path in mounts.readonly:
        argv += ["--ro-bind", str(path), str(path)]
    for path in mounts.writable:
        argv += ["--bind", str(path), str(path)]
    argv += ["--chdir", str(cwd)]
    return argv


def _limit_resources(limits: SandboxLimits):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.address_space_bytes, limits.address_space_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))

    return apply


def run_sandboxed(
    argv: list[str],
    *,
    cwd: Path,
    mounts: SandboxMounts,
    env: dict[str, str],
    limits: SandboxLimits,
    cancel: threading.Event | None = None,
) -> SandboxResult:
    """Run untrusted `argv` in the sandbox; on timeout or `cancel` kill its whole process group (cargo spawns
    children that a plain terminate would miss)."""
    full_argv = _bwrap_argv(mounts, cwd) + ["--"] + argv
    sandbox_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home()), "LANG": "C.UTF-8"}
    sandbox_env.update(env)
    start = time.monotonic()
    proc = subprocess.Popen(
        full_argv,
        env=sandbox_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_limit_resources(limits),
    )
    timed_out = cancelled = False
    deadline = start + limits.wall_seconds
    try:
        while True:
            try:
                stdout, stderr = proc.communicate(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                timed_out = time.monotonic() >= deadline
                cancelled = cancel is not None and cancel.is_set()
                if timed_out or cancelled:
                    kill_process_group(proc)
                    stdout, stderr = proc.communicate()
                    break
    except BaseException:
        kill_process_group(proc)
        proc.communicate()
        raise
    return SandboxResult(
        returncode=proc.returncode,
        stdout=stdout.decode("utf-8", errors="replace"),
        stderr=stderr.decode("utf-8", errors="replace"),
        timed_out=timed_out,
        wall_seconds=time.monotonic() - start,
        cancelled=cancelled,
    )


def kill_process_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
