//! Every loss of `descent_core::loss` on arbitrary shapes, values, weights and buffers.
//!
//! Properties: no panic; errors are typed (`ShapeMismatch`, `InvalidArgument`,
//! `ClassOutOfRange`, `BufferTooSmall`) and a target that is neither `ignore_index` nor in
//! `0..C` is `ClassOutOfRange` when the shapes are right; `forward` and `forward_backward` agree
//! bit for bit; with `Reduction::None`, NaN in an input/target element propagates into the
//! affected output element and gradient (as documented in core/src/loss/mod.rs), ignored rows
//! give exactly 0 even when they hold NaN, and bounded finite data (|x| ≤ 32.8) gives finite
//! outputs and gradients (except KLDivLoss on negative probabilities, documented NaN).
#![no_main]

use arbitrary::Arbitrary;
use descent_core::loss::*;
use descent_core::{Error, Float};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    loss: u8,
    reduction: u8,
    use_f64: bool,
    rows: u8,
    classes: u8,
    /// Values /1000 (so |x| ≤ 32.8).
    input: Vec<i16>,
    target: Vec<i16>,
    class_targets: Vec<i8>,
    /// NaN at (in target?, position).
    nans: Vec<(bool, u16)>,
    /// Raw f64 bit patterns overwriting the start of the input (inf, huge, subnormal...).
    wild: Vec<u64>,
    weight: Option<Vec<i16>>,
    pos_weight: Option<Vec<i16>>,
    /// delta / beta / label_smoothing, /1000.
    param: i16,
    ignore_index: Option<i8>,
    /// Bits: 1 target length off, 2 out length off, 4 grad length off, 8 input length off.
    mismatch: u8,
    log_target: bool,
    batch: u8,
}

fn vals<T: Float>(v: &[i16], n: usize) -> Vec<T> {
    (0..n)
        .map(|i| {
            T::from_f64(v.get(i).copied().unwrap_or((i as i16).wrapping_mul(37)) as f64 / 1000.0)
        })
        .collect()
}

fn same<T: Float>(a: T, b: T) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_f64().to_bits() == b.to_f64().to_bits()
}

/// What a loss run gives: (value, out, grad) or an error.
type Run<T> = Result<(T, Vec<T>, Vec<T>), Error>;

/// One loss call: `(out, Some(grad_input))` runs `forward_backward`, `None` runs `forward`.
type LossFn<'a, T> = &'a dyn Fn(&mut [T], Option<&mut [T]>) -> Result<T, Error>;

struct Case<T> {
    x: Vec<T>,
    /// Float targets (pointwise losses, probability targets).
    y: Vec<T>,
    /// Class targets.
    t: Vec<i64>,
    out_len: usize,
    grad_len: usize,
}

fn run<T: Float>(inp: &Input) {
    let kind = inp.loss % 9;
    let red = match inp.reduction % 3 {
        0 => Reduction::None,
        1 => Reduction::Mean,
        _ => Reduction::Sum,
    };
    let none = red == Reduction::None;
    let classy = matches!(kind, 4..=6); // NLL, CE (indices), CE (probabilities)
    let (rows, classes) = (inp.rows as usize % 7, inp.classes as usize % 7);
    let n = if classy {
        rows * classes
    } else {
        inp.input.len().min(64)
    };
    let off = |bit: u8, len: usize| {
        if inp.mismatch & bit != 0 {
            if len == 0 {
                1
            } else {
                len - 1
            }
        } else {
            len
        }
    };
    let xn = off(8, n);
    let mut x: Vec<T> = vals(&inp.input, xn);
    for (d, &bits) in x.iter_mut().zip(inp.wild.iter().take(4)) {
        *d = T::from_f64(f64::from_bits(bits));
    }
    let yn = off(1, n);
    let mut y: Vec<T> = vals(&inp.target, yn);
    let ignore = inp.ignore_index.map_or(-100, i64::from);
    let t: Vec<i64> = (0..off(1, rows))
        .map(|i| {
            let v = inp.class_targets.get(i).copied().unwrap_or(0);
            if v == i8::MIN {
                ignore
            } else {
                i64::from(v) % (classes as i64 + 2)
            }
        })
        .collect();
    for &(in_target, at) in inp.nans.iter().take(6) {
        let v = if in_target { &mut y } else { &mut x };
        if !v.is_empty() {
            let i = at as usize % v.len();
            v[i] = T::NAN;
        }
    }
    let per_elem = if classy { rows } else { n };
    let case = Case {
        out_len: if none { off(2, per_elem) } else { 0 },
        grad_len: off(4, xn),
        x,
        y,
        t,
    };
    let weight: Option<Vec<T>> = inp.weight.as_ref().map(|w| vals(w, w.len().min(16)));
    let pos_weight: Option<Vec<T>> = inp.pos_weight.as_ref().map(|w| vals(w, w.len().min(16)));
    let param = T::from_f64(inp.param as f64 / 1000.0);

    // Run `f` twice: forward only, and forward + backward; they must agree.
    let both = |f: LossFn<T>| -> Run<T> {
        let mut out1 = vec![T::from_f64(-3.5); case.out_len];
        let r1 = f(&mut out1, None);
        let mut out2 = vec![T::from_f64(-3.5); case.out_len];
        let mut grad = vec![T::from_f64(-4.5); case.grad_len];
        let r2 = f(&mut out2, Some(&mut grad));
        match (&r1, &r2) {
            (Ok(a), Ok(b)) => {
                assert!(same(*a, *b), "forward {a:?} != forward_backward {b:?}");
                assert!(
                    out1.iter().zip(&out2).all(|(a, b)| same(*a, *b)),
                    "forward and forward_backward wrote different `out`"
                );
            }
            (Err(_), Err(_)) => {}
            // A wrong grad_input length fails only the backward call.
            (
                Ok(_),
                Err(Error::ShapeMismatch {
                    what: "grad_input", ..
                }),
            ) => {}
            _ => panic!("forward {r1:?} vs forward_backward {r2:?}"),
        }
        r2.map(|v| (v, out2, grad))
    };

    let x = &case.x[..];
    let y = &case.y[..];
    let res: Run<T> = match kind {
        0 => both(&|o, g| match g {
            None => MSELoss::new(red).forward(x, y, o),
            Some(g) => MSELoss::new(red).forward_backward(x, y, o, g),
        }),
        1 => both(&|o, g| match g {
            None => L1Loss::new(red).forward(x, y, o),
            Some(g) => L1Loss::new(red).forward_backward(x, y, o, g),
        }),
        2 => both(&|o, g| {
            let l = HuberLoss::new(red, param);
            match g {
                None => l.forward(x, y, o),
                Some(g) => l.forward_backward(x, y, o, g),
            }
        }),
        3 => both(&|o, g| {
            let l = SmoothL1Loss::new(red, param);
            match g {
                None => l.forward(x, y, o),
                Some(g) => l.forward_backward(x, y, o, g),
            }
        }),
        4 => both(&|o, g| {
            let l = NLLLoss::new(weight.as_deref(), ignore, red);
            match g {
                None => l.forward(x, &case.t, classes, o),
                Some(g) => l.forward_backward(x, &case.t, classes, o, g),
            }
        }),
        5 | 6 => both(&|o, g| {
            let l = CrossEntropyLoss {
                weight: weight.as_deref(),
                ignore_index: ignore,
                reduction: red,
                label_smoothing: param,
            };
            match (kind, g) {
                (5, None) => l.forward(x, &case.t, classes, o),
                (5, Some(g)) => l.forward_backward(x, &case.t, classes, o, g),
                (_, None) => l.forward_probs(x, y, classes, o),
                (_, Some(g)) => l.forward_backward_probs(x, y, classes, o, g),
            }
        }),
        7 => both(&|o, g| {
            let r = match inp.reduction % 4 {
                0 => KLDivReduction::None,
                1 => KLDivReduction::Mean,
                2 => KLDivReduction::Sum,
                _ => KLDivReduction::BatchMean,
            };
            let l = KLDivLoss::new(r, inp.log_target);
            let batch = inp.batch as usize % 9;
            match g {
                None => l.forward(x, y, batch, o),
                Some(g) => l.forward_backward(x, y, batch, o, g),
            }
        }),
        _ => both(&|o, g| {
            let l = BCEWithLogitsLoss::new(weight.as_deref(), red, pos_weight.as_deref());
            match g {
                None => l.forward(x, y, o),
                Some(g) => l.forward_backward(x, y, o, g),
            }
        }),
    };
    // KLDivLoss has its own reduction enum (BatchMean maps to a reduced value).
    let none = if kind == 7 {
        inp.reduction.is_multiple_of(4)
    } else {
        none
    };

    let shapes_ok = inp.mismatch & 0x0f == 0;
    let bad_class = matches!(kind, 4 | 5)
        && case
            .t
            .iter()
            .any(|&t| t != ignore && !(0..classes as i64).contains(&t));
    let (value, out, grad) = match res {
        Ok(r) => r,
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::ShapeMismatch { .. }
                        | Error::InvalidArgument { .. }
                        | Error::ClassOutOfRange { .. }
                        | Error::BufferTooSmall { .. }
                ),
                "unexpected error kind {e:?}"
            );
            return;
        }
    };
    assert!(
        !(bad_class && shapes_ok && weight.as_ref().is_none_or(|w| w.len() == classes)),
        "a target outside 0..{classes} (ignore_index {ignore}) was accepted: {:?}",
        case.t
    );
    if !none {
        return;
    }
    let _ = value;
    let c = classes;
    let row_ignored = |i: usize| matches!(kind, 4 | 5) && case.t[i] == ignore;
    let wild = !inp.wild.is_empty() && !x.is_empty();
    match kind {
        4..=6 => {
            // Accepted: the shapes are consistent with `x` (which may be the off-by-one one).
            let rows = x.len().checked_div(c).unwrap_or(0);
            for i in 0..rows {
                let xr = &x[i * c..(i + 1) * c];
                let gr = &grad[i * c..(i + 1) * c];
                if row_ignored(i) {
                    assert!(
                        out[i] == T::ZERO && gr.iter().all(|&g| g == T::ZERO),
                        "ignored row {i} gives out {:?}, grad {gr:?}",
                        out[i]
                    );
                    continue;
                }
                let row_nan = match kind {
                    4 => xr[case.t[i] as usize].is_nan(),
                    5 => xr.iter().any(|v| v.is_nan()),
                    _ => xr.iter().chain(&y[i * c..(i + 1) * c]).any(|v| v.is_nan()),
                };
                if row_nan {
                    assert!(
                        out[i].is_nan(),
                        "NaN in row {i} did not reach out[{i}] = {:?}",
                        out[i]
                    );
                    if kind != 4 {
                        assert!(
                            gr.iter().all(|g| g.is_nan()),
                            "NaN in row {i} gave grad {gr:?}"
                        );
                    }
                } else if !wild
                    && (kind != 5
                        || weight
                            .as_ref()
                            .is_none_or(|w| w.iter().all(|v| v.is_finite())))
                {
                    assert!(out[i].is_finite(), "finite row {i} gave out {:?}", out[i]);
                    assert!(
                        gr.iter().all(|g| g.is_finite()),
                        "finite row {i} gave grad {gr:?}"
                    );
                }
            }
        }
        _ => {
            for i in 0..x.len() {
                let (xi, yi) = (x[i], y[i]);
                if xi.is_nan() || yi.is_nan() {
                    assert!(
                        out[i].is_nan(),
                        "NaN input/target at {i} gave out {:?}",
                        out[i]
                    );
                    // KLDiv's gradient is −y (or −e^y): it depends on the target only.
                    if kind != 7 || yi.is_nan() {
                        assert!(
                            grad[i].is_nan(),
                            "NaN input/target at {i} gave grad {:?}",
                            grad[i]
                        );
                    }
                } else if !wild && !(kind == 7 && !inp.log_target && yi < T::ZERO) {
                    assert!(
                        out[i].is_finite() && grad[i].is_finite(),
                        "finite data at {i} (x = {xi:?}, y = {yi:?}) gave out {:?}, grad {:?}",
                        out[i],
                        grad[i]
                    );
                }
            }
        }
    }
}

fuzz_target!(|inp: Input| {
    if inp.use_f64 {
        run::<f64>(&inp);
    } else {
        run::<f32>(&inp);
    }
});
