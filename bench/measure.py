"""Timing and memory of one command, and the facts about the machine a result needs."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.errors import BenchmarkError


@dataclass(frozen=True)
class Measured:
    """One run of one command: wall seconds, peak RSS of the process tree, and its output.

    `process_peaks_mb` holds, per process of the tree (by command line), the largest VmHWM (the kernel's
    per-process peak RSS) read from /proc while it ran: sampled every SAMPLE_SECONDS, so a process that
    peaks in its last instant may be under-reported; `peak_rss_mb` (GNU time's %M) is exact for the tree."""

    command: tuple[str, ...]
    seconds: float
    peak_rss_mb: float
    stdout: str
    process_peaks_mb: dict[str, float] = field(default_factory=dict)


SAMPLE_SECONDS = 0.1


class TreeSampler:
    """A thread that records the peak RSS (VmHWM) of every process under one root process."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            for pid in _descendants(self.root):
                peak = _vm_hwm_mb(pid)
                name = _command_line(pid)
                if peak is not None and name:
                    self.peaks[name] = max(peak, self.peaks.get(name, 0.0))


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found = [root]
    index = 0
    while index < len(found):
        found.extend(children.get(found[index], []))
        index += 1
    return found


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    parts = [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]
    return " ".join(Path(parts[0]).name if index == 0 else part for index, part in enumerate(parts))


GNU_TIME = Path("/usr/bin/time")


def run_measured(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path, *, check: bool = True
) -> Measured:
    """Run `command` to its end: wall time by perf_counter; the peak RSS of the tree from GNU time's %M
    (its child's ru_maxrss). Not from this process's own wait4: a child forked from a large parent
    inherits the parent's RSS high-water mark at exec, which would count this process's memory."""
    if not GNU_TIME.is_file():
        raise BenchmarkError(f"{GNU_TIME} is missing: install GNU time (Debian package `time`) to measure memory")
    log.parent.mkdir(parents=True, exist_ok=True)
    rss_file = log.with_suffix(".maxrss")
    wrapped = [str(GNU_TIME), "-f", "%M", "-o", str(rss_file), *command]
    with log.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(wrapped, env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=stderr)
        with TreeSampler(process.pid) as sampler:
            output, _ = process.communicate()
            seconds = time.perf_counter() - started
    text = output.decode("utf-8", errors="replace")
    if check and process.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise BenchmarkError(
            f"`{' '.join(command)}` exited with {process.returncode} in {cwd}: {' | '.join(tail) or text[-300:]}; "
            f"full log: {log}"
        )
    peak_kb = rss_file.read_text(encoding="utf-8").strip().splitlines()[-1]
    return Measured(tuple(command), seconds, int(peak_kb) / 1024, text, dict(sampler.peaks))


@dataclass(frozen=True)
class Spread:
    """min / median / max of a series of measurements."""

    low: float
    median: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise BenchmarkError("no measurement to summarise: the run count must be at least 1")
        return cls(min(values), statistics.median(values), max(values), len(values))

    def text(self, digits: int = 2, unit: str = "") -> str:
        return f"{self.low:.{digits}f} / {self.median:.{digits}f} / {self.high:.{digits}f}{unit}"


def machine() -> dict[str, str]:
    """CPU, cores, memory and the versions a result depends on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        first = meminfo.read_text(encoding="utf-8").splitlines()[0]
        memory = f"{int(first.split()[1]) / 1024 / 1024:.1f} GiB"
    facts = {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
    }
    for package in ("dbt-core", "dbt-duckdb", "duckdb", "moto"):
        facts[package] = metadata.version(package)
    return facts
