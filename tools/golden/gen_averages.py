#!/usr/bin/env python3
"""Golden values for torch.optim.swa_utils.AveragedModel (not in the shared golden set):
stochastic weight averaging and the EMA of get_ema_multi_avg_fn, PyTorch CPU.

    python3 tools/golden/gen_averages.py > core/tests/golden/averages.json

Schema (core/tests/golden/README.md, averages.json): per case `rule` ("swa" or "ema"),
`decay` (ema only), `dtype` ("f32" or "f64"), `iterates` (the parameter vectors passed to
`update_parameters`, in order) and `averages` (the averaged parameters after each call).
"""
import json
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

CASES = [
    # (name, rule, decay, dtype, length, updates, scale)
    ("swa_f32", "swa", None, torch.float32, 37, 30, 3.0),
    ("swa_f32_wide_range", "swa", None, torch.float32, 19, 12, 1e4),
    ("swa_f64", "swa", None, torch.float64, 23, 20, 1.0),
    ("ema_default_decay", "ema", 0.999, torch.float32, 37, 25, 2.0),
    ("ema_0_9", "ema", 0.9, torch.float32, 41, 20, 1.0),
    # w = 1 - decay >= 0.5: torch.lerp's second form.
    ("ema_0_3", "ema", 0.3, torch.float32, 29, 15, 5.0),
    ("ema_half", "ema", 0.5, torch.float32, 17, 10, 1.0),
    ("ema_zero_decay", "ema", 0.0, torch.float32, 9, 5, 1.0),
    ("ema_one_decay", "ema", 1.0, torch.float32, 9, 5, 1.0),
    ("ema_f64", "ema", 0.99, torch.float64, 23, 20, 1.0),
]


def main():
    torch.manual_seed(20261130)
    cases = []
    for name, rule, decay, dtype, n, updates, scale in CASES:
        model = torch.nn.Linear(n, 1, bias=False).to(dtype)
        avg = (AveragedModel(model) if rule == "swa" else
               AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay)))
        iterates, averages = [], []
        for _ in range(updates):
            with torch.no_grad():
                model.weight.copy_(torch.randn(1, n, dtype=dtype) * scale)
            avg.update_parameters(model)
            iterates.append([float(x) for x in model.weight.detach().reshape(-1)])
            averages.append([float(x) for x in avg.module.weight.detach().reshape(-1)])
        case = {"name": name, "rule": rule, "dtype": "f64" if dtype == torch.float64 else "f32",
                "iterates": iterates, "averages": averages}
        if decay is not None:
            case["decay"] = decay
        cases.append(case)
    print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
