#!/usr/bin/env python3
"""Golden values for torch.optim.ASGD, which the shared golden set lacks.

    python3 tools/golden/gen_asgd.py > core/tests/golden/optimizers_asgd.json

Schema: as optimizers.json (core/tests/golden/README.md), plus `averaged` [steps][dim] (the
optimizer's `state["ax"]` after each step) and, in some cases, `scheduler` as in
optimizers_cycled.json (constructed on the optimizer after it, stepped after every optimizer
step): ASGD's eta for step t + 1 is computed from the lr of step t, and a LinearLR warm-up
changes the lr before the first step, which sets the initial eta.
"""
import json
import torch

DIM = 7
STEPS = 20

CASES = [
    ("asgd_default", dict(), None),
    ("asgd_decay_weight_decay", dict(lr=0.1, lambd=0.05, alpha=0.6, weight_decay=0.01), None),
    ("asgd_averaging", dict(lr=0.05, lambd=1e-3, t0=5), None),
    ("asgd_fractional_t0_maximize",
     dict(lr=0.02, lambd=0.2, alpha=1.0, t0=2.5, maximize=True), None),
    ("asgd_steplr", dict(lr=0.1, lambd=0.1, t0=3),
     ("StepLR", dict(step_size=3, gamma=0.5))),
    ("asgd_linearlr_warmup", dict(lr=0.2, lambd=0.01, alpha=0.5, t0=8),
     ("LinearLR", dict(start_factor=0.25, total_iters=4))),
]


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def main():
    gen = torch.Generator().manual_seed(20261201)
    cases = []
    for name, hp, sched_spec in CASES:
        theta0 = torch.randn(DIM, generator=gen, dtype=torch.float32)
        grads = torch.randn(STEPS, DIM, generator=gen, dtype=torch.float32)
        p = torch.nn.Parameter(theta0.clone())
        opt = torch.optim.ASGD([p], **hp)
        sched = None
        if sched_spec is not None:
            sched = getattr(torch.optim.lr_scheduler, sched_spec[0])(opt, **sched_spec[1])
        thetas, axs = [], []
        for t in range(STEPS):
            p.grad = grads[t].clone()
            opt.step()
            if sched is not None:
                sched.step()
            thetas.append(p.detach().clone())
            axs.append(opt.state[p]["ax"].detach().clone())
        case = {
            "name": name,
            "optimizer": "ASGD",
            "hyperparams": hp,
            "dim": DIM,
            "steps": STEPS,
            "theta0": f32s(theta0),
            "grads": f32s(grads),
            "thetas": f32s(torch.stack(thetas)),
            "averaged": f32s(torch.stack(axs)),
        }
        if sched_spec is not None:
            case["scheduler"] = {"scheduler": sched_spec[0], "params": sched_spec[1]}
        cases.append(case)
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
