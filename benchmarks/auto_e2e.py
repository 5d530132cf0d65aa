"""``headstart auto`` end to end on real data (issue 17): each run's steps, times, verdict and whether
it stayed within its time limit; then a ``kill -9`` during one run's fit, ``--resume``, and the
figures compared with the uninterrupted run's.

    .venv/bin/python benchmarks/auto_e2e.py --limit 15m                     # the three sets
    .venv/bin/python benchmarks/auto_e2e.py --sets hymenoptera --kill hymenoptera

Sets: SST-2 (``--sample 2000 --eval dev.tsv``), hymenoptera (train/ -> val/), SMS spam (a
stratified 20% hold-out, seed 0). Run folders go to ``--out`` (default /tmp/headstart-auto).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import need_shared  # noqa: E402


def arguments(name: str) -> list[str]:
    if name == "sst2":
        folder = need_shared("text", "sst2")
        return [str(folder / "train.tsv"), "--sample", "2000", "--eval", str(folder / "dev.tsv")]
    if name == "hymenoptera":
        return [str(need_shared("images", "hymenoptera"))]
    if name == "sms":
        return [str(need_shared("text", "sms_spam", "sms_spam.tsv"))]
    raise SystemExit(f"unknown set {name}")


def summary(run: Path) -> dict:
    record = json.loads((run / "auto.json").read_text())
    steps = {k: (v["status"], round(v["seconds"], 1)) for k, v in record["steps"].items()}
    fit = record["steps"].get("fit", {}).get("result") or {}
    return {"seconds": record.get("seconds"), "steps": steps, "verdict": record.get("verdict"), "fit": fit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="sst2,hymenoptera,sms")
    parser.add_argument("--limit", default="15m")
    parser.add_argument("--kill", default=None, help="A set to kill -9 during its fit and resume.")
    parser.add_argument("--out", type=Path, default=Path("/tmp/headstart-auto"))
    args = parser.parse_args()
    env = {**os.environ, "HEADSTART_PROGRESS": "0", "HF_HUB_OFFLINE": "1"}
    exe = [sys.executable, "-m", "headstart", "auto"]
    results = {}
    for name in [s for s in args.sets.split(",") if s]:
        run = args.out / name
        shutil.rmtree(run, ignore_errors=True)
        start = time.perf_counter()
        done = subprocess.run([*exe, *arguments(name), "-o", str(run), "--time-limit", args.limit], env=env)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{name}: headstart auto exited {done.returncode}")
        results[name] = {"wall_seconds": wall, **summary(run)}
        print(json.dumps({name: results[name]}, indent=1), flush=True)
    if args.kill:
        name, whole = args.kill, args.out / args.kill
        killed = args.out / f"{name}-killed"
        shutil.rmtree(killed, ignore_errors=True)
        cmd = [*exe, *arguments(name), "-o", str(killed), "--time-limit", args.limit]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pointer = killed / "checkpoints" / "latest"
        while not pointer.is_file():
            if proc.poll() is not None:
                raise SystemExit("the run ended before its first checkpoint: nothing was killed")
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        steps = json.loads((killed / "auto.json").read_text())["steps"]
        print(f"killed (-9) after steps {list(steps)}, with a checkpoint of the fit on disk", flush=True)
        subprocess.run([*cmd, "--resume"], env=env, check=True)
        a, b = summary(whole)["fit"], summary(killed)["fit"]
        same = a.get("metrics") == b.get("metrics")
        print(f"resumed: fit metrics {b.get('metrics')}\nuninterrupted: {a.get('metrics')}\nsame figures: {same}")
        results[f"{name}-killed"] = {"same_figures": same, **summary(killed)}
    (args.out / "auto_e2e.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
