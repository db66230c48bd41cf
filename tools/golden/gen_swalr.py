#!/usr/bin/env python3
"""Golden values for torch.optim.swa_utils.SWALR (not in the shared golden set): PyTorch CPU,
f64 lrs.

    python3 tools/golden/gen_swalr.py > core/tests/golden/schedulers_swalr.json

Schema: as schedulers.json (core/tests/golden/README.md); SequentialLR and ChainedScheduler
cases list their schedulers as in schedulers_sequential.json. SWALR's `get_lr` is recursive
on the group's lr and counts `_step_count`, not `last_epoch`, so its value after a
SequentialLR milestone (`step(0)`) is one annealing step in; the cases pin that down.
"""
import json
import torch
from torch.optim.swa_utils import SWALR

STEPS = 40
LR0 = 0.1

L = torch.optim.lr_scheduler

SINGLE = [
    ("swalr_cos_default", dict(swa_lr=0.05)),
    ("swalr_linear", dict(swa_lr=0.02, anneal_epochs=7, anneal_strategy="linear")),
    ("swalr_cos_up", dict(swa_lr=0.3, anneal_epochs=13)),
    ("swalr_one_epoch", dict(swa_lr=0.01, anneal_epochs=1)),
    # anneal_epochs = 0: the constructor's own step already sets swa_lr.
    ("swalr_zero_epochs", dict(swa_lr=0.025, anneal_epochs=0)),
    ("swalr_to_zero", dict(swa_lr=0.0, anneal_epochs=5, anneal_strategy="linear")),
    ("swalr_same_lr", dict(swa_lr=LR0, anneal_epochs=3)),
]

SEQUENTIAL = [
    # The usual SWA recipe: a schedule, then SWALR from the milestone on.
    ("sequential_cosine_then_swalr",
     [("CosineAnnealingLR", dict(T_max=20)), ("SWALR", dict(swa_lr=0.05, anneal_epochs=5))],
     [15]),
    ("sequential_exponential_then_swalr_linear",
     [("ExponentialLR", dict(gamma=0.8)),
      ("SWALR", dict(swa_lr=0.04, anneal_epochs=6, anneal_strategy="linear"))], [10]),
    ("sequential_swalr_then_step",
     [("SWALR", dict(swa_lr=0.02, anneal_epochs=4)), ("StepLR", dict(step_size=5, gamma=0.5))],
     [8]),
    ("sequential_to_swalr_zero_epochs",
     [("LinearLR", dict(start_factor=0.5, total_iters=4)),
      ("SWALR", dict(swa_lr=0.07, anneal_epochs=0))], [6]),
]

CHAINED = [
    ("chained_exponential_swalr",
     [("ExponentialLR", dict(gamma=0.95)), ("SWALR", dict(swa_lr=0.03, anneal_epochs=8))]),
    ("chained_swalr_then_constant",
     [("SWALR", dict(swa_lr=0.2, anneal_epochs=5, anneal_strategy="linear")),
      ("ConstantLR", dict(factor=0.5, total_iters=3))]),
]


def build(opt, cls, kw):
    if cls == "SWALR":
        return SWALR(opt, **kw)
    return getattr(L, cls)(opt, **kw)


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
    for name, kw in SINGLE:
        lrs = run(lambda opt: build(opt, "SWALR", kw))
        cases.append({"name": name, "scheduler": "SWALR", "lr0": LR0, "params": kw, "lrs": lrs})
    for name, children, milestones in SEQUENTIAL:
        lrs = run(lambda opt: L.SequentialLR(
            opt, [build(opt, c, a) for c, a in children], milestones=milestones))
        cases.append({"name": name, "scheduler": "SequentialLR", "lr0": LR0,
                      "params": {"schedulers": [{"scheduler": c, "params": a}
                                                for c, a in children],
                                 "milestones": milestones},
                      "lrs": lrs})
    for name, children in CHAINED:
        lrs = run(lambda opt: L.ChainedScheduler(
            [build(opt, c, a) for c, a in children], optimizer=opt))
        cases.append({"name": name, "scheduler": "ChainedScheduler", "lr0": LR0,
                      "params": {"schedulers": [{"scheduler": c, "params": a}
                                                for c, a in children]},
                      "lrs": lrs})
    print(json.dumps({"dtype": "f64", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
