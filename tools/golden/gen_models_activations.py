#!/usr/bin/env python3
"""Golden values for the MLP with the hidden activations the shared golden set lacks.

    python3 tools/golden/gen_models_activations.py > core/tests/golden/models_activations.json

Schema: as models.json (core/tests/golden/README.md); `activation` is descent's spelling,
`name` or `name:key=value,...` with PyTorch's parameter names. Activations: nn.GELU() (`gelu`,
the erf form), nn.GELU(approximate='tanh') (`gelu_tanh`), nn.SiLU() (`silu`), nn.LeakyReLU()
(`leaky_relu`, negative_slope 0.01) and nn.ELU() (`elu`, alpha 1), then nn.SELU(), nn.CELU(),
nn.Softplus(), nn.Mish(), nn.Hardswish(), nn.Hardsigmoid(), nn.ReLU6(), nn.Hardtanh() and
parameters other than the defaults (LeakyReLU and ELU with positive and negative ones, CELU's
alpha, Softplus' beta and threshold, Hardtanh's bounds), each in a one- and a
two-hidden-layer classifier (CrossEntropyLoss, mean) and a one-hidden-layer regressor (MSELoss,
mean; kind `linear`, a name the runner keeps for every bias-carrying regressor). Weights are
nn.Linear's default init scaled by 2 and inputs standard normal times 1.5, so the hidden
pre-activations reach the negative tails where the activations differ most. Computed in f32.

Then, for every activation, a `kink-` case: a one-hidden-layer classifier whose first layer is
the identity with zero bias, so the hidden pre-activations are exactly the inputs, and inputs
at the kinks and thresholds (0, -3, 3, 6, -1, 1, -0.5, 2, beta*x == threshold for both
Softplus cases, 20 and 0.5): PyTorch's derivative conventions there reach every gradient.
(The cases are generated in this order, new ones after the old, so the first 15 are the same
as before the list grew.)
"""
import json
import torch

ACTS = [
    ("gelu", lambda: torch.nn.GELU()),
    ("gelu_tanh", lambda: torch.nn.GELU(approximate="tanh")),
    ("silu", lambda: torch.nn.SiLU()),
    ("leaky_relu", lambda: torch.nn.LeakyReLU()),
    ("elu", lambda: torch.nn.ELU()),
    ("selu", lambda: torch.nn.SELU()),
    ("celu", lambda: torch.nn.CELU()),
    ("celu:alpha=0.5", lambda: torch.nn.CELU(alpha=0.5)),
    ("softplus", lambda: torch.nn.Softplus()),
    ("softplus:beta=2,threshold=1", lambda: torch.nn.Softplus(beta=2.0, threshold=1.0)),
    ("mish", lambda: torch.nn.Mish()),
    ("hardswish", lambda: torch.nn.Hardswish()),
    ("hardsigmoid", lambda: torch.nn.Hardsigmoid()),
    ("relu6", lambda: torch.nn.ReLU6()),
    ("hardtanh", lambda: torch.nn.Hardtanh()),
    ("hardtanh:min_val=-0.5,max_val=2", lambda: torch.nn.Hardtanh(min_val=-0.5, max_val=2.0)),
    ("leaky_relu:negative_slope=0.2", lambda: torch.nn.LeakyReLU(negative_slope=0.2)),
    ("leaky_relu:negative_slope=-0.3", lambda: torch.nn.LeakyReLU(negative_slope=-0.3)),
    ("elu:alpha=0.5", lambda: torch.nn.ELU(alpha=0.5)),
    ("elu:alpha=-0.5", lambda: torch.nn.ELU(alpha=-0.5)),
]

# Rows of the `kink-` cases' input (= the hidden pre-activations): every kink and threshold.
KINK_ROWS = [
    [-3.0, 3.0, 0.0, 6.0, 0.5, -1.0, 1.0, 2.0],
    [20.0, -0.5, 2.0, -6.0, 7.0, 0.25, -2.0, 4.0],
    [0.0, -3.0, 6.0, 3.0, -0.5, 1.0, -1.0, 0.5],
]

# (suffix, kind, dims, batch)
SHAPES = [
    ("mlp1", "classifier", [8, 7, 5], 6),
    ("mlp2", "classifier", [8, 6, 5, 4], 8),
    ("reg1", "linear", [6, 9, 3], 5),
]


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def build(dims, act):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i + 2 < len(dims):
            layers.append(act())
    return torch.nn.Sequential(*layers), [m for m in layers if isinstance(m, torch.nn.Linear)]


def case(name, kind, dims, batch, act_name, net, linears, x):
    """One case: the loss of `net` on `x` (a random target), its output and gradients."""
    if kind == "classifier":
        target = torch.randint(0, dims[-1], (batch,))
        loss_fn = torch.nn.CrossEntropyLoss()
        target_json, target_kind, loss_name = [int(t) for t in target], "class_index", "CrossEntropyLoss"
    else:
        target = torch.randn(batch, dims[-1])
        loss_fn = torch.nn.MSELoss()
        target_json, target_kind, loss_name = f32s(target), "float", "MSELoss"
    out = net(x)
    loss = loss_fn(out, target)
    loss.backward()
    params = []
    for i, lin in enumerate(linears):
        for pname in ("weight", "bias"):
            p = getattr(lin, pname)
            params.append({
                "name": f"layers.{i}.{pname}",
                "shape": list(p.shape),
                "value": f32s(p),
                "grad": f32s(p.grad),
            })
    return {
        "name": name,
        "kind": kind,
        "dims": dims,
        "activation": act_name,
        "loss": loss_name,
        "batch": batch,
        "x": f32s(x),
        "target": target_json,
        "target_kind": target_kind,
        "output": f32s(out),
        "loss_value": float(loss.detach()),
        "params": params,
    }


def main():
    torch.manual_seed(20261130)
    cases = []
    for act_name, act in ACTS:
        for suffix, kind, dims, batch in SHAPES:
            net, linears = build(dims, act)
            with torch.no_grad():
                for lin in linears:
                    lin.weight.mul_(2.0)
                    lin.bias.mul_(2.0)
            x = torch.randn(batch, dims[0]) * 1.5
            cases.append(case(f"{suffix}-{act_name}", kind, dims, batch, act_name, net, linears, x))
    for act_name, act in ACTS:
        dims = [8, 8, 4]
        net, linears = build(dims, act)
        with torch.no_grad():
            linears[0].weight.copy_(torch.eye(8))
            linears[0].bias.zero_()
            linears[1].weight.mul_(2.0)
        x = torch.tensor(KINK_ROWS)
        cases.append(case(f"kink-{act_name}", "classifier", dims, len(KINK_ROWS), act_name, net, linears, x))
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}))


if __name__ == "__main__":
    main()
