"""CPU-time measurement for benchmarks on a shared machine.

Wall time on a box where other jobs run says more about the neighbours than about our code; the CPU
time of this process plus its waited-for children (Tesseract runs as a subprocess) does not, and with
one OCR thread per process (OMP_THREAD_LIMIT=1, onnxruntime intra-op threads = 1) it equals the wall
time the same work takes on an idle core.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def children_cpu_s() -> float:
    """CPU seconds of every descendant reaped so far (a worker's Tesseract runs count in the worker's)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_s(pid: int) -> float:
    """CPU seconds another live process (the database server) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    From /proc (VmHWM), not getrusage: Linux keeps ru_maxrss across exec, so a worker started by a
    big parent would report the parent's size as its own peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
