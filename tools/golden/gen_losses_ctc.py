#!/usr/bin/env python3
"""Golden values for CTCLoss, which the shared golden set lacks.

    python3 tools/golden/gen_losses_ctc.py > core/tests/golden/losses_ctc.json

Schema: as losses.json (core/tests/golden/README.md) with `loss` "CTCLoss", `params`
{`blank`, `zero_infinity`}, `input_shape` [T, N, C], `input` the log-probabilities (a float32
log_softmax of standard normal logits, taken as the leaf whose gradient is recorded),
`target_shape` [N, S] (padded targets) or [sum of target_lengths] (concatenated),
`target_kind` "class_index", and two extra integer fields `input_lengths` [N] and
`target_lengths` [N]. `grad_input` is PyTorch's gradient of the sum of `output` with respect
to the log-probabilities (the logits' gradient, see descent's CTCLoss docs). Infinite and NaN
values (impossible alignments without zero_infinity) are written as the strings "Infinity" and
"NaN".
"""
import json
import math
import torch
import torch.nn.functional as F

GEN = torch.Generator().manual_seed(20261215)


def num(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def f32s(t):
    return [num(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def log_probs(t, n, c):
    z = torch.randn(t, n, c, generator=GEN, dtype=torch.float32)
    return F.log_softmax(z, dim=2).detach().requires_grad_(True)


def labels(length, c, blank, repeats=False):
    """`length` labels in 0..c other than blank; with `repeats`, runs of equal labels."""
    others = [k for k in range(c) if k != blank]
    out = []
    for i in range(length):
        if repeats and i > 0 and int(torch.randint(0, 2, (1,), generator=GEN)) == 1:
            out.append(out[-1])
        else:
            out.append(others[int(torch.randint(0, len(others), (1,), generator=GEN))])
    return out


def case(name, lp, seqs, il, blank, reduction, zero_infinity, form, pad=None):
    """`seqs`: the label sequences; `form`: "padded" ([N, S], padded with `pad` or blank) or
    "concatenated"."""
    tl = [len(s) for s in seqs]
    if form == "padded":
        width = max(tl + [1])
        rows = [s + [blank if pad is None else pad] * (width - len(s)) for s in seqs]
        targets = torch.tensor(rows, dtype=torch.long).reshape(len(seqs), width)
    else:
        targets = torch.tensor([x for s in seqs for x in s], dtype=torch.long)
    lp.grad = None
    out = F.ctc_loss(lp, targets, torch.tensor(il), torch.tensor(tl), blank=blank,
                     reduction=reduction, zero_infinity=zero_infinity)
    out.sum().backward()
    return {
        "name": name,
        "loss": "CTCLoss",
        "params": {"blank": blank, "zero_infinity": zero_infinity},
        "reduction": reduction,
        "input_shape": list(lp.shape),
        "input": f32s(lp),
        "target_shape": list(targets.shape),
        "target": [int(v) for v in targets.reshape(-1).tolist()],
        "target_kind": "class_index",
        "input_lengths": il,
        "target_lengths": tl,
        "output": f32s(out),
        "grad_input": f32s(lp.grad),
    }


def main():
    cases = []
    t, n, c = 12, 4, 6
    # A batch with varying target and input lengths (one input shorter than T), both target
    # forms, every reduction, blank 0, C - 1 and in the middle.
    for blank in (0, c - 1, 2):
        lp = log_probs(t, n, c)
        seqs = [labels(k, c, blank) for k in (3, 1, 5, 2)]
        il = [12, 9, 12, 6]
        for form in ("padded", "concatenated"):
            for red in ("mean", "sum", "none"):
                if blank == 2 and form == "concatenated" and red != "mean":
                    continue
                cases.append(case(f"CTCLoss-blank{blank}-{form}-{red}", lp, seqs, il, blank,
                                  red, False, form))
    # Repeated labels, which need a blank between them; one input exactly as long as the
    # target plus its repeats (a single alignment), padding with a non-blank value.
    lp = log_probs(10, 3, 4)
    seqs = [[1, 1, 2, 2, 2], [3, 3], labels(4, 4, 0, repeats=True)]
    il = [10, 3, 10]
    for red in ("mean", "none"):
        cases.append(case(f"CTCLoss-repeats-{red}", lp, seqs, il, 0, red, False, "padded",
                          pad=3))
    cases.append(case("CTCLoss-repeats-concatenated-sum", lp, seqs, il, 0, "sum", False,
                      "concatenated"))
    # Empty targets (loss -sum_t log p(blank); mean divides by max(0, 1)), and input lengths
    # 0 (loss 0 for an empty target, inf otherwise) and 1.
    lp = log_probs(5, 4, 3)
    seqs = [[], [2], [], [1, 2]]
    il = [5, 1, 0, 4]
    for red in ("mean", "none"):
        cases.append(case(f"CTCLoss-empty-targets-{red}", lp, seqs, il, 0, red, False,
                          "concatenated"))
    lp = log_probs(5, 2, 3)
    cases.append(case("CTCLoss-input-length-0-none", lp, [[], [1]], [0, 0], 0, "none", False,
                      "padded"))
    # Impossible alignments: a repeat too short to hold its blank, a target longer than its
    # input; inf losses (NaN gradients) without zero_infinity, zeros with it.
    lp = log_probs(6, 4, 5)
    seqs = [[1, 1], [2, 3, 4, 1], [1, 2], [3, 3, 3]]
    il = [2, 3, 6, 6]
    for zi in (False, True):
        for red in ("mean", "sum", "none"):
            cases.append(case(f"CTCLoss-impossible-zi{int(zi)}-{red}", lp, seqs, il, 0, red, zi,
                              "padded"))
    cases.append(case("CTCLoss-impossible-zi1-concatenated-mean", lp, seqs, il, 0, "mean",
                      True, "concatenated"))
    # zero_infinity on a possible batch changes nothing; blank C - 1 with a long input.
    lp = log_probs(30, 2, 7)
    seqs = [labels(8, 7, 6, repeats=True), labels(13, 7, 6)]
    cases.append(case("CTCLoss-long-blank-last-zi1-mean", lp, seqs, [30, 27], 6, "mean", True,
                      "padded"))
    # One sample, one class besides blank.
    lp = log_probs(4, 1, 2)
    cases.append(case("CTCLoss-two-classes-sum", lp, [[1, 1]], [4], 0, "sum", False,
                      "concatenated"))
    print(json.dumps({"dtype": "f32", "torch": torch.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
