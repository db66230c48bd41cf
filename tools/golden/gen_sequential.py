#!/usr/bin/env python3
"""Golden values for SequentialLR (not in the shared golden set): PyTorch CPU, f64 lrs.

    python3 tools/golden/gen_sequential.py > core/tests/golden/schedulers_sequential.json

Schema: as schedulers.json (core/tests/golden/README.md); `params.schedulers` is a list of
`{"scheduler": class name, "params": {...}}`, built on the same optimizer in order, as PyTorch
requires.
"""
import json
import torch

STEPS = 30
LR0 = 0.1

CASES = [
    ("warmup_linear_then_cosine", [("LinearLR", dict(start_factor=0.1, total_iters=5)),
                                   ("CosineAnnealingLR", dict(T_max=20))], [5]),
    ("constant_then_exponential", [("ConstantLR", dict(factor=0.5, total_iters=3)),
                                   ("ExponentialLR", dict(gamma=0.9))], [4]),
    ("linear_step_exponential", [("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=4)),
                                 ("StepLR", dict(step_size=3, gamma=0.5)),
                                 ("ExponentialLR", dict(gamma=0.95))], [6, 15]),
    ("linear_then_multistep", [("LinearLR", dict(start_factor=0.5, total_iters=2)),
                               ("MultiStepLR", dict(milestones=[3, 7, 12], gamma=0.3))], [2]),
    ("constant_then_polynomial", [("ConstantLR", dict(factor=0.2, total_iters=2)),
                                  ("PolynomialLR", dict(total_iters=10, power=2.0))], [8]),
    ("cosine_then_cosine", [("CosineAnnealingLR", dict(T_max=6, eta_min=0.01)),
                            ("CosineAnnealingLR", dict(T_max=10))], [9]),
]


def main():
    cases = []
    for name, children, milestones in CASES:
        p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.SGD([p], lr=LR0)
        scheds = [getattr(torch.optim.lr_scheduler, cls)(opt, **kw) for cls, kw in children]
        seq = torch.optim.lr_scheduler.SequentialLR(opt, schedulers=scheds, milestones=milestones)
        lrs = []
        for _ in range(STEPS):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            seq.step()
        cases.append({
            "name": name,
            "scheduler": "SequentialLR",
            "lr0": LR0,
            "params": {
                "schedulers": [{"scheduler": cls, "params": kw} for cls, kw in children],
                "milestones": milestones,
            },
            "lrs": [float(x) for x in lrs],
        })
    print(json.dumps({"dtype": "f64", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
