"""Offline cargo for rtg's own scratch crates.

crates.io is unreachable here, so scratch crates resolve against Debian's packaged crate sources by source
replacement, never carry a Cargo.lock from elsewhere, and share one prebuilt target dir. proptest 1.0 and
quickcheck 1.0 seed their RNGs from entropy; rtg builds against copies patched to take a fixed seed (as newer
proptest does with PROPTEST_RNG_SEED) so that the same tests give the same verdicts.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rtg_core.sandbox import SandboxLimits, SandboxMounts, run_sandboxed

DEBIAN_REGISTRY = Path(os.environ.get("RTG_CARGO_REGISTRY", "/usr/share/cargo/registry"))
RNG_SEED_ENV = "RTG_TEST_RNG_SEED"

# What code under test may use, with the features it can turn on.
SCRATCH_DEPENDENCIES = {
    "proptest": '"1"',
    "quickcheck": '"1"',
    "tokio": '{ version = "1", features = ["macros", "rt", "rt-multi-thread", "time", "sync"] }',
    "rand": '"0.8"',
    "regex": '"1"',
    "md5": '"0.7"',
    # The crates mined pairs reach for most often (their first build errors, counted on 250 training pairs):
    # without them a pair that only needs `serde::Serialize` or `log::debug!` never counts as standalone.
    "serde": '{ version = "1", features = ["derive"] }',
    "serde_json": '"1"',
    "syn": '{ version = "1", features = ["full", "extra-traits", "visit", "visit-mut", "fold"] }',
    "quote": '"1"',
    "proc-macro2": '"1"',
    "log": '"0.4"',
    "libc": '"0.2"',
    "tempfile": '"3"',
    "bytes": '"1"',
    "lazy_static": '"1"',
    "once_cell": '"1"',
    "bitflags": '"1"',
    "memchr": '"2"',
    "anyhow": '"1"',
    "thiserror": '"1"',
    "itertools": '"0.10"',
    "byteorder": '"1"',
}


@dataclass(frozen=True)
class SourcePatch:
    crate: str
    file: str
    old: str
    new: str


_SEEDED_RNG = (
    'match ::std::env::var("RNG_SEED_ENV").ok().and_then(|s| s.parse::<u64>().ok()) { '
    "Some(seed) => { use rand::SeedableRng; $RNG::seed_from_u64(seed) } None => $RNG::from_entropy() }"
).replace("RNG_SEED_ENV", RNG_SEED_ENV)
PATCHES = (
    SourcePatch(
        "proptest",
        "src/test_runner/rng.rs",
        "TestRngImpl::ChaCha(ChaChaRng::from_entropy())",
        "TestRngImpl::ChaCha(" + _SEEDED_RNG.replace("$RNG", "ChaChaRng") + ")",
    ),
    SourcePatch(
        "proptest",
        "src/test_runner/config.rs",
        "    result.failure_persistence =\n        Some(Box::new(FileFailurePersistence::default()));",
        f'    if ::std::env::var_os("{RNG_SEED_ENV}").is_none() {{\n'
        "        result.failure_persistence = Some(Box::new(FileFailurePersistence::default()));\n    }",
    ),
    SourcePatch(
        "quickcheck",
        "src/arbitrary.rs",
        "Gen { rng: rand::rngs::SmallRng::from_entropy(), size: size }",
        "Gen { rng: " + _SEEDED_RNG.replace("$RNG", "rand::rngs::SmallRng") + ", size: size }",
    ),
)


class CargoEnvError(RuntimeError):
    pass


@dataclass(frozen=True)
class Edit:
    file: str
    byte_start: int
    byte_end: int
    replacement: str


@dataclass(frozen=True)
class Fix:
    """A suggestion rustc is sure of (MachineApplicable): `&` where a borrow is wanted, `mut` on a binding that is
    mutated, `.await` removed from what is no future. Its edits (a multipart suggestion has several) go together."""

    message: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Diagnostic:
    level: str
    message: str
    rendered: str
    file: str | None
    line: int | None
    byte_start: int | None
    byte_end: int | None
    fixes: tuple[Fix, ...] = ()


@dataclass(frozen=True)
class BuildResult:
    ok: bool
    diagnostics: tuple[Diagnostic, ...]
    test_binary: Path | None
    timed_out: bool
    stderr: str
    wall_seconds: float

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.level == "error")


def cache_dir() -> Path:
    root = os.environ.get("RTG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "rtg"
    )
    return Path(root)


def registry_crate_dir(crate: str) -> Path:
    """The newest Debian-packaged source of `crate`."""
    candidates = sorted(DEBIAN_REGISTRY.glob(f"{crate}-[0-9]*"), key=lambda p: _version_key(p.name[len(crate) + 1 :]))
    if not candidates:
        raise CargoEnvError(
            f"crate `{crate}` is not in {DEBIAN_REGISTRY}; install Debian's librust-{crate}-dev "
            "(scripts/setup.sh does)"
        )
    return candidates[-1]


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in version.replace("-", ".").split("."))


@dataclass(frozen=True)
class OfflineCargo:
    """Builds scratch crates offline in the sandbox, sharing one target dir."""

    root: Path

    @classmethod
    def prepared(cls, root: Path | None = None) -> "OfflineCargo":
        env = cls(root or cache_dir())
        env._prepare()
        return env

    @property
    def cargo_home(self) -> Path:
        return self.root / "cargo-home"

    @property
    def target_dir(self) -> Path:
        return self.root / "target"

    @property
    def patched_dir(self) -> Path:
        return self.root / "patched"

    def _prepare(self) -> None:
        if shutil.which("cargo") is None:
            raise CargoEnvError("cargo is not on PATH; install Rust (rustup or Debian's cargo)")
        self.cargo_home.mkdir(parents=True, exist_ok=True)
        self.target_dir.mkdir(parents=True, exist_ok=True)
        config = (
            "[source.crates-io]\nreplace-with = \"debian\"\n\n"
            f"[source.debian]\ndirectory = \"{DEBIAN_REGISTRY}\"\n\n[net]\noffline = true\n"
        )
        config_path = self.cargo_home / "config.toml"
        if not config_path.exists() or config_path.read_text() != config:
            config_path.write_text(config)
        for crate in sorted({p.crate for p in PATCHES}):
            self._patch_crate(crate)

    def _patch_crate(self, crate: str) -> None:
        source = registry_crate_dir(crate)
        dest = self.patched_dir / source.name
        marker = dest / ".rtg-patched"
        if marker.exists():
            return
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp, symlinks=False)
        for patch in (p for p in PATCHES if p.crate == crate):
            path = tmp / patch.file
            text = path.read_text()
            if patch.old not in text:
                raise CargoEnvError(f"cannot apply rtg's seed patch to {source}/{patch.file}: its source changed")
            path.write_text(text.replace(patch.old, patch.new, 1))
        # A path dependency's lints are not capped the way a registry dependency's are.
        lib_rs = tmp / "src" / "lib.rs"
        lib_rs.write_text("#![allow(warnings, unknown_lints, let_underscore_lock)]\n" + lib_rs.read_text())
        (tmp / ".cargo-checksum.json").write_text(json.dumps({"files": {}, "package": None}))
        (tmp / marker.name).touch()
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)

    def manifest(self, package: str) -> str:
        deps = "\n".join(f"{name} = {spec}" for name, spec in SCRATCH_DEPENDENCIES.items())
        patches = "\n".join(
            f'{crate} = {{ path = "{self.patched_dir / registry_crate_dir(crate).name}" }}'
            for crate in sorted({p.crate for p in PATCHES})
        )
        return (
            f'[package]\nname = "{package}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
            f"[lib]\npath = \"src/lib.rs\"\ndoctest = false\n\n[dependencies]\n{deps}\n\n"
            f"[patch.crates-io]\n{patches}\n\n"
            "[profile.dev]\ndebug = 0\n\n[profile.test]\ndebug = 0\n"
        )

    def write_crate(self, crate_dir: Path, package: str, files: dict[str, str]) -> None:
        """Write a scratch crate: `files` maps paths under src/ to their text."""
        (crate_dir / "src").mkdir(parents=True, exist_ok=True)
        (crate_dir / "Cargo.toml").write_text(self.manifest(package))
        for rel, text in files.items():
            path = crate_dir / "src" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def build_tests(
        self,
        crate_dir: Path,
        *,
        rustc_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        timeout: float = 600.0,
    ) -> BuildResult:
        """Build the crate's unit-test binary; `rustc_args` reach only this crate, never its dependencies."""
        argv = ["cargo", "rustc", "--lib", "--profile", "test", "--message-format=json", "--quiet"]
        if rustc_args:
            argv += ["--", *rustc_args]
        build_env = {
            "CARGO_HOME": str(self.cargo_home),
            "CARGO_TARGET_DIR": str(self.target_dir),
            "CARGO_TERM_COLOR": "never",
            **{k: v for k, v in os.environ.items() if k in ("RUSTUP_HOME", "RUSTUP_TOOLCHAIN")},
            **(env or {}),
        }
        result = run_sandboxed(
            argv,
            cwd=crate_dir,
            mounts=SandboxMounts(writable=(crate_dir, self.target_dir, self.cargo_home), readonly=(self.patched_dir,)),
            env=build_env,
            limits=SandboxLimits(wall_seconds=timeout),
        )
        diagnostics, binaries = parse_cargo_messages(result.stdout)
        return BuildResult(
            ok=result.returncode == 0 and not result.timed_out and bool(binaries),
            diagnostics=tuple(diagnostics),
            test_binary=binaries[-1] if binaries else None,
            timed_out=result.timed_out,
            stderr=result.stderr,
            wall_seconds=result.wall_seconds,
        )


def parse_cargo_messages(stdout: str) -> tuple[list[Diagnostic], list[Path]]:
    """Compiler diagnostics and test executables from cargo's `--message-format=json` output."""
    diagnostics: list[Diagnostic] = []
    binaries: list[Path] = []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        reason = message.get("reason")
        if reason == "compiler-artifact" and message.get("profile", {}).get("test") and message.get("executable"):
            binaries.append(Path(message["executable"]))
        elif reason == "compiler-message":
            diagnostics.append(_diagnostic(message["message"]))
    return diagnostics, binaries


def _diagnostic(msg: dict) -> Diagnostic:
    span = _primary_span(msg.get("spans", []))
    return Diagnostic(
        level=msg.get("level", ""),
        message=msg.get("message", ""),
        rendered=msg.get("rendered") or msg.get("message", ""),
        file=span["file_name"] if span else None,
        line=span["line_start"] if span else None,
        byte_start=span["byte_start"] if span else None,
        byte_end=span["byte_end"] if span else None,
        fixes=tuple(_sure_fixes(msg)),
    )


def _sure_fixes(msg: dict):
    for child in msg.get("children", []):
        suggested = [s for s in child.get("spans", []) if s.get("suggested_replacement") is not None]
        if suggested and all(s.get("suggestion_applicability") == "MachineApplicable" for s in suggested):
            yield Fix(child["message"], tuple(Edit(s["file_name"], s["byte_start"], s["byte_end"],
                                                   s["suggested_replacement"]) for s in suggested))


def _primary_span(spans: list[dict]) -> dict | None:
    """The primary span, followed out of macro expansions back to the source the user wrote: out of `<…>` spans
    and out of files outside the package (a type error inside `assert_eq!` points into core's macros/mod.rs under
    the sysroot; its expansion's call site is the test's line)."""
    primary = next((s for s in spans if s.get("is_primary")), spans[0] if spans else None)
    while primary and primary.get("expansion") and primary["expansion"].get("span"):
        name = primary["file_name"]
        if not (name.startswith("<") or Path(name).is_absolute()):
            break
        primary = primary["expansion"]["span"]
    return primary
