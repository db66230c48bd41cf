#!/usr/bin/env python3
"""Golden values for torch.optim.LBFGS (not in the shared golden set): PyTorch CPU, float64.

    python3 tools/golden/gen_lbfgs.py > core/tests/golden/optimizers_lbfgs.json

Case: `name`, `optimizer` ("LBFGS"), `hyperparams` (constructor keyword arguments),
`objective` ("rosenbrock": sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, or "quadratic":
0.5 (x - c)^T A (x - c) with `A` [dim][dim] and `c` [dim] given), `dim`, `steps`, `theta0`,
`thetas` [steps][dim] (after each `optimizer.step(closure)`), `losses` [steps] (what each step
returned: the loss at its starting point).
"""
import json
import torch

torch.set_default_dtype(torch.float64)


def rosenbrock(x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def quadratic(A, c):
    return lambda x: 0.5 * (x - c) @ (A @ (x - c))


def run(name, objective, theta0, hp, steps, extra=None):
    x = torch.nn.Parameter(torch.tensor(theta0))
    opt = torch.optim.LBFGS([x], **hp)
    if objective == "rosenbrock":
        f = rosenbrock
    else:
        f = quadratic(torch.tensor(extra["A"]), torch.tensor(extra["c"]))

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    thetas, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure)))
        thetas.append([float(v) for v in x.detach()])
    case = {"name": name, "optimizer": "LBFGS", "hyperparams": hp, "objective": objective,
            "dim": len(theta0), "steps": steps, "theta0": theta0, "thetas": thetas,
            "losses": losses}
    if extra:
        case.update(extra)
    return case


def main():
    A = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]]
    c = [1.0, -2.0, 0.5]
    cases = [
        run("rosenbrock2_default", "rosenbrock", [-1.2, 1.0], {}, 3),
        run("rosenbrock2_strong_wolfe", "rosenbrock", [-1.2, 1.0], {"line_search_fn": "strong_wolfe"}, 3),
        run("rosenbrock4_lr05_history3", "rosenbrock", [-1.0, 0.5, 1.5, -0.5],
            {"lr": 0.5, "history_size": 3, "max_iter": 10}, 4),
        run("rosenbrock4_strong_wolfe_history5", "rosenbrock", [-1.0, 0.5, 1.5, -0.5],
            {"line_search_fn": "strong_wolfe", "history_size": 5, "max_iter": 15}, 3),
        run("quadratic3_strong_wolfe", "quadratic", [0.0, 0.0, 0.0],
            {"line_search_fn": "strong_wolfe"}, 2, {"A": A, "c": c}),
        run("quadratic3_lr01_max_eval7", "quadratic", [3.0, 3.0, -3.0],
            {"lr": 0.1, "max_iter": 12, "max_eval": 7, "tolerance_grad": 1e-9}, 3, {"A": A, "c": c}),
    ]
    print(json.dumps({"dtype": "f64", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
