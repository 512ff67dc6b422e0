"""The call in progress: named in a file that outlives the process, and timed.

A call that kills its process (a segfault) or never returns (a hang) cannot
be judged like a wrong value.  Before each call the suite writes the call's
descriptor to the process's call file (a write that reaches the kernel
before the call starts, so it survives a crash) and sets its deadline; a
watchdog thread ends the process when a call outlives its time limit, after
writing ``hang`` and the limit into the file and a line to stderr.  xdist's
controller then reads a dead worker's file to name the call (suite/crashes.py);
``python -m suite.replay`` uses the same limit in its child process.

The watchdog can end a call stuck in C code because torch releases the
Python interpreter lock while it computes.
"""

import os
import sys
import threading
import time

HANG_EXIT = 86  # the exit status of a process whose call outlived its time limit


class Monitor:
    """Knows the call in progress; ``path`` (or None) its file, ``limit`` (seconds, or
    None) its time limit."""

    def __init__(self, path=None, limit=None):
        self.path, self.limit = path, limit
        self._fd = None if path is None else os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                                     0o644)
        self._call = None  # (descriptor, deadline)
        if limit is not None:
            threading.Thread(target=self._watch, name="conv2d-time-limit", daemon=True).start()

    def _write(self, text):
        if self._fd is not None:
            data = text.encode()
            os.pwrite(self._fd, data, 0)
            os.ftruncate(self._fd, len(data))

    def starting(self, descriptor):
        self._write(descriptor + "\n")
        self._call = (descriptor, None if self.limit is None else time.monotonic() + self.limit)

    def finished(self):
        self._call = None
        self._write("")

    def _watch(self):
        while True:
            time.sleep(min(0.25, self.limit / 8))
            call = self._call
            if call is not None and time.monotonic() > call[1]:
                descriptor = call[0]
                self._write(f"hang {self.limit:g}\n{descriptor}\n")
                sys.stderr.write(f"\nconv2d({descriptor}) did not return within the time limit "
                                 f"of {self.limit:g} s: ending the process\n")
                sys.stderr.flush()
                os._exit(HANG_EXIT)

    def close(self):
        self._call = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read(path):
    """(descriptor or None, seconds of the time limit it outlived or None) from a call file."""
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return None, None
    if lines and lines[0].startswith("hang "):
        return (lines[1] if len(lines) > 1 else None), float(lines[0].split()[1])
    return (lines[0] if lines else None), None
