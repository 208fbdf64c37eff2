#!/usr/bin/env python3
"""Runs one command and reports its wall time and peak resident memory.

Usage: python3 measure.py --stdout OUT --stderr ERR -- COMMAND [ARG...]

Prints one line `WALL_SECONDS PEAK_RSS_KB EXIT_STATUS` on standard output.
The clock starts just before the process is started and stops when it has
been reaped; the peak RSS is the `ru_maxrss` the kernel reports for the
reaped process (it covers the process and the children it waited for).
Standard library only (Linux).
"""

import argparse
import os
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", required=True)
    parser.add_argument("--stderr", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    with open(args.stdout, "wb") as out, open(args.stderr, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
    print("%.3f %d %d" % (wall, usage.ru_maxrss, process.returncode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
