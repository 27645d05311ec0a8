"""System metrics: NVML readings to metrics, GPU inventory, and life without NVML.

NVML itself is replaced by small stand-in modules (``pynvml`` is a third-party library and there is
no GPU here); everything of ours runs for real.
"""

from __future__ import annotations

import os
import sys
import time
import types
from collections import namedtuple
from typing import Any

import pytest

from tracklet.runlog import RecordType
from tracklet.sdk.system_monitor import (
    MB,
    GpuReading,
    SystemMonitor,
    _Nvml,
    cpu_busy_percent,
    gpu_inventory,
    gpu_metrics,
    inventory,
    read_gpu,
)


def test_a_full_reading_becomes_every_gpu_metric() -> None:
    reading = GpuReading(utilization=87, memory_used=6 * 1024 * MB, memory_total=24 * 1024 * MB,
                         temperature=71, power_mw=215_500)
    assert gpu_metrics(1, reading) == {
        "gpu.1.utilization": 87.0,
        "gpu.1.memory_used_mb": 6144.0,
        "gpu.1.memory_percent": 25.0,
        "gpu.1.temperature_c": 71.0,
        "gpu.1.power_w": 215.5,
    }


def test_what_nvml_could_not_read_is_left_out() -> None:
    assert gpu_metrics(0, GpuReading()) == {}
    assert gpu_metrics(0, GpuReading(memory_used=MB, memory_total=0)) == {"gpu.0.memory_used_mb": 1.0}
    assert gpu_metrics(2, GpuReading(temperature=40)) == {"gpu.2.temperature_c": 40.0}


def test_inventory_decodes_names_and_counts_devices() -> None:
    devices = [{"name": b"NVIDIA H100 80GB HBM3", "uuid": "GPU-1", "memory_total": 80 * 1024 * MB},
               {"name": "NVIDIA H100 80GB HBM3", "uuid": None, "memory_total": None}]
    assert inventory(b"550.54.15", devices) == {
        "gpu_count": 2,
        "gpu_driver": "550.54.15",
        "gpus": [{"name": "NVIDIA H100 80GB HBM3", "memory_total_mb": 81920.0, "uuid": "GPU-1"},
                 {"name": "NVIDIA H100 80GB HBM3"}],
    }
    assert inventory("550", []) == {}


def test_system_cpu_percent_from_two_readings() -> None:
    Times = namedtuple("Times", "user system idle iowait")
    assert cpu_busy_percent(Times(10, 10, 70, 10), Times(40, 20, 120, 20)) == pytest.approx(40.0)
    assert cpu_busy_percent(Times(1, 1, 1, 1), Times(1, 1, 1, 1)) is None


# -- NVML stand-ins -------------------------------------------------------------------------------


class NVMLError(Exception):
    pass


def fake_nvml(devices: list[dict[str, Any]], init_error: bool = False) -> types.ModuleType:
    """A ``pynvml`` with ``devices``: dicts of readings, where a reading that is an exception raises."""
    module = types.ModuleType("pynvml")
    calls: list[str] = []
    Memory = namedtuple("Memory", "total used free")
    Rates = namedtuple("Rates", "gpu memory")

    def value(handle: int, key: str) -> Any:
        result = devices[handle][key]
        if isinstance(result, Exception):
            raise result
        return result

    def init() -> None:
        calls.append("init")
        if init_error:
            raise NVMLError("NVML Shared Library Not Found")

    module.NVMLError = NVMLError  # type: ignore[attr-defined]
    module.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]
    module.calls = calls  # type: ignore[attr-defined]
    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: len(devices)  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    module.nvmlSystemGetDriverVersion = lambda: "550.54.15"  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda h: value(h, "name")  # type: ignore[attr-defined]
    module.nvmlDeviceGetUUID = lambda h: value(h, "uuid")  # type: ignore[attr-defined]
    module.nvmlDeviceGetUtilizationRates = lambda h: Rates(value(h, "gpu"), 0)  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda h: Memory(value(h, "total"), value(h, "used"), 0)  # type: ignore[attr-defined]
    module.nvmlDeviceGetTemperature = lambda h, sensor: value(h, "temp")  # type: ignore[attr-defined]
    module.nvmlDeviceGetPowerUsage = lambda h: value(h, "power")  # type: ignore[attr-defined]
    return module


def a_gpu(**changes: Any) -> dict[str, Any]:
    return {"name": "Tesla T4", "uuid": "GPU-abc", "gpu": 50, "total": 16 * 1024 * MB, "used": 4 * 1024 * MB,
            "temp": 60, "power": 70_000, **changes}


def test_without_pynvml_there_are_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    assert _Nvml.open() is None
    assert gpu_inventory() == {}


def test_nvml_init_failing_is_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = fake_nvml([a_gpu()], init_error=True)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert _Nvml.open() is None
    assert gpu_inventory() == {}


def test_zero_devices_is_no_gpus_and_nvml_is_shut_down(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = fake_nvml([])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert _Nvml.open() is None
    assert nvml.calls == ["init", "shutdown"]  # type: ignore[attr-defined]


def test_readings_through_nvml_and_the_inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = fake_nvml([a_gpu(), a_gpu(power=NVMLError("Not Supported"), name=b"Tesla T4")])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    gpus = _Nvml.open()
    assert gpus is not None
    metrics = gpus.metrics()
    gpus.close()
    assert metrics["gpu.0.power_w"] == 70.0 and metrics["gpu.0.memory_percent"] == 25.0
    assert "gpu.1.power_w" not in metrics and metrics["gpu.1.utilization"] == 50.0
    assert gpu_inventory() == {"gpu_count": 2, "gpu_driver": "550.54.15", "gpus": [
        {"name": "Tesla T4", "memory_total_mb": 16384.0, "uuid": "GPU-abc"}] * 2}
    assert nvml.calls == ["init", "shutdown"] * 2  # type: ignore[attr-defined]


def test_a_gpu_lost_mid_run_is_left_out_then_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = [a_gpu(), a_gpu()]
    nvml = fake_nvml(devices)
    gpus = _Nvml(nvml, [0, 1])
    assert {"gpu.0.utilization", "gpu.1.utilization"} <= set(gpus.metrics())
    lost = NVMLError("GPU is lost")
    devices[1] = {key: lost for key in devices[1]}
    for _ in range(3):
        metrics = gpus.metrics()
        assert "gpu.0.utilization" in metrics and not any(k.startswith("gpu.1.") for k in metrics)
    devices[1] = a_gpu()  # once dropped, not asked again
    assert not any(k.startswith("gpu.1.") for k in gpus.metrics())
    assert read_gpu(nvml, 1).utilization == 50  # the device itself answers again


# -- the monitor with real psutil ---------------------------------------------------------------


def test_monitor_samples_at_start_and_stops_promptly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    samples: list[tuple[RecordType, dict[str, Any]]] = []
    monitor = SystemMonitor(lambda kind, body: samples.append((kind, body)), 60.0, os.getpid())
    started = time.time()
    monitor.start()
    deadline = time.monotonic() + 5
    while not samples and time.monotonic() < deadline:
        time.sleep(0.01)
    before_stop = time.monotonic()
    monitor.stop()
    assert time.monotonic() - before_stop < 1.0  # does not sit out the 60 s interval
    assert len(samples) == 1
    kind, body = samples[0]
    assert kind is RecordType.STATS
    assert started <= body["timestamp"] < started + 2
    assert body["metrics"]["memory.process_rss_mb"] > 1
    assert not any(name.startswith("gpu.") for name in body["metrics"])


def test_emit_failing_after_the_run_closed_does_not_kill_the_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    calls: list[float] = []

    def emit(kind: RecordType, body: dict[str, Any]) -> None:
        calls.append(body["timestamp"])
        raise ValueError("I/O operation on closed file")

    monitor = SystemMonitor(emit, 0.1, os.getpid())
    monitor.start()
    time.sleep(0.35)
    monitor.stop()
    assert len(calls) >= 2


def test_several_monitors_leave_the_switch_interval_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    before = sys.getswitchinterval()
    monitors = [SystemMonitor(lambda kind, body: None, 0.1, os.getpid()) for _ in range(3)]
    for monitor in monitors:
        monitor.start()
    time.sleep(0.5)
    for monitor in monitors:
        monitor.stop()
    assert sys.getswitchinterval() == before
