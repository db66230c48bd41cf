#!/usr/bin/env python3
"""Golden values for momentum cycling (CyclicLR / OneCycleLR with cycle_momentum=True, PyTorch's
default): the scheduler sets each step's lr and momentum (SGD/RMSprop `momentum`, Adam-family
`betas[0]`) on the optimizer. Not in the shared golden set.

    python3 tools/golden/gen_cycled.py > core/tests/golden/optimizers_cycled.json

Schema: as optimizers.json (core/tests/golden/README.md), plus `scheduler`:
`{"scheduler": class name, "params": {...}}`, constructed on the optimizer after it and
stepped once after every optimizer step.
"""
import json
import torch

DIM = 7
STEPS = 14

CASES = [
    ("sgd_momentum_cyclic_triangular", "SGD", dict(lr=0.01, momentum=0.9),
     "CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
    ("sgd_nesterov_onecycle_cos", "SGD", dict(lr=0.05, momentum=0.9, nesterov=True),
     "OneCycleLR", dict(max_lr=0.1, total_steps=STEPS)),
    ("adam_onecycle_linear", "Adam", dict(lr=1e-3),
     "OneCycleLR", dict(max_lr=0.01, total_steps=STEPS, anneal_strategy="linear")),
    ("adamw_cyclic_triangular2", "AdamW", dict(lr=1e-3, weight_decay=0.01),
     "CyclicLR", dict(base_lr=1e-3, max_lr=1e-2, step_size_up=4, mode="triangular2",
                      base_momentum=0.85, max_momentum=0.95)),
    ("rmsprop_momentum_cyclic_exp_range", "RMSprop", dict(lr=0.01, momentum=0.5),
     "CyclicLR", dict(base_lr=1e-3, max_lr=1e-2, step_size_up=2, mode="exp_range", gamma=0.9)),
    ("nadam_onecycle_three_phase", "NAdam", dict(lr=2e-3),
     "OneCycleLR", dict(max_lr=0.02, total_steps=STEPS, three_phase=True)),
]


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def main():
    gen = torch.Generator().manual_seed(20261125)
    cases = []
    for name, opt_name, hp, sched_name, sp in CASES:
        theta0 = torch.randn(DIM, generator=gen, dtype=torch.float32)
        grads = torch.randn(STEPS, DIM, generator=gen, dtype=torch.float32)
        p = torch.nn.Parameter(theta0.clone())
        opt = getattr(torch.optim, opt_name)([p], **hp)
        sched = getattr(torch.optim.lr_scheduler, sched_name)(opt, **sp)
        thetas = []
        for t in range(STEPS):
            p.grad = grads[t].clone()
            opt.step()
            sched.step()
            thetas.append(p.detach().clone())
        hp_json = {k: (list(v) if isinstance(v, tuple) else v) for k, v in hp.items()}
        cases.append({
            "name": name,
            "optimizer": opt_name,
            "hyperparams": hp_json,
            "scheduler": {"scheduler": sched_name, "params": sp},
            "dim": DIM,
            "steps": STEPS,
            "theta0": f32s(theta0),
            "grads": f32s(grads),
            "thetas": f32s(torch.stack(thetas)),
        })
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
