#!/usr/bin/env python3
"""Golden values for torch.optim.Muon, which the shared golden set lacks.

    python3 tools/golden/gen_muon.py > core/tests/golden/optimizers_muon.json

Schema: as optimizers.json (core/tests/golden/README.md), plus
- `shapes`: the parameter matrices, back to back in the flat vector (`[rows, cols]`);
- `scheduler` (optional): as optimizers_cycled.json, `{"scheduler": class name, "params": {...}}`
  constructed on the optimizer and stepped once after every optimizer step;
- `atol`, `rtol` (optional): the case's tolerance, replacing the runner's default.

Two kinds of cases:
- PyTorch's Muon as it is: the Newton-Schulz iteration in bfloat16, which descent-core
  emulates (`NsPrecision::Bf16`: each intermediate rounded to bfloat16 after an f32
  product). On the small matrices the two agree to the last bit or an f32 ulp, and the
  runner's default tolerance holds (which the same algorithm without the bfloat16 rounding
  fails). On the 32 x 48 case a product's accumulation order can flip a bfloat16 rounding
  (2^-8 relative), so it carries a tolerance of two bfloat16 steps of the update's largest
  entry, lr * adjust * 2^-7 (|O| <= 1).
- `"ns_precision": "native"` (a descent hyperparameter, not PyTorch's): the same algorithm
  with the iteration kept in float32 (PyTorch's function with the bfloat16 cast replaced by
  the gradient's own dtype), checked at the runner's default tolerance.
"""
import json
import math

import torch
import torch.optim._muon as muon_mod

STEPS = 8
ORIGINAL_NS = muon_mod._zeropower_via_newtonschulz


def ns_native(grad, ns_coefficients, ns_steps, eps):
    """PyTorch's _zeropower_via_newtonschulz with the bfloat16 cast left out."""
    a, b, c = ns_coefficients
    x = grad.clone()
    if grad.size(0) > grad.size(1):
        x = x.T
    x.div_(x.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram = x @ x.T
        upd = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, upd, x, beta=a)
    if grad.size(0) > grad.size(1):
        x = x.T
    return x


CASES = [
    # name, hyperparams, shapes, native, scheduler, gradient scale, zero first gradient
    ("muon_default_wide", dict(), [[4, 6]], False, None, 1.0, False),
    ("muon_tall_transposed", dict(lr=0.02), [[9, 4]], False, None, 1.0, False),
    ("muon_two_matrices_plain_momentum_rms_adamw",
     dict(lr=0.01, momentum=0.9, nesterov=False, adjust_lr_fn="match_rms_adamw"),
     [[5, 7], [3, 5]], False, None, 1.0, False),
    ("muon_spectral_unclamped_no_decay",
     dict(lr=0.02, weight_decay=0.0, adjust_lr_fn="spectral_unclamped"),
     [[6, 3], [2, 8]], False, None, 1.0, False),
    # Gradients so small that the Frobenius norm is below eps: the clamp sets the scale.
    ("muon_norm_below_eps_coefficients",
     dict(lr=0.05, eps=1e-3, ns_steps=2, ns_coefficients=(2.0, -1.5, 0.5)),
     [[4, 4]], False, None, 1e-5, False),
    ("muon_square_32x48", dict(lr=0.02, weight_decay=0.01), [[32, 48]], False, None, 1.0, False),
    ("muon_onecycle_cycles_momentum", dict(lr=0.02),
     [[5, 3]], False, {"scheduler": "OneCycleLR", "params": {"max_lr": 0.05, "total_steps": STEPS}},
     1.0, False),
    ("muon_native_default_wide", dict(ns_precision="native"), [[4, 6]], True, None, 1.0, False),
    ("muon_native_tall_zero_first_gradient", dict(lr=0.02, ns_precision="native"),
     [[12, 5]], True, None, 1.0, True),
    ("muon_native_two_matrices",
     dict(lr=0.01, momentum=0.8, nesterov=False, adjust_lr_fn="match_rms_adamw",
          weight_decay=0.05, ns_steps=7, ns_precision="native"),
     [[5, 7], [7, 5]], True, None, 1.0, False),
    ("muon_native_ns_steps_0", dict(lr=0.02, ns_steps=0, ns_precision="native"),
     [[3, 6]], True, None, 1.0, False),
]


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def main():
    gen = torch.Generator().manual_seed(20261201)
    cases = []
    for name, hp, shapes, native, sched, gscale, zero_first in CASES:
        dim = sum(r * c for r, c in shapes)
        theta0 = torch.randn(dim, generator=gen, dtype=torch.float32)
        grads = torch.randn(STEPS, dim, generator=gen, dtype=torch.float32) * gscale
        if zero_first:
            grads[0] = 0.0
        params, at = [], 0
        for r, c in shapes:
            params.append(torch.nn.Parameter(theta0[at:at + r * c].clone().reshape(r, c)))
            at += r * c
        torch_hp = {k: v for k, v in hp.items() if k != "ns_precision"}
        muon_mod._zeropower_via_newtonschulz = ns_native if native else ORIGINAL_NS
        opt = torch.optim.Muon(params, **torch_hp)
        scheduler = None
        if sched is not None:
            scheduler = getattr(torch.optim.lr_scheduler, sched["scheduler"])(opt, **sched["params"])
        thetas = []
        for t in range(STEPS):
            at = 0
            for p in params:
                p.grad = grads[t, at:at + p.numel()].clone().reshape(p.shape)
                at += p.numel()
            opt.step()
            if scheduler is not None:
                scheduler.step()
            thetas.append(torch.cat([p.detach().reshape(-1) for p in params]))
        muon_mod._zeropower_via_newtonschulz = ORIGINAL_NS
        hp_json = {k: (list(v) if isinstance(v, tuple) else v) for k, v in hp.items()}
        case = {
            "name": name,
            "optimizer": "Muon",
            "hyperparams": hp_json,
            "shapes": shapes,
            "dim": dim,
            "steps": STEPS,
            "theta0": f32s(theta0),
            "grads": f32s(grads),
            "thetas": f32s(torch.stack(thetas)),
        }
        if sched is not None:
            case["scheduler"] = sched
        if not native and max(min(r, c) for r, c in shapes) > 16:
            lr = hp.get("lr", 1e-3)
            adj = max(
                {"original": math.sqrt(max(1, r / c)),
                 "match_rms_adamw": 0.2 * math.sqrt(max(r, c)),
                 "spectral_unclamped": math.sqrt(r / c)}[hp.get("adjust_lr_fn", "original")]
                for r, c in shapes)
            case["atol"] = lr * adj * 2.0 ** -7
            case["rtol"] = 1e-4
        cases.append(case)
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
