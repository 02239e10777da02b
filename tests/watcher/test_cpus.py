"""The worker count follows the CPU the process may really use: the cgroup v2 quota as well as affinity."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from watcher.service import available_cpus, cgroup_cpu_quota


@pytest.mark.parametrize(("cpu_max", "quota"), [
    ("200000 100000", 2.0), ("150000 100000", 1.5), ("max 100000", None), ("garbage", None),
])
def test_the_quota_is_read_from_cpu_max(tmp_path: Path, cpu_max: str, quota: float | None) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    assert cgroup_cpu_quota(tmp_path / "cpu.max") == quota


def test_a_quota_caps_the_workers_and_a_fraction_rounds_up(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("50000 100000")
    assert available_cpus(tmp_path / "cpu.max") == 1
    (tmp_path / "cpu.max").write_text(f"{64 * 100000} 100000")  # a quota above the node's cores: affinity wins
    assert available_cpus(tmp_path / "cpu.max") == affinity
    assert available_cpus(tmp_path / "missing") == affinity
