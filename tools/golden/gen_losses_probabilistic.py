#!/usr/bin/env python3
"""Golden values for losses the shared golden set lacks: BCELoss, PoissonNLLLoss,
GaussianNLLLoss, SoftMarginLoss, HingeEmbeddingLoss.

    python3 tools/golden/gen_losses_probabilistic.py > core/tests/golden/losses_probabilistic.json

Schema: as losses.json (core/tests/golden/README.md). GaussianNLLLoss cases also carry
`var_shape`, `var` and `grad_var` (the gradient of the sum of `output` w.r.t. `var`).
float32 throughout; `output` is one value for mean/sum and the per-element losses for none;
`grad_input` is the gradient of the sum of `output` w.r.t. `input` (PyTorch's autograd).
"""
import json
import torch
import torch.nn.functional as F

GEN = torch.Generator().manual_seed(20261201)


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def randn(*shape):
    return torch.randn(*shape, generator=GEN, dtype=torch.float32)


def rand(*shape):
    return torch.rand(*shape, generator=GEN, dtype=torch.float32)


def signs(*shape):
    return torch.where(rand(*shape) < 0.5, -1.0, 1.0)


def run(name, loss, params, reduction, x, t, fn, var=None):
    """Evaluate `fn(x, t[, var])` with autograd; the case dict in losses.json's schema."""
    x = x.clone().requires_grad_(True)
    args = [x, t]
    if var is not None:
        var = var.clone().requires_grad_(True)
        args.append(var)
    out = fn(*args, reduction=reduction)
    out.sum().backward()
    case = {
        "name": name,
        "loss": loss,
        "params": params,
        "reduction": reduction,
        "input_shape": list(x.shape),
        "input": f32s(x),
        "target_shape": list(t.shape),
        "target": f32s(t),
        "target_kind": "float",
        "output": f32s(out),
        "grad_input": f32s(x.grad),
    }
    if var is not None:
        case["var_shape"] = list(var.shape)
        case["var"] = f32s(var)
        case["grad_var"] = f32s(var.grad)
    return case


def bce_cases():
    cases = []

    def bce(name, reduction, x, t, weight=None):
        params = {} if weight is None else {"weight": f32s(weight)}
        fn = lambda x, t, reduction: F.binary_cross_entropy(x, t, weight=weight, reduction=reduction)
        cases.append(run(name, "BCELoss", params, reduction, x, t, fn))

    # Interior probabilities, fractional targets.
    bce("BCELoss-mean", "mean", rand(6, 4) * 0.98 + 0.01, rand(6, 4))
    bce("BCELoss-sum-hard", "sum", rand(5, 3) * 0.98 + 0.01, (rand(5, 3) < 0.5).float())
    # Exact 0 and 1 (each log clamped at -100; gradient (x - y) / 1e-12), values whose
    # (1 - x) x is under 1e-12, and values a few ulps from 0 and 1.
    edge = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1e-20, 1e-13, 5e-12, 1 - 2**-24,
                         1 - 2**-23, 1e-7, 0.5, 0.0, 1.0, 1e-30], dtype=torch.float32)
    edge_t = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5, 0.25, 0.0, 1.0, 0.3, 1.0,
                           0.0, 0.9, 0.5, 0.0, 0.0, 1.0], dtype=torch.float32)
    bce("BCELoss-none-edges", "none", edge.reshape(4, 4), edge_t.reshape(4, 4))
    bce("BCELoss-sum-edges", "sum", edge.reshape(4, 4), edge_t.reshape(4, 4))
    bce("BCELoss-mean-edges-weight", "mean", edge.reshape(4, 4), edge_t.reshape(4, 4),
        weight=rand(4) * 2)
    # Per-class weight [C] broadcast over rows; full [N, C] weight (with a zero).
    bce("BCELoss-none-class-weight", "none", rand(3, 5), rand(3, 5), weight=rand(5) * 3)
    w = rand(4, 3) * 2
    w[1, 2] = 0.0
    bce("BCELoss-mean-full-weight", "mean", rand(4, 3), rand(4, 3), weight=w)
    bce("BCELoss-sum-1d", "sum", rand(9), rand(9))
    return cases


def poisson_cases():
    cases = []

    def poisson(name, reduction, x, t, **params):
        fn = lambda x, t, reduction: F.poisson_nll_loss(x, t, reduction=reduction, **params)
        cases.append(run(name, "PoissonNLLLoss", params, reduction, x, t, fn))

    def counts(*shape, rate=3.0):
        return torch.poisson(torch.full(shape, rate), generator=GEN)

    # Targets 0, 1 (Stirling masked: y <= 1), just above 1, fractional and large counts.
    special = torch.tensor([0.0, 1.0, 1.0 + 2**-23, 1.5, 2.0, 0.5, 17.0, 250.0],
                           dtype=torch.float32)
    poisson("PoissonNLLLoss-mean", "mean", randn(5, 4), counts(5, 4))
    poisson("PoissonNLLLoss-sum-full", "sum", randn(5, 4), counts(5, 4), full=True)
    poisson("PoissonNLLLoss-none-full-special", "none", randn(2, 4) + 1.0, special.reshape(2, 4),
            full=True)
    poisson("PoissonNLLLoss-mean-full", "mean", randn(6) * 2, counts(6, rate=8.0), full=True)
    # Rates: log(x + eps), x = 0 included.
    rates = rand(4, 4) * 5
    rates[0, 0] = 0.0
    rates[2, 1] = 0.0
    t = counts(4, 4)
    t[2, 1] = 0.0
    poisson("PoissonNLLLoss-none-rate", "none", rates, t, log_input=False)
    poisson("PoissonNLLLoss-mean-rate-full", "mean", rand(3, 5) * 4 + 0.1, counts(3, 5),
            log_input=False, full=True)
    poisson("PoissonNLLLoss-sum-rate-eps", "sum", rates, t, log_input=False, eps=0.25)
    poisson("PoissonNLLLoss-none-rate-full-special", "none", rand(2, 4) * 3, special.reshape(2, 4),
            log_input=False, full=True, eps=1e-3)
    return cases


def gaussian_cases():
    cases = []

    def gauss(name, reduction, x, t, var, **params):
        fn = lambda x, t, v, reduction: F.gaussian_nll_loss(x, t, v, reduction=reduction, **params)
        cases.append(run(name, "GaussianNLLLoss", params, reduction, x, t, fn, var=var))

    # Same shape; variances 0, under eps, exactly eps (f32) and above: the clamp is invisible
    # to autograd, so grad_var is the formula at eps.
    v = rand(4, 4) * 2
    v.view(-1)[:5] = torch.tensor([0.0, 1e-8, 5e-7, 1e-6, 1.1e-6])
    x, t = randn(4, 4), randn(4, 4)
    x[0, 0] = t[0, 0]  # var 0 and x = y: ln(eps) / 2, zero grad_input
    gauss("GaussianNLLLoss-mean-clamped", "mean", x, t, v)
    gauss("GaussianNLLLoss-none-clamped-full", "none", x, t, v, full=True)
    gauss("GaussianNLLLoss-sum-eps", "sum", x, t, v, eps=0.1)
    # One variance per row: [N, 1] and [N] (one fewer dimension, unsqueezed by PyTorch).
    x, t = randn(5, 3), randn(5, 3)
    vr = rand(5, 1) + 0.05
    vr[2, 0] = 0.0
    gauss("GaussianNLLLoss-sum-row", "sum", x, t, vr)
    gauss("GaussianNLLLoss-mean-row-full", "mean", x, t, vr, full=True)
    gauss("GaussianNLLLoss-none-row-1fewer", "none", x, t, vr.reshape(5))
    # Three dimensions: [2, 3, 4] with var [2, 3, 1] and [2, 3]; an unbatched vector with
    # var [1].
    x, t = randn(2, 3, 4), randn(2, 3, 4)
    v3 = rand(2, 3, 1) * 3
    gauss("GaussianNLLLoss-mean-3d-row", "mean", x, t, v3, eps=1e-2)
    gauss("GaussianNLLLoss-sum-3d-1fewer", "sum", x, t, v3.reshape(2, 3), full=True)
    gauss("GaussianNLLLoss-none-unbatched", "none", randn(6), randn(6), rand(1) + 0.5)
    return cases


def soft_margin_cases():
    cases = []

    def soft(name, reduction, x, t):
        fn = lambda x, t, reduction: F.soft_margin_loss(x, t, reduction=reduction)
        cases.append(run(name, "SoftMarginLoss", {}, reduction, x, t, fn))

    soft("SoftMarginLoss-mean", "mean", randn(6, 4) * 2, signs(6, 4))
    soft("SoftMarginLoss-sum", "sum", randn(5, 3) * 3, signs(5, 3))
    # Large margins both ways (|y x| up to 30, below PyTorch's exp overflow), x = 0, and
    # targets other than +-1 (0, fractional, 2).
    x = torch.tensor([30.0, -30.0, 15.0, -15.0, 0.0, 0.0, 1.5, -2.5, 3.0, 0.7, -0.7, 12.0])
    t = torch.tensor([1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 0.0, 0.5, 2.0, -0.25, 1.0, -2.5])
    soft("SoftMarginLoss-none-edges", "none", x.reshape(3, 4), t.reshape(3, 4))
    soft("SoftMarginLoss-mean-edges", "mean", x.reshape(3, 4), t.reshape(3, 4))
    return cases


def hinge_cases():
    cases = []

    def hinge(name, reduction, x, t, **params):
        fn = lambda x, t, reduction: F.hinge_embedding_loss(x, t, reduction=reduction, **params)
        cases.append(run(name, "HingeEmbeddingLoss", params, reduction, x, t, fn))

    hinge("HingeEmbeddingLoss-mean", "mean", rand(6, 4) * 2, signs(6, 4))
    hinge("HingeEmbeddingLoss-sum-margin", "sum", rand(5, 3) * 3, signs(5, 3), margin=2.0)
    # The kink x = margin (subgradient 0 in PyTorch) for y = -1 and for other targets, both
    # sides of it, negative distances, and targets other than +-1 (both terms apply).
    x = torch.tensor([1.0, 1.0, 1.0, 0.999, 1.001, -0.5, 0.0, 2.0, 0.5, 0.5, 1.0, 3.0])
    t = torch.tensor([-1.0, 1.0, 0.0, -1.0, -1.0, -1.0, -1.0, 0.5, 2.0, -2.0, 0.25, 1.0])
    hinge("HingeEmbeddingLoss-none-kink", "none", x.reshape(3, 4), t.reshape(3, 4))
    hinge("HingeEmbeddingLoss-mean-kink", "mean", x.reshape(3, 4), t.reshape(3, 4))
    hinge("HingeEmbeddingLoss-none-margin-half", "none", x.reshape(3, 4) * 0.5,
          t.reshape(3, 4), margin=0.5)
    hinge("HingeEmbeddingLoss-sum-negative-margin", "sum", randn(8), signs(8), margin=-0.5)
    return cases


def main():
    cases = (bce_cases() + poisson_cases() + gaussian_cases() + soft_margin_cases()
             + hinge_cases())
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
