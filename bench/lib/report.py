"""What the benchmark prints: the machine, the table of medians with ratios, the targets, the failures."""
import os
import platform
import re
import statistics
import subprocess


def _first_line(argv):
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        text = (completed.stdout + completed.stderr).strip()
        return text.splitlines()[0] if text else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine(run_dir, root):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        memory_kb = int(f.readline().split()[1])
    fs = filesystem(run_dir)
    commit = _first_line(["git", "-C", root, "rev-parse", "--short", "HEAD"])
    if os.environ.get("CROSS_BINARY"):
        commit = f"(CROSS_BINARY={os.environ['CROSS_BINARY']}, not built from this tree; tree at {commit})"
    dirty = _first_line(["git", "-C", root, "status", "--porcelain", "--", "Sources", "Package.swift"]) not in ("?", "")
    return {
        "cpus": os.cpu_count(), "model": model, "kernel": platform.release(), "memory_gib": memory_kb / 2**20,
        "fs": fs, "run_dir": run_dir,
        "commit": commit + (" + uncommitted changes in Sources/" if dirty and not os.environ.get("CROSS_BINARY") else ""),
        "nginx": _first_line(["nginx", "-v"]).replace("nginx version: ", ""),
        "wrk": _first_line(["wrk", "-v"]).split(" [")[0],
        "swift": re.sub(r"\s*\(.*", "", _first_line(["swift", "--version"])),
    }


def filesystem(path):
    """`ext4 on /dev/vda, no journal`: the filesystem the data folders are on, and for ext4 whether it has a
    journal (without one an fdatasync only writes the file; with one it also commits the journal)."""
    found = _first_line(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", path]).split()
    if len(found) != 2:
        return _first_line(["stat", "-f", "-c", "%T", path])
    source, fstype = found
    text = f"{fstype} on {source}"
    if fstype == "ext4":
        device = os.path.basename(source)
        journaled = os.path.isdir("/proc/fs/jbd2") and any(e.startswith(device + "-") for e in os.listdir("/proc/fs/jbd2"))
        text += ", with a journal" if journaled else ", no journal"
    return text


def describe_machine(m):
    return [
        f"machine: {m['cpus']} x {m['model']} (nproc {m['cpus']}), Linux {m['kernel']}, {m['memory_gib']:.1f} GiB RAM",
        f"data:    {m['fs']} ({m['run_dir']})",
        f"cross:   commit {m['commit']}; {m['swift']}, release build",
        f"tools:   {m['nginx']}, {m['wrk']}" + (f"; every benchmark process at nice {os.nice(0)}" if os.nice(0) else ""),
    ]


def median(values):
    return statistics.median(values) if values else float("nan")


def fmt_rate(value):
    return f"{value:,.0f}"


def fmt_ms(value):
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def table(rows, header=("row", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "peak RSS", "ratio")):
    """rows: lists of cells, first left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = []
    for r in [header] + rows:
        cells = [str(r[0]).ljust(widths[0])] + [str(c).rjust(w) for c, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return lines


def verdict(value, target, higher_is_better=True):
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "MISSED"
