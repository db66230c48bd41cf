#!/usr/bin/env python3
"""Side-by-side reproduction table: descent vs PyTorch on the same recipes, same machine,
same thread count. Runs each recipe --repeats times per framework (interleaved) and prints a
markdown table of the mean test accuracy over seeds 0..repeats-1 and the median whole-run wall
time and training-loop time (evaluation excluded on both sides).

    cargo build --release -p descent-trainer
    python3 benches/torch/compare.py --threads 1 --repeats 3 [--python /path/to/python-with-torch]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

RECIPES = [
    ("784-100-10 SGD lr 0.1", dict(hidden="100", optimizer="sgd", lr=0.1, momentum=0.0, batch=100, iters=3000)),
    ("784-100-10 SGD lr 0.1 momentum 0.9", dict(hidden="100", optimizer="sgd", lr=0.1, momentum=0.9, batch=100, iters=3000)),
    ("784-100-10 Adam lr 0.001", dict(hidden="100", optimizer="adam", lr=0.001, momentum=0.0, batch=100, iters=3000)),
    ("784-512-512-10 SGD lr 1e-3 momentum 0.5, batch 16", dict(hidden="512,512", optimizer="sgd", lr=0.001, momentum=0.5, batch=16, iters=3750)),
    ("784-512-512-10 Adam lr 1e-3, batch 16", dict(hidden="512,512", optimizer="adam", lr=0.001, momentum=0.0, batch=16, iters=3750)),
]


def run_descent(r, threads, out, seed):
    cmd = [os.path.join(ROOT, "target/release/descent"), "train", "--dataset", "fashion-mnist",
           "--model", "mlp", "--hidden", r["hidden"], "--optimizer", r["optimizer"], "--lr", str(r["lr"]),
           "--batch-size", str(r["batch"]), "--iters", str(r["iters"]), "--eval-every", "500",
           "--seed", str(seed), "--val-fraction", "0", "--threads", str(threads), "--no-progress",
           "--summary-json", out]
    if r["optimizer"] == "sgd" and r["momentum"]:
        cmd += ["--momentum", str(r["momentum"])]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    s = json.load(open(out))
    return wall, s["train_seconds"], s["test_accuracy"]


def run_torch(py, r, threads, seed):
    cmd = [py, os.path.join(HERE, "train_mlp.py"), "--hidden", r["hidden"], "--optimizer", r["optimizer"],
           "--lr", str(r["lr"]), "--momentum", str(r["momentum"]), "--batch-size", str(r["batch"]),
           "--iters", str(r["iters"]), "--eval-every", "500", "--threads", str(threads), "--seed", str(seed)]
    t = time.perf_counter()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    s = json.loads(p.stdout.strip().splitlines()[-1])
    return wall, s["train_seconds"], s["test_accuracy"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--only", type=int, nargs="*")
    a = ap.parse_args()
    out = os.path.join(tempfile.mkdtemp(), "s.json")
    print(f"threads {a.threads}, seeds 0..{a.repeats - 1}: mean test accuracy, median times (runs interleaved)\n")
    print("| recipe | descent test acc | PyTorch test acc | descent wall s | PyTorch wall s | wall ratio | descent train-loop s | PyTorch train-loop s | loop ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i, (name, r) in enumerate(RECIPES):
        if a.only and i not in a.only:
            continue
        d, t = [], []
        for seed in range(a.repeats):
            d.append(run_descent(r, a.threads, out, seed))
            t.append(run_torch(a.python, r, a.threads, seed))
        dw, dl = statistics.median(x[0] for x in d), statistics.median(x[1] for x in d)
        tw, tl = statistics.median(x[0] for x in t), statistics.median(x[1] for x in t)
        da, ta = statistics.mean(x[2] for x in d), statistics.mean(x[2] for x in t)
        print(f"| {name} | {100*da:.2f}% | {100*ta:.2f}% | {dw:.2f} | {tw:.2f} | {tw/dw:.1f}x | {dl:.2f} | {tl:.2f} | {tl/dl:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
