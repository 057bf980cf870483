"""Giving the memory of large answers back to the system in a long-running server.

glibc's malloc serves a block over 128 KiB with a mapping of its own and unmaps it when it
is freed, but each such free raises the size it maps from, up to 32 MiB. Once the first
fleet-wide answer (several MB with 10,000 devices) is freed, later ones come from the heap
instead, whose freed space the process keeps while anything small lies above it. Holding the
threshold where glibc starts took the peak RSS of a process serving 10,000 devices' fleet
requests from 134 to 117 MB after 30 of them (docs/benchmarks.md); the price is a mapping
and its page faults for each large block, which ingest's batches never reach.
"""

from __future__ import annotations

import ctypes
import platform

M_MMAP_THRESHOLD = -3  # mallopt's parameter, from glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value


def hold_mmap_threshold() -> bool:
    """Keep large blocks in mappings of their own for the rest of the process; whether it
    took (False where the C library is not glibc)."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
