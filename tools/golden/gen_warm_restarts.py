#!/usr/bin/env python3
"""Golden values for CosineAnnealingWarmRestarts stepped with fractional epochs (PyTorch's
per-batch idiom `scheduler.step(epoch + i / iters)`): PyTorch CPU, f64 lrs.

    python3 tools/golden/gen_warm_restarts.py > core/tests/golden/schedulers_warm_restarts.json

Schema: as schedulers.json (core/tests/golden/README.md), with the descent equivalent in
`params`: `T_0` counted in batches (`T_0_epochs * iters`) and one step per batch. `lrs[k]` is
the lr PyTorch sets with `step(epoch + i / iters)` for k = epoch * iters + i (epoch and i as the
idiom computes them); `T_0_epochs` and `iters` record the PyTorch call.
"""
import json
import warnings

import torch

LR0 = 0.1
EPOCHS = 12

CASES = [
    ("fractional-T0-3-mult-1-iters-7", 3, 1, 0.0, 7),
    ("fractional-T0-2-mult-2-iters-5", 2, 2, 0.001, 5),
    ("fractional-T0-1-mult-3-iters-4", 1, 3, 0.01, 4),
    ("fractional-T0-5-mult-1-iters-3", 5, 1, 0.002, 3),
]


def main():
    warnings.simplefilter("ignore")
    cases = []
    for name, t_0, t_mult, eta_min, iters in CASES:
        p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.SGD([p], lr=LR0)
        s = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=t_0, T_mult=t_mult, eta_min=eta_min)
        lrs = []
        for epoch in range(EPOCHS):
            for i in range(iters):
                s.step(epoch + i / iters)
                lrs.append(opt.param_groups[0]["lr"])
        cases.append({
            "name": name,
            "scheduler": "CosineAnnealingWarmRestarts",
            "lr0": LR0,
            "params": {"T_0": t_0 * iters, "T_mult": t_mult, "eta_min": eta_min},
            "T_0_epochs": t_0,
            "iters": iters,
            "lrs": [float(x) for x in lrs],
        })
    print(json.dumps({"dtype": "f64", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
