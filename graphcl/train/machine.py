"""One description of the machine a figure was measured on, for run metrics and benchmark reports."""
from __future__ import annotations

import os
import platform

import torch


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_description(device: str | torch.device = "cpu") -> str:
    """Host, CPU model and cores, memory, Python, torch, torch threads, and the GPU's name on a CUDA device."""
    try:
        ram = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        ram = ""
    device = str(device)
    gpu = (f", GPU {torch.cuda.get_device_name(torch.device(device))}"
           if device.startswith("cuda") and torch.cuda.is_available() else "")
    return (f"{platform.node()} ({cpu_model()}, {os.cpu_count()} cores{ram}), Python {platform.python_version()}, "
            f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s), device {device}{gpu}")
