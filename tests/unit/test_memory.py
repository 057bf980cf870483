"""The server holds glibc's mmap threshold, so large freed blocks leave its RSS.

Each case runs in a fresh interpreter: the setting is the whole process's, and the test
runner's own heap would blur the figure.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# A first block of 16 MB, freed, raises glibc's threshold to 16 MB (and the heap top it
# keeps to 32 MB), so a second of 10 MB comes from the heap and, freed, stays there.
TWO_BLOCKS = """
import sys
from village_brain.core.memory import hold_mmap_threshold
if sys.argv[1] == "held" and not hold_mmap_threshold():
    sys.exit("not held")
def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) / 1024
before = rss_mb()
for megabytes in (16, 10):
    block = bytearray(b"x") * (megabytes * 1_000_000)
    del block
print(rss_mb() - before)
"""

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the threshold is glibc's"
)


def grown_mb(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", TWO_BLOCKS, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def test_large_blocks_freed_under_a_held_threshold_leave_the_process():
    assert grown_mb("held") < 3


def test_without_it_the_same_blocks_stay_so_the_case_above_can_fail():
    assert grown_mb("default") > 8
