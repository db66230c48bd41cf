#!/usr/bin/env python3
"""Golden values for the MLP with the hidden activations the shared golden set lacks.

    python3 tools/golden/gen_models_activations.py > core/tests/golden/models_activations.json

Schema: as models.json (core/tests/golden/README.md). Activations: nn.GELU() (`gelu`, the erf
form), nn.GELU(approximate='tanh') (`gelu_tanh`), nn.SiLU() (`silu`), nn.LeakyReLU()
(`leaky_relu`, negative_slope 0.01) and nn.ELU() (`elu`, alpha 1), each in a one- and a
two-hidden-layer classifier (CrossEntropyLoss, mean) and a one-hidden-layer regressor (MSELoss,
mean; kind `linear`, a name the runner keeps for every bias-carrying regressor). Weights are
nn.Linear's default init scaled by 2 and inputs standard normal times 1.5, so the hidden
pre-activations reach the negative tails where the activations differ most. Computed in f32.
"""
import json
import torch

ACTS = [
    ("gelu", lambda: torch.nn.GELU()),
    ("gelu_tanh", lambda: torch.nn.GELU(approximate="tanh")),
    ("silu", lambda: torch.nn.SiLU()),
    ("leaky_relu", lambda: torch.nn.LeakyReLU()),
    ("elu", lambda: torch.nn.ELU()),
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
            cases.append({
                "name": f"{suffix}-{act_name}",
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
            })
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}))


if __name__ == "__main__":
    main()
