#!/usr/bin/env python3
"""Golden values for LambdaLR and MultiplicativeLR (not in the shared golden set): PyTorch CPU,
f64 lrs, the lambdas given as Python source.

    python3 tools/golden/gen_lambda.py > core/tests/golden/schedulers_lambda.json

Schema: as schedulers.json (core/tests/golden/README.md); `params.lr_lambda` is the lambda's
source text, which this script evaluates with `math` in scope. SequentialLR and
ChainedScheduler cases list their schedulers as in schedulers_sequential.json.
"""
import json
import math
import torch

STEPS = 40
LR0 = 0.1

L = torch.optim.lr_scheduler

SINGLE = [
    ("lambda_exponential", "LambdaLR", "lambda epoch: 0.95 ** epoch"),
    ("lambda_step_decay", "LambdaLR", "lambda e: 0.5 ** (e // 7)"),
    ("lambda_linear_warmup", "LambdaLR", "lambda e: min(1.0, (e + 1) / 8)"),
    # The transformer ("Noam") schedule: fractional powers.
    ("lambda_noam", "LambdaLR", "lambda e: 10 * min((e + 1) ** -0.5, (e + 1) * 6 ** -1.5)"),
    ("lambda_warmup_cosine", "LambdaLR",
     "lambda e: (e + 1) / 5 if e < 5 else 0.5 * (1 + math.cos(math.pi * (e - 5) / 35))"),
    ("lambda_exp_log_sqrt", "LambdaLR",
     "lambda e: math.exp(-e / 13) + math.log(e + 2, 3) / math.sqrt(e + 1) - math.log(e + 1) / 9"),
    ("lambda_logic", "LambdaLR",
     "lambda e: e % 3 == 0 and 0.9 or not e % 5 and 0.3 or abs(-0.7) ** (e / 4)"),
    ("lambda_floor_ceil_int", "LambdaLR",
     "lambda e: (math.floor(e / 3) + math.ceil(e / 4) + int(e / 6.5) + 1) / (e + 1)"),
    ("multiplicative_constant", "MultiplicativeLR", "lambda e: 0.95"),
    ("multiplicative_periodic", "MultiplicativeLR", "lambda e: 0.5 if e % 10 == 0 else 1.0"),
    ("multiplicative_growing", "MultiplicativeLR", "lambda e: 1 + 0.3 / (e + 1)"),
    ("multiplicative_cosine", "MultiplicativeLR", "lambda epoch: 0.97 + 0.02 * math.cos(epoch)"),
]

SEQUENTIAL = [
    # Warm-up by LambdaLR, then MultiplicativeLR: at the milestone it multiplies the lr in
    # effect by lr_lambda(0).
    ("sequential_lambda_then_multiplicative",
     [("LambdaLR", "lambda e: (e + 1) / 6"), ("MultiplicativeLR", "lambda e: 0.8 if e == 0 else 0.9")],
     [6]),
    ("sequential_exponential_then_lambda",
     [("ExponentialLR", dict(gamma=0.7)), ("LambdaLR", "lambda e: 0.5 ** (e // 4)")], [5]),
    ("sequential_three",
     [("MultiplicativeLR", "lambda e: 1.1"), ("ExponentialLR", dict(gamma=0.9)),
      ("MultiplicativeLR", "lambda e: 0.95 ** (e % 3)")], [4, 12]),
]

CHAINED = [
    ("chained_exponential_multiplicative",
     [("ExponentialLR", dict(gamma=0.9)), ("MultiplicativeLR", "lambda e: 1.05 if e % 2 else 1")]),
    ("chained_lambda_then_multiplicative",
     [("LambdaLR", "lambda e: min(1, (e + 1) / 10)"), ("MultiplicativeLR", "lambda e: 0.99")]),
    ("chained_multiplicative_then_linear",
     [("MultiplicativeLR", "lambda e: 0.97"), ("LinearLR", dict(start_factor=0.25, total_iters=8))]),
]


def params_of(arg):
    return {"lr_lambda": arg} if isinstance(arg, str) else dict(arg)


def build(opt, cls, arg):
    if isinstance(arg, str):
        return getattr(L, cls)(opt, lr_lambda=eval(arg, {"math": math}))
    return getattr(L, cls)(opt, **arg)


def run(make):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=LR0)
    sched = make(opt)
    lrs = []
    for _ in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return [float(x) for x in lrs]


def main():
    cases = []
    for name, cls, src in SINGLE:
        lrs = run(lambda opt: build(opt, cls, src))
        cases.append({"name": name, "scheduler": cls, "lr0": LR0,
                      "params": {"lr_lambda": src}, "lrs": lrs})
    for name, children, milestones in SEQUENTIAL:
        lrs = run(lambda opt: L.SequentialLR(
            opt, [build(opt, c, a) for c, a in children], milestones=milestones))
        cases.append({"name": name, "scheduler": "SequentialLR", "lr0": LR0,
                      "params": {"schedulers": [{"scheduler": c, "params": params_of(a)}
                                                for c, a in children],
                                 "milestones": milestones},
                      "lrs": lrs})
    for name, children in CHAINED:
        lrs = run(lambda opt: L.ChainedScheduler(
            [build(opt, c, a) for c, a in children], optimizer=opt))
        cases.append({"name": name, "scheduler": "ChainedScheduler", "lr0": LR0,
                      "params": {"schedulers": [{"scheduler": c, "params": params_of(a)}
                                                for c, a in children]},
                      "lrs": lrs})
    print(json.dumps({"dtype": "f64", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
