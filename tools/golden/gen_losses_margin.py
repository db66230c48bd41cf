#!/usr/bin/env python3
"""Golden values for the margin losses, which the shared golden set lacks.

    python3 tools/golden/gen_losses_margin.py > core/tests/golden/losses_margin.json

Schema: as losses.json (core/tests/golden/README.md). Losses with more than one
differentiable input add `input2` / `grad_input2` (and `input3` / `grad_input3`), each of
`input_shape`. Scores are standard normal; some cases put hinge arguments exactly at 0 (the
kink, where PyTorch's gradient is 0) by building the input from small integers.
"""
import json
import torch
import torch.nn.functional as F

GEN = torch.Generator().manual_seed(20261201)


def f32s(t):
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def randn(*shape):
    return torch.randn(*shape, generator=GEN, dtype=torch.float32)


def case(name, loss, params, reduction, inputs, target, target_kind, output):
    """`inputs`: list of leaf tensors requiring grad; `output`: the loss's output tensor."""
    output.sum().backward()
    c = {
        "name": name,
        "loss": loss,
        "params": params,
        "reduction": reduction,
        "input_shape": list(inputs[0].shape),
        "input": f32s(inputs[0]),
        "target_shape": list(target.shape),
        "target": [int(v) for v in target.reshape(-1).tolist()] if target_kind == "class_index"
        else f32s(target),
        "target_kind": target_kind,
        "output": f32s(output),
        "grad_input": f32s(inputs[0].grad),
    }
    for k, t in enumerate(inputs[1:], start=2):
        c[f"input{k}"] = f32s(t)
        c[f"grad_input{k}"] = f32s(t.grad)
    return c


def leaf(t):
    return t.clone().requires_grad_(True)


def multi_margin(cases):
    n, c = 6, 5
    for p in (1, 2):
        for margin in (1.0, 0.3):
            for use_w in (False, True):
                for red in ("mean", "sum", "none"):
                    if use_w and margin != 1.0:
                        continue
                    x = leaf(randn(n, c))
                    y = torch.randint(0, c, (n,), generator=GEN)
                    w = torch.rand(c, generator=GEN) * 2 + 0.1 if use_w else None
                    params = {"p": p, "margin": margin}
                    if use_w:
                        params["weight"] = f32s(w)
                    out = F.multi_margin_loss(x, y, p=p, margin=margin, weight=w, reduction=red)
                    name = f"MultiMarginLoss-p{p}-m{margin}{'-w' if use_w else ''}-{red}"
                    cases.append(case(name, "MultiMarginLoss", params, red, [x], y,
                                      "class_index", out))
    # Kinks: integer scores, margin 1, so that many z = margin - x[y] + x[i] are exactly 0.
    for p in (1, 2):
        x = leaf(torch.randint(-2, 3, (6, 4), generator=GEN).to(torch.float32))
        y = torch.randint(0, 4, (6,), generator=GEN)
        out = F.multi_margin_loss(x, y, p=p, reduction="sum")
        cases.append(case(f"MultiMarginLoss-p{p}-kinks-sum", "MultiMarginLoss", {"p": p},
                          "sum", [x], y, "class_index", out))
    # Unbatched [C] input, scalar target.
    x = leaf(randn(7))
    y = torch.tensor(3)
    out = F.multi_margin_loss(x, y)
    c1 = case("MultiMarginLoss-unbatched", "MultiMarginLoss", {}, "mean", [x], y.reshape(1),
              "class_index", out)
    c1["target_shape"] = []
    cases.append(c1)


def multilabel_targets(n, c, dup=False):
    """Rows of class indices: a random prefix, -1, then padding (anything in -1..C)."""
    t = torch.randint(-1, c, (n, c), generator=GEN)
    for r in range(n):
        k = int(torch.randint(0, c + 1, (1,), generator=GEN))
        if r == 0:
            k = 0  # no targets
        elif r == 1:
            k = c  # every class a target
        t[r, :k] = torch.randperm(c, generator=GEN)[:k]
        if dup and k >= 2:
            t[r, 1] = t[r, 0]
        if k < c:
            t[r, k] = -1
    return t


def multilabel_margin(cases):
    n, c = 6, 5
    for red in ("mean", "sum", "none"):
        x = leaf(randn(n, c))
        y = multilabel_targets(n, c)
        out = F.multilabel_margin_loss(x, y, reduction=red)
        cases.append(case(f"MultiLabelMarginLoss-{red}", "MultiLabelMarginLoss", {}, red, [x], y,
                          "class_index", out))
    x = leaf(randn(n, c))
    y = multilabel_targets(n, c, dup=True)
    out = F.multilabel_margin_loss(x, y, reduction="sum")
    cases.append(case("MultiLabelMarginLoss-repeated-targets-sum", "MultiLabelMarginLoss", {},
                      "sum", [x], y, "class_index", out))
    # Kinks: integer scores, many 1 - x[j] + x[i] exactly 0.
    x = leaf(torch.randint(-2, 3, (n, c), generator=GEN).to(torch.float32))
    y = multilabel_targets(n, c)
    out = F.multilabel_margin_loss(x, y, reduction="none")
    cases.append(case("MultiLabelMarginLoss-kinks-none", "MultiLabelMarginLoss", {}, "none", [x],
                      y, "class_index", out))
    # Unbatched [C] input, [C] target; many classes.
    x = leaf(randn(12))
    y = torch.tensor([4, 11, 0, 7, -1, 3, 9, -1, 2, 5, 1, 0])
    out = F.multilabel_margin_loss(x, y)
    cases.append(case("MultiLabelMarginLoss-unbatched", "MultiLabelMarginLoss", {}, "mean", [x],
                      y, "class_index", out))


def multilabel_soft_margin(cases):
    n, c = 6, 5
    for use_w in (False, True):
        for red in ("mean", "sum", "none"):
            x = leaf(randn(n, c) * 3)
            y = (torch.rand(n, c, generator=GEN) < 0.5).to(torch.float32)
            w = torch.rand(c, generator=GEN) * 2 + 0.1 if use_w else None
            params = {"weight": f32s(w)} if use_w else {}
            out = F.multilabel_soft_margin_loss(x, y, weight=w, reduction=red)
            name = f"MultiLabelSoftMarginLoss{'-w' if use_w else ''}-{red}"
            cases.append(case(name, "MultiLabelSoftMarginLoss", params, red, [x], y, "float", out))
    # Large logits of both signs (the stable form), zero logits, soft targets.
    x = leaf(torch.tensor([[30.0, -30.0, 0.0, 100.0], [-100.0, 0.0, 5.0, -5.0]]))
    y = torch.tensor([[0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.25, 0.75]])
    out = F.multilabel_soft_margin_loss(x, y, reduction="none")
    cases.append(case("MultiLabelSoftMarginLoss-extremes-none", "MultiLabelSoftMarginLoss", {},
                      "none", [x], y, "float", out))


def margin_ranking(cases):
    n = 9
    for margin in (0.0, 0.7):
        for red in ("mean", "sum", "none"):
            x1, x2 = leaf(randn(n)), leaf(randn(n))
            y = torch.randint(0, 2, (n,), generator=GEN).to(torch.float32) * 2 - 1
            out = F.margin_ranking_loss(x1, x2, y, margin=margin, reduction=red)
            cases.append(case(f"MarginRankingLoss-m{margin}-{red}", "MarginRankingLoss",
                              {"margin": margin}, red, [x1, x2], y, "float", out))
    # Kinks (ties at margin 0, integer scores at margin 1) and a negative margin.
    for margin in (0.0, 1.0, -0.5):
        x1 = leaf(torch.randint(-2, 3, (n,), generator=GEN).to(torch.float32))
        x2 = leaf(torch.randint(-2, 3, (n,), generator=GEN).to(torch.float32))
        y = torch.randint(0, 2, (n,), generator=GEN).to(torch.float32) * 2 - 1
        out = F.margin_ranking_loss(x1, x2, y, margin=margin, reduction="none")
        cases.append(case(f"MarginRankingLoss-kinks-m{margin}-none", "MarginRankingLoss",
                          {"margin": margin}, "none", [x1, x2], y, "float", out))


def cosine_embedding(cases):
    n, d = 7, 4
    for margin in (0.0, 0.4, -0.3):
        for red in ("mean", "sum", "none"):
            if margin != 0.0 and red != "none":
                continue
            x1, x2 = leaf(randn(n, d)), leaf(randn(n, d))
            y = torch.randint(0, 2, (n,), generator=GEN).to(torch.float32) * 2 - 1
            out = F.cosine_embedding_loss(x1, x2, y, margin=margin, reduction=red)
            cases.append(case(f"CosineEmbeddingLoss-m{margin}-{red}", "CosineEmbeddingLoss",
                              {"margin": margin}, red, [x1, x2], y, "float", out))
    # Awkward rows: orthogonal dissimilar pair at the kink cos = margin = 0, zero vectors
    # (cos 0 through the 1e-12), tiny vectors (where the 1e-12 matters), parallel and
    # opposite pairs, a target of 0 (loss 0).
    x1 = leaf(torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1e-6, 2e-6, 0.0],
                            [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]))
    x2 = leaf(torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [3e-6, -1e-6, 1e-6],
                            [2.0, 4.0, 6.0], [-1.0, -2.0, -3.0], [1.0, 1.0, 1.0]]))
    y = torch.tensor([-1.0, 1.0, 1.0, -1.0, 1.0, 0.0])
    out = F.cosine_embedding_loss(x1, x2, y, reduction="none")
    cases.append(case("CosineEmbeddingLoss-awkward-none", "CosineEmbeddingLoss", {}, "none",
                      [x1, x2], y, "float", out))
    # Unbatched [D] inputs, scalar target.
    x1, x2 = leaf(randn(5)), leaf(randn(5))
    out = F.cosine_embedding_loss(x1, x2, torch.tensor(-1.0), margin=-0.5)
    c1 = case("CosineEmbeddingLoss-unbatched", "CosineEmbeddingLoss", {"margin": -0.5}, "mean",
              [x1, x2], torch.tensor([-1.0]), "float", out)
    c1["target_shape"] = []
    cases.append(c1)


def triplet_margin(cases):
    n, d = 6, 4
    configs = [
        ({}, ("mean", "sum", "none")),
        ({"p": 1.0}, ("mean",)),
        ({"p": 3.0}, ("sum",)),
        ({"p": 1.5, "eps": 0.0}, ("none",)),
        ({"swap": True}, ("mean", "none")),
        ({"swap": True, "p": 1.0, "margin": 0.5}, ("sum",)),
        ({"margin": 2.0, "eps": 1e-3}, ("none",)),
    ]
    for params, reds in configs:
        for red in reds:
            a, q, r = leaf(randn(n, d)), leaf(randn(n, d)), leaf(randn(n, d))
            out = F.triplet_margin_loss(a, q, r, reduction=red, **params)
            tag = "".join(f"-{k}{v}" for k, v in params.items())
            c = case(f"TripletMarginLoss{tag}-{red}", "TripletMarginLoss", params, red,
                     [a, q, r], torch.zeros(0), "none", out)
            cases.append(c)
    # Awkward rows (eps = 0, margin 4, swap): the kink d(a,q) - d_neg + margin = 0 (row 0,
    # and row 1 for p = 1); a swap tie d(a,r) = d(q,r), half the gradient to each (row 1 for
    # p = 2, row 2); a zero distance d(a,q) = 0 (row 2); zero components (row 3).
    a = leaf(torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 3.0]]))
    q = leaf(torch.tensor([[1.0, 0.0], [2.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    r = leaf(torch.tensor([[0.0, 5.0], [1.0, 5.0], [2.0, 1.0], [0.0, 0.0]]))
    for p in (2.0, 1.0):
        for t in (a, q, r):
            t.grad = None
        params = {"margin": 4.0, "p": p, "eps": 0.0, "swap": True}
        out = F.triplet_margin_loss(a, q, r, reduction="none", **params)
        cases.append(case(f"TripletMarginLoss-awkward-p{p}-none", "TripletMarginLoss", params,
                          "none", [a, q, r], torch.zeros(0), "none", out))
    # Unbatched [D].
    a, q, r = leaf(randn(5)), leaf(randn(5)), leaf(randn(5))
    out = F.triplet_margin_loss(a, q, r, margin=3.0)
    cases.append(case("TripletMarginLoss-unbatched", "TripletMarginLoss", {"margin": 3.0},
                      "mean", [a, q, r], torch.zeros(0), "none", out))


def main():
    cases = []
    multi_margin(cases)
    multilabel_margin(cases)
    multilabel_soft_margin(cases)
    margin_ranking(cases)
    cosine_embedding(cases)
    triplet_margin(cases)
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
