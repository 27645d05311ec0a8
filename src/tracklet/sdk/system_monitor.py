"""System metrics: a daemon thread that samples CPU, memory, disk, network and NVIDIA GPUs.

Each sample is one ``STATS`` record ``{"timestamp": <unix time>, "metrics": {name: number}}``.
Names are stored plain (``cpu.percent``); the UI shows them under ``system/``. The first
sample is taken when the monitor starts, then one every ``interval`` seconds. Anything that
cannot be read on this machine (no disk counters in a container, no NVML, no GPU, a GPU that
fails mid-run) is left out of the sample, never raised. ``docs/sdk.md`` lists the names and units.

psutil and NVML are imported on the monitor's thread, not by ``import tracklet`` or ``init``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tracklet.runlog import RecordType

logger = logging.getLogger(__name__)

MB = 1024 * 1024
GB = 1024 * MB
STOP_WAIT = 2.0  # seconds stop() waits for a sample in progress (NVML can be slow); the thread is a daemon
SAMPLE_SWITCH_INTERVAL = 5e-5  # seconds; see SystemMonitor._sample
RESCAN_CHILDREN = 1.0  # seconds between listings of the training process's descendants
GPU_FAILURES_BEFORE_DROP = 3  # consecutive samples in which a GPU gives nothing at all

Emit = Callable[[RecordType, dict[str, Any]], None]


# -- pure conversions (no psutil, no NVML): unit-tested with constructed values ------------------


@dataclass(frozen=True)
class GpuReading:
    """What NVML said about one device in one sample; None where a query failed or is unsupported."""

    utilization: float | None = None  # percent of time a kernel ran (nvmlDeviceGetUtilizationRates().gpu)
    memory_used: int | None = None  # bytes (nvmlDeviceGetMemoryInfo().used)
    memory_total: int | None = None  # bytes
    temperature: float | None = None  # degrees Celsius (NVML_TEMPERATURE_GPU)
    power_mw: float | None = None  # milliwatts (nvmlDeviceGetPowerUsage)


def gpu_metrics(index: int, reading: GpuReading) -> dict[str, float]:
    """The metrics of GPU ``index`` for one reading; what could not be read is left out."""
    prefix = f"gpu.{index}."
    out: dict[str, float] = {}
    if reading.utilization is not None:
        out[prefix + "utilization"] = float(reading.utilization)
    if reading.memory_used is not None:
        out[prefix + "memory_used_mb"] = reading.memory_used / MB
        if reading.memory_total:
            out[prefix + "memory_percent"] = 100.0 * reading.memory_used / reading.memory_total
    if reading.temperature is not None:
        out[prefix + "temperature_c"] = float(reading.temperature)
    if reading.power_mw is not None:
        out[prefix + "power_w"] = reading.power_mw / 1000.0
    return out


def inventory(driver: str | bytes | None, devices: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Run metadata for GPUs: ``{"gpu_count", "gpu_driver", "gpus": [{"name", "memory_total_mb", "uuid"}]}``,
    or ``{}`` without GPUs. ``devices`` holds ``name`` / ``uuid`` (str or bytes) and ``memory_total`` (bytes)."""
    gpus = []
    for device in devices:
        entry: dict[str, Any] = {"name": _text(device.get("name"))}
        if device.get("memory_total") is not None:
            entry["memory_total_mb"] = device["memory_total"] / MB
        if device.get("uuid") is not None:
            entry["uuid"] = _text(device["uuid"])
        gpus.append(entry)
    if not gpus:
        return {}
    result: dict[str, Any] = {"gpu_count": len(gpus), "gpus": gpus}
    if driver is not None:
        result["gpu_driver"] = _text(driver)
    return result


def cpu_busy_percent(before: Any, after: Any) -> float | None:
    """System CPU percent between two ``psutil.cpu_times()`` readings (busy = all but idle and iowait)."""
    def idle(t: Any) -> float:
        return float(t.idle + getattr(t, "iowait", 0.0))

    total = sum(after) - sum(before)
    if total <= 0:
        return None
    return _clamp(100.0 * (1.0 - (idle(after) - idle(before)) / total), 100.0)


def _text(value: str | bytes | None) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _clamp(value: float, top: float) -> float:
    return min(max(value, 0.0), top)


def cpu_capacity() -> float:
    """CPUs this process may use: its affinity set, lowered by a cgroup v2 CPU quota if there is one."""
    try:
        cpus = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cpus = float(os.cpu_count() or 1)
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
        if quota != "max" and float(period) > 0:
            cpus = min(cpus, float(quota) / float(period))
    except (OSError, ValueError):
        pass
    return max(cpus, 0.01)


# -- process tree CPU -------------------------------------------------------------------------


class _ProcessTreeCpu:
    """CPU seconds used by a process and all its descendants between calls.

    Each process's cumulative time is user + system + the time of children it has reaped, so a
    child that exits and is waited for moves its time into its parent's figure instead of losing
    it; that reaped child's already-counted time is then subtracted so it is not counted twice.
    A pid is matched with its creation time, so a reused pid counts as a new process.

    Listing descendants reads ``/proc/<pid>/stat`` of every process on the machine (about 12 µs
    each), so the list is refreshed at most every ``RESCAN_CHILDREN`` seconds and the processes
    already known are read in between. No CPU time is lost by that: a child first seen late counts
    all its time then, and one that ended unseen is in its parent's reaped-children time.
    """

    def __init__(self, psutil: Any, pid: int) -> None:
        self._psutil = psutil
        self._root = psutil.Process(pid)
        self._seen: dict[int, tuple[float, float, int]] = {}  # pid -> (cumulative seconds, create time, parent)
        self._children: list[Any] | None = None  # psutil.Process objects, kept between listings
        self._listed = 0.0
        self._first = True

    def root(self) -> Any:
        return self._root

    def lifetime_seconds(self) -> float:
        return sum(seen[0] for seen in self._seen.values())

    def delta(self) -> float:
        """CPU seconds since the last call (the first call sets the baseline and returns 0)."""
        psutil = self._psutil
        now = time.monotonic()
        if self._children is None or now - self._listed >= RESCAN_CHILDREN:
            try:
                self._children = self._root.children(recursive=True)
            except psutil.Error:
                self._children = []
            self._listed = now
        current: dict[int, tuple[float, float, int]] = {}
        for proc in [self._root, *self._children]:
            try:
                with proc.oneshot():  # one read of /proc/<pid>/stat for all three
                    t = proc.cpu_times()
                    current[proc.pid] = (t.user + t.system + t.children_user + t.children_system,
                                         proc.create_time(), proc.ppid())
            except psutil.Error:  # exited since the listing
                continue
        used = 0.0
        if not self._first:
            for pid, (seconds, created, _) in current.items():
                before = self._seen.get(pid)
                used += seconds - (before[0] if before and before[1] == created else 0.0)
            for pid, (seconds, created, parent) in self._seen.items():
                still = current.get(pid)
                if (still is None or still[1] != created) and parent in current:
                    used -= seconds  # reaped by a process of the tree: now inside its parent's children time
        self._first = False
        self._seen = current
        return max(used, 0.0)


# -- NVML -------------------------------------------------------------------------------------


class _Nvml:
    """NVIDIA GPUs through NVML (``nvidia-ml-py``); ``open()`` returns None when there are none."""

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self._nvml = nvml
        self._handles: dict[int, Any] = dict(enumerate(handles))
        self._failures: dict[int, int] = {}

    @classmethod
    def open(cls) -> _Nvml | None:
        try:
            import pynvml as nvml
        except Exception:  # not installed, or a broken install
            return None
        try:
            nvml.nvmlInit()
        except Exception:  # no driver / no GPU: the normal case on most machines
            return None
        try:
            count = int(nvml.nvmlDeviceGetCount())
            handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception as exc:
            logger.debug("NVML: could not list devices: %s", exc)
            _shutdown(nvml)
            return None
        if not handles:
            _shutdown(nvml)
            return None
        return cls(nvml, handles)

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for index, handle in list(self._handles.items()):
            values = gpu_metrics(index, read_gpu(self._nvml, handle))
            if values:
                self._failures.pop(index, None)
                out.update(values)
            else:
                self._failures[index] = self._failures.get(index, 0) + 1
                if self._failures[index] >= GPU_FAILURES_BEFORE_DROP:
                    logger.debug("NVML: GPU %d gave no readings %d times; no longer sampled", index,
                                 self._failures[index])
                    del self._handles[index]
        return out

    def close(self) -> None:
        _shutdown(self._nvml)


def read_gpu(nvml: Any, handle: Any) -> GpuReading:
    """One device's readings; each query that fails (unsupported, GPU lost) gives None."""
    rates = _try(nvml.nvmlDeviceGetUtilizationRates, handle)
    memory = _try(nvml.nvmlDeviceGetMemoryInfo, handle)
    return GpuReading(
        utilization=getattr(rates, "gpu", None),
        memory_used=getattr(memory, "used", None),
        memory_total=getattr(memory, "total", None),
        temperature=_try(nvml.nvmlDeviceGetTemperature, handle, getattr(nvml, "NVML_TEMPERATURE_GPU", 0)),
        power_mw=_try(nvml.nvmlDeviceGetPowerUsage, handle),
    )


def _try(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except Exception:
        return None


def _shutdown(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception:
        pass


def gpu_inventory() -> dict[str, Any]:
    """GPU names, memory and the driver version, for the run's metadata; ``{}`` without NVML or GPUs.

    Cheap where there is no NVIDIA driver; with one, ``nvmlInit`` can take a fraction of a second.
    """
    gpus = _Nvml.open()
    if gpus is None:
        return {}
    nvml = gpus._nvml
    try:
        devices = []
        for handle in gpus._handles.values():
            memory = _try(nvml.nvmlDeviceGetMemoryInfo, handle)
            devices.append({"name": _try(nvml.nvmlDeviceGetName, handle) or "unknown",
                            "uuid": _try(nvml.nvmlDeviceGetUUID, handle),
                            "memory_total": getattr(memory, "total", None)})
        return inventory(_try(nvml.nvmlSystemGetDriverVersion), devices)
    finally:
        gpus.close()


# -- the monitor ----------------------------------------------------------------------------------


class SystemMonitor:
    """Samples system metrics on a daemon thread: at start, then every ``interval`` seconds.

    ``emit(RecordType.STATS, {"timestamp", "metrics"})`` receives each sample. ``pid`` is the
    training process; its CPU figure includes all its descendants.
    """

    def __init__(self, emit: Emit, interval: float, pid: int) -> None:
        self._emit = emit
        self._interval = float(interval)
        self._pid = pid
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._sampler: _Sampler | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="tracklet-system-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(STOP_WAIT)

    def _main(self) -> None:
        try:
            import psutil

            self._sampler = _Sampler(psutil, self._pid)
        except Exception as exc:  # psutil missing, or this process cannot be inspected
            logger.warning("system metrics are off: %s", exc)
            return
        try:
            started = time.monotonic()
            self._sample()
            if not self._stopping.is_set():
                self._sampler.gpus = _Nvml.open()  # after the first sample: nvmlInit can be slow
            ticks = 1
            while not self._stopping.wait(max(0.0, started + ticks * self._interval - time.monotonic())):
                self._sample()
                ticks = max(ticks + 1, int((time.monotonic() - started) / self._interval) + 1)
        finally:
            if self._sampler.gpus is not None:
                self._sampler.gpus.close()

    def _sample(self) -> None:
        assert self._sampler is not None
        timestamp = time.time()
        with _prompt_gil():
            metrics = self._sampler.sample()
        if metrics and not self._stopping.is_set():
            try:
                self._emit(RecordType.STATS, {"timestamp": timestamp, "metrics": metrics})
            except Exception as exc:  # the run log closed under us: the run is over
                logger.debug("system metrics sample dropped: %s", exc)


_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextlib.contextmanager
def _prompt_gil() -> Iterator[None]:
    """A short GIL switch interval while a sample is taken.

    Each /proc read releases the GIL, and a thread that wants it back waits up to the switch
    interval (5 ms) while the training thread runs Python: hundreds of reads would stretch a
    ~1 ms sample to seconds. A short interval for the sample's duration hands the GIL back
    promptly; the sample's own CPU time is the same either way. Counted, so that the monitors of
    several runs in one process restore the user's interval.
    """
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, SAMPLE_SWITCH_INTERVAL))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


class _Sampler:
    """One sample's worth of readings, with the baselines that rates and 'since start' need."""

    def __init__(self, psutil: Any, pid: int) -> None:
        self._psutil = psutil
        self._tree = _ProcessTreeCpu(psutil, pid)
        self._capacity = cpu_capacity()
        self._cpu_times = psutil.cpu_times()
        self._boot_cpu_times: Any = None  # the first sample's system CPU is since boot
        self._last = time.monotonic()
        self._disk_start: Any = None
        self._net_start: Any = None
        self.gpus: _Nvml | None = None
        self._warned: set[str] = set()

    def sample(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for part in (self._cpu, self._memory, self._disk, self._network):
            self._guarded(part, metrics)
        if self.gpus is not None:
            self._guarded(lambda m: m.update(self.gpus.metrics() if self.gpus else {}), metrics)
        return metrics

    def _guarded(self, part: Callable[[dict[str, float]], None], metrics: dict[str, float]) -> None:
        try:
            part(metrics)
        except Exception as exc:
            name = getattr(part, "__name__", "gpu")
            if name not in self._warned:
                self._warned.add(name)
                logger.debug("system metrics: %s readings failed: %s", name, exc)

    def _cpu(self, metrics: dict[str, float]) -> None:
        psutil = self._psutil
        now = time.monotonic()
        times = psutil.cpu_times()
        first = self._boot_cpu_times is None
        if first:
            self._boot_cpu_times = times
            busy = cpu_busy_percent(type(times)(*[0.0] * len(times)), times)  # since boot
        else:
            busy = cpu_busy_percent(self._cpu_times, times)
        self._cpu_times = times
        if busy is not None:
            metrics["cpu.percent"] = busy
        used = self._tree.delta()
        if first:  # average since the process started
            root = self._tree.root()
            used = self._tree.lifetime_seconds()
            elapsed = time.time() - root.create_time()
        else:
            elapsed = now - self._last
        self._last = now
        if elapsed > 0:
            metrics["cpu.process_percent"] = _clamp(100.0 * used / elapsed / self._capacity, 100.0)

    def _memory(self, metrics: dict[str, float]) -> None:
        metrics["memory.percent"] = float(self._psutil.virtual_memory().percent)
        metrics["memory.process_rss_mb"] = self._tree.root().memory_info().rss / MB

    def _disk(self, metrics: dict[str, float]) -> None:
        usage = self._psutil.disk_usage("/")
        metrics["disk./.usage_percent"] = float(usage.percent)
        metrics["disk./.usage_gb"] = usage.used / GB
        io = self._psutil.disk_io_counters()
        if io is not None:
            if self._disk_start is None:
                self._disk_start = io
            metrics["disk.read_mb"] = max(io.read_bytes - self._disk_start.read_bytes, 0) / MB
            metrics["disk.write_mb"] = max(io.write_bytes - self._disk_start.write_bytes, 0) / MB

    def _network(self, metrics: dict[str, float]) -> None:
        net = self._psutil.net_io_counters()
        if net is not None:
            if self._net_start is None:
                self._net_start = net
            metrics["network.sent_mb"] = max(net.bytes_sent - self._net_start.bytes_sent, 0) / MB
            metrics["network.recv_mb"] = max(net.bytes_recv - self._net_start.bytes_recv, 0) / MB
