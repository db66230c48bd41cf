#!/usr/bin/env python3
"""Golden values for torch.optim.Adafactor, which the shared golden set lacks.

    python3 tools/golden/gen_adafactor.py > core/tests/golden/optimizers_adafactor.json

Schema: as optimizers.json (core/tests/golden/README.md), plus `shapes`: the parameter
tensors, back to back in the flat vector (`[rows, cols]` for a matrix, `[n]` for a vector);
`eps` is a 2-list whose first entry may be null (PyTorch's None). Matrices take Adafactor's
factored path, vectors the unfactored one.
"""
import json
import torch

STEPS = 20

CASES = [
    # name, hyperparams, shapes, theta0 scale, gradient scale, zero gradient rows (of the
    # first matrix)
    ("adafactor_vector_default", dict(), [[7]], 1.0, 1.0, False),
    ("adafactor_matrix_and_bias", dict(), [[3, 5], [3]], 1.0, 1.0, False),
    ("adafactor_weight_decay_clip", dict(lr=0.05, weight_decay=0.1, d=1.5), [[4, 3], [4]],
     1.0, 1.0, False),
    ("adafactor_eps_beta2_maximize",
     dict(eps=(1e-3, 1e-2), beta2_decay=-0.5, maximize=True), [[4, 3], [2, 2], [4]],
     1.0, 1.0, False),
    ("adafactor_relative_step_cap", dict(lr=0.5), [[2, 3], [5]], 1.0, 1.0, False),
    ("adafactor_small_params_zero_rows", dict(lr=0.02), [[3, 4], [3]], 1e-5, 1.0, True),
    # mean(row variance) below eps1 (the machine epsilon): its floor sets the estimate.
    ("adafactor_tiny_gradients", dict(lr=0.05), [[3, 4], [3]], 1.0, 1e-4, False),
]


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def main():
    gen = torch.Generator().manual_seed(20261202)
    cases = []
    for name, hp, shapes, scale, gscale, zero_rows in CASES:
        dim = sum(int(torch.tensor(s).prod()) for s in shapes)
        theta0 = torch.randn(dim, generator=gen, dtype=torch.float32) * scale
        grads = torch.randn(STEPS, dim, generator=gen, dtype=torch.float32) * gscale
        if zero_rows:
            cols = shapes[0][1]
            grads[::3, :cols] = 0.0  # every third step, the first matrix's first row is zero
        params, at = [], 0
        for s in shapes:
            n = int(torch.tensor(s).prod())
            params.append(torch.nn.Parameter(theta0[at:at + n].clone().reshape(s)))
            at += n
        opt = torch.optim.Adafactor(params, **hp)
        thetas = []
        for t in range(STEPS):
            at = 0
            for p in params:
                n = p.numel()
                p.grad = grads[t, at:at + n].clone().reshape(p.shape)
                at += n
            opt.step()
            thetas.append(torch.cat([p.detach().reshape(-1) for p in params]))
        hp_json = {k: (list(v) if isinstance(v, tuple) else v) for k, v in hp.items()}
        cases.append({
            "name": name,
            "optimizer": "Adafactor",
            "hyperparams": hp_json,
            "shapes": shapes,
            "dim": dim,
            "steps": STEPS,
            "theta0": f32s(theta0),
            "grads": f32s(grads),
            "thetas": f32s(torch.stack(thetas)),
        })
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
