#!/usr/bin/env python3
"""Golden values for ChainedScheduler (not in the shared golden set): PyTorch CPU, f64 lrs.

    python3 tools/golden/gen_chained.py > core/tests/golden/schedulers_chained.json

Schema: as schedulers.json (core/tests/golden/README.md); `params.schedulers` is a list of
`{"scheduler": class name, "params": {...}}`, built on the same optimizer in order (each
constructor's initial step acts on the lr the ones before it left), then chained.
"""
import json
import torch

STEPS = 30
LR0 = 0.05

CASES = [
    # PyTorch's docstring example.
    ("constant_and_exponential", [("ConstantLR", dict(factor=0.1, total_iters=20)),
                                  ("ExponentialLR", dict(gamma=0.9))]),
    ("warmup_linear_and_cosine", [("LinearLR", dict(start_factor=0.1, total_iters=5)),
                                  ("CosineAnnealingLR", dict(T_max=12, eta_min=0.001))]),
    ("cosine_past_t_max_and_step", [("CosineAnnealingLR", dict(T_max=7)),
                                    ("StepLR", dict(step_size=4, gamma=0.5))]),
    ("multistep_polynomial_linear", [("MultiStepLR", dict(milestones=[0, 3, 3, 9], gamma=0.5)),
                                     ("PolynomialLR", dict(total_iters=15, power=1.5)),
                                     ("LinearLR", dict(start_factor=0.5, end_factor=0.8,
                                                       total_iters=6))]),
    # ConstantLR / LinearLR after another: their initial step scales the lr it left.
    ("exponential_then_linear", [("ExponentialLR", dict(gamma=0.9)),
                                 ("LinearLR", dict(start_factor=0.25, total_iters=4))]),
    ("step_then_constant", [("StepLR", dict(step_size=3, gamma=0.5)),
                            ("ConstantLR", dict(factor=0.5, total_iters=5))]),
    # A closed form sets the lr outright; the schedule after it scales it.
    ("cyclic_then_exponential", [("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4,
                                                   cycle_momentum=False)),
                                 ("ExponentialLR", dict(gamma=0.95))]),
    ("exponential_then_warm_restarts", [("ExponentialLR", dict(gamma=0.8)),
                                        ("CosineAnnealingWarmRestarts", dict(T_0=6))]),
]


def main():
    cases = []
    for name, children in CASES:
        p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.SGD([p], lr=LR0)
        scheds = [getattr(torch.optim.lr_scheduler, cls)(opt, **kw) for cls, kw in children]
        chained = torch.optim.lr_scheduler.ChainedScheduler(scheds, optimizer=opt)
        lrs = []
        for _ in range(STEPS):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            chained.step()
        cases.append({
            "name": name,
            "scheduler": "ChainedScheduler",
            "lr0": LR0,
            "params": {
                "schedulers": [{"scheduler": cls, "params": kw} for cls, kw in children],
            },
            "lrs": [float(x) for x in lrs],
        })
    print(json.dumps({"dtype": "f64", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
