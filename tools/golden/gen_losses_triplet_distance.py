#!/usr/bin/env python3
"""Golden values for TripletMarginWithDistanceLoss.

    python3 tools/golden/gen_losses_triplet_distance.py > core/tests/golden/losses_triplet_distance.json

Schema: as the TripletMarginLoss cases of losses_margin.json (core/tests/golden/README.md):
anchor in `input`, positive in `input2`, negative in `input3` (each of `input_shape`), their
gradients in `grad_input`, `grad_input2`, `grad_input3`, `target` empty, `target_kind` `none`;
`params` holds `margin` and `swap`. The callable `distance_function` is described by `distance`:
null (PyTorch's None, i.e. `pairwise_distance` with p = 2, eps = 1e-6),
`{"kind": "pairwise", "p": p, "eps": eps}` (`lambda x, y: F.pairwise_distance(x, y, p, eps)`) or
`{"kind": "cosine"}` (`lambda x, y: 1.0 - F.cosine_similarity(x, y)`, eps = 1e-8).
"""
import json
import torch
import torch.nn.functional as F

GEN = torch.Generator().manual_seed(20261215)


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def randn(*shape):
    return torch.randn(*shape, generator=GEN, dtype=torch.float32)


def leaf(t):
    return t.clone().detach().requires_grad_(True)


def distance_fn(desc):
    if desc is None:
        return None
    if desc["kind"] == "pairwise":
        return lambda x, y: F.pairwise_distance(x, y, p=desc["p"], eps=desc["eps"])
    if desc["kind"] == "cosine":
        return lambda x, y: 1.0 - F.cosine_similarity(x, y)
    raise ValueError(desc)


def case(name, distance, params, reduction, a, q, r):
    a, q, r = leaf(a), leaf(q), leaf(r)
    out = F.triplet_margin_with_distance_loss(a, q, r, distance_function=distance_fn(distance),
                                              reduction=reduction, **params)
    out.sum().backward()
    return {
        "name": name,
        "loss": "TripletMarginWithDistanceLoss",
        "params": params,
        "distance": distance,
        "reduction": reduction,
        "input_shape": list(a.shape),
        "input": f32s(a),
        "target_shape": [0],
        "target": [],
        "target_kind": "none",
        "output": f32s(out),
        "grad_input": f32s(a.grad),
        "input2": f32s(q),
        "grad_input2": f32s(q.grad),
        "input3": f32s(r),
        "grad_input3": f32s(r.grad),
    }


def tag(distance):
    if distance is None:
        return "default"
    if distance["kind"] == "pairwise":
        return f"pairwise-p{distance['p']}-eps{distance['eps']}"
    return "cosine"


def main():
    cases = []
    n, d = 6, 4
    pw = lambda p, eps=1e-6: {"kind": "pairwise", "p": p, "eps": eps}
    cos = {"kind": "cosine"}
    configs = [
        (None, {}, ("mean", "sum", "none")),
        (None, {"swap": True}, ("mean", "none")),
        (None, {"margin": 2.0}, ("sum",)),
        (pw(2.0, 1e-6), {}, ("mean",)),
        (pw(1.0), {}, ("mean", "none")),
        (pw(1.0), {"swap": True, "margin": 0.5}, ("sum",)),
        (pw(3.0), {}, ("sum",)),
        (pw(3.0), {"swap": True}, ("none",)),
        (pw(1.5, 0.0), {"margin": 1.5}, ("none",)),
        (pw(2.0, 1e-3), {"margin": 2.0}, ("none",)),
        (cos, {}, ("mean", "sum", "none")),
        (cos, {"swap": True, "margin": 0.7}, ("none", "mean")),
    ]
    for distance, params, reds in configs:
        for red in reds:
            ptag = "".join(f"-{k}{v}" for k, v in params.items())
            cases.append(case(f"TripletMarginWithDistanceLoss-{tag(distance)}{ptag}-{red}",
                              distance, params, red, randn(n, d), randn(n, d), randn(n, d)))
    # Awkward rows for the pairwise distance (eps = 0, margin 4, swap): the kink
    # margin + d(a,q) - d_neg = 0 (row 0, and row 1 for p = 1); a swap tie d(a,r) = d(q,r),
    # half the gradient to each (row 1 for p = 2, row 2); a zero distance d(a,q) = 0 (row 2);
    # zero components (row 3); swap choosing d(q,r) (row 4).
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 3.0], [0.0, 0.0]])
    q = torch.tensor([[1.0, 0.0], [2.0, 0.0], [1.0, 1.0], [0.0, 1.0], [3.0, 0.0]])
    r = torch.tensor([[0.0, 5.0], [1.0, 5.0], [2.0, 1.0], [0.0, 0.0], [3.0, 1.0]])
    for p in (2.0, 1.0):
        for swap in (True, False):
            params = {"margin": 4.0, "swap": swap}
            cases.append(case(f"TripletMarginWithDistanceLoss-awkward-p{p}-swap{swap}-none",
                              pw(p, 0.0), params, "none", a, q, r))
    # Awkward rows for the cosine distance: the kink (orthogonal positive, opposite negative,
    # margin 1: 1 + 1 - 2 = 0, row 0); a swap tie cos(a,r) = cos(q,r) (row 1); swap choosing
    # d(q,r) (row 2); zero vectors, where cos = 0 (rows 3, 4); vectors of norm under eps = 1e-8,
    # where each norm is clamped on its own (rows 5, 6); parallel positive (row 7).
    a = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0],
                      [1.0, 2.0, 0.5], [3e-9, 4e-9, 0.0], [1.0, -1.0, 2.0], [1.0, 2.0, 3.0]])
    q = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 2.0, 3.0],
                      [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2e-9, 0.0, 1e-9], [2.0, 4.0, 6.0]])
    r = torch.tensor([[-1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.1, 1.0, 0.0], [0.0, 0.0, 0.0],
                      [-1.0, 0.5, 2.0], [0.0, 1e-9, 1e-9], [0.5, 0.5, -1.0], [-1.0, 0.0, 1.0]])
    for swap in (False, True):
        for red in ("none", "sum"):
            params = {"margin": 1.0, "swap": swap}
            cases.append(case(f"TripletMarginWithDistanceLoss-cosine-awkward-swap{swap}-{red}",
                              cos, params, red, a, q, r))
    # Unbatched [D] (default distance; cosine_similarity's dim=1 needs a batch).
    cases.append(case("TripletMarginWithDistanceLoss-default-unbatched", None, {"margin": 3.0},
                      "mean", randn(5), randn(5), randn(5)))
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
