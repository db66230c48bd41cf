#!/usr/bin/env python3
"""Golden values for torch.optim.Rprop, which the shared golden set lacks.

    python3 tools/golden/gen_rprop.py > core/tests/golden/optimizers_rprop.json

Schema: as optimizers.json (core/tests/golden/README.md); `etas` and `step_sizes` are
2-lists. Gradients are standard normal, some entries set to exactly zero so that every branch
of the sign rule (product > 0, < 0, = 0) is taken, and the step-size bounds are reached.
"""
import json
import torch

DIM = 7
STEPS = 20

CASES = [
    ("rprop_default", dict()),
    ("rprop_lr_etas", dict(lr=0.05, etas=(0.3, 1.5))),
    ("rprop_tight_bounds", dict(lr=0.1, step_sizes=(0.02, 0.15))),
    ("rprop_maximize", dict(lr=0.02, etas=(0.6, 1.1), maximize=True)),
]


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def main():
    gen = torch.Generator().manual_seed(20261130)
    cases = []
    for name, hp in CASES:
        theta0 = torch.randn(DIM, generator=gen, dtype=torch.float32)
        grads = torch.randn(STEPS, DIM, generator=gen, dtype=torch.float32)
        zero = torch.rand(STEPS, DIM, generator=gen) < 0.15
        grads[zero] = 0.0
        p = torch.nn.Parameter(theta0.clone())
        opt = torch.optim.Rprop([p], **hp)
        thetas = []
        for t in range(STEPS):
            p.grad = grads[t].clone()
            opt.step()
            thetas.append(p.detach().clone())
        hp_json = {k: (list(v) if isinstance(v, tuple) else v) for k, v in hp.items()}
        cases.append({
            "name": name,
            "optimizer": "Rprop",
            "hyperparams": hp_json,
            "dim": DIM,
            "steps": STEPS,
            "theta0": f32s(theta0),
            "grads": f32s(grads),
            "thetas": f32s(torch.stack(thetas)),
        })
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
