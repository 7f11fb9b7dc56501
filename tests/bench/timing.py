"""What the interleaved benches (conda_warm.py, conda_cold.py) share."""
import os, subprocess, sys, time


def timed(res, tag, argv):
    """Runs argv after a sync, quiet; appends (wall, user+sys CPU) to
    res[tag]; a failure ends the bench."""
    os.sync()
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, st, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if st != 0:
        sys.exit(f"{tag} failed ({st}): {argv}")
    res.setdefault(tag, []).append((wall, ru.ru_utime + ru.ru_stime))
