//! The twelve newer losses of `descent_core::loss` (BCELoss, PoissonNLLLoss, GaussianNLLLoss,
//! SoftMarginLoss, HingeEmbeddingLoss, MultiMarginLoss, MultiLabelMarginLoss,
//! MultiLabelSoftMarginLoss, MarginRankingLoss, CosineEmbeddingLoss, TripletMarginLoss,
//! TripletMarginWithDistanceLoss with the pairwise or the cosine distance) on
//! arbitrary shapes (0 rows, 0 classes, D = 0), values (NaN, ±inf, huge, subnormal, values
//! outside a loss's domain), arguments (p, margin, eps, weights of any length, out-of-range
//! class indices, negative variances) and buffer lengths, in f32 and f64.
//!
//! Properties (each as documented in core/src/loss/mod.rs and the losses' own docs):
//!
//! * no panic; an error is typed (`ShapeMismatch`, `InvalidArgument`, `ClassOutOfRange`) and
//!   names a buffer or argument that really violates the documented contract; a call is
//!   accepted exactly when nothing violates it (every documented check, modelled here);
//! * `forward` and `forward_backward` agree bit for bit (a wrong gradient length fails only the
//!   backward call); a second `forward_backward` into NaN-filled buffers gives the same bits
//!   (`out` for `None` and every gradient buffer are entirely overwritten); `out` is not
//!   touched for `Mean` / `Sum`; BCELoss and GaussianNLLLoss, which promise it, write nothing
//!   when they fail;
//! * reductions: `Sum` returns the `None` value bit for bit, `Mean` returns `Sum / N` bit for
//!   bit, the `None` value is the sum of `out` (to rounding), `Sum` gradients equal the `None`
//!   gradients bit for bit, `Mean` gradients are the `None` gradients over `N` (to rounding,
//!   NaN where they are NaN), and with `N = 0` every gradient entry (GaussianNLLLoss's
//!   `grad_var`) is 0, an empty sum;
//! * `Reduction::None`: NaN in an input/target element (variance, row) propagates into the
//!   output elements and gradients that depend on it, with the documented exceptions
//!   (HingeEmbeddingLoss's NaN target takes both terms; CosineEmbeddingLoss's targets other
//!   than ±1 give exactly 0; rows without any term give exactly 0); bounded finite data and
//!   arguments (|x| ≤ 32.8) give finite outputs and gradients, except where the docs allow
//!   otherwise (PoissonNLLLoss with `x + eps <= 0`, GaussianNLLLoss with `eps <= 0`,
//!   TripletMarginLoss with `p` far from 1, whose `Σ|v|^p` may overflow, and the cosine
//!   distance with `eps = 0`, whose zero vectors give 0/0).
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
    /// Rows `N` (mod 9).
    rows: u8,
    /// Classes `C` / row length `D` (mod 9); flat losses have `n = N * C` elements.
    cols: u8,
    /// Values of the first, second and third float buffer, /1000 (so |x| ≤ 32.8), mapped
    /// into the loss's domain unless `flags & RAW`.
    pools: [Vec<i16>; 3],
    /// Class indices: < 200 a class (mod C), 200..250 -1, >= 250 hostile (-2, C, i64::MAX, ...).
    classes: Vec<u8>,
    /// NaN at (buffer: 0..3 data, 3 weight; position).
    nans: Vec<(u8, u16)>,
    /// Raw f64 bit patterns at (buffer, position): inf, huge, subnormal, negative zero, ...
    wild: Vec<(u8, u16, u64)>,
    weight: Option<Vec<i16>>,
    /// margin, p, eps: /1000, with i16::MIN = NaN, i16::MAX = +inf, i16::MIN + 1 = -inf.
    params: [i16; 3],
    /// See the `F_*` bits.
    flags: u8,
    /// Bit 3: TripletMarginWithDistanceLoss takes the cosine distance. Bits 0-2 select `p`
    /// (MultiMarginLoss: 1, 2 or anything; the triplet losses: 2, 1, 0.5, 3 or
    /// `params[1]`).
    p_choice: u8,
    /// Bit k: buffer k's length is off by one (see `B_*`); bit 15: one longer, not shorter.
    mismatch: u16,
}

const F_DEFAULT_MARGIN: u8 = 1;
const F_DEFAULT_EPS: u8 = 2;
const F_LOG_INPUT: u8 = 4;
const F_FULL: u8 = 8;
const F_SWAP: u8 = 16;
const F_RAW: u8 = 32;
/// GaussianNLLLoss: one variance per row; BCELoss: one weight per class.
const F_PER_ROW: u8 = 64;
/// GaussianNLLLoss: a single variance.
const F_SINGLE: u8 = 128;

const B_TARGETS: u32 = 3;
const B_WEIGHT: u32 = 4;
const B_OUT: u32 = 5;
const B_GRAD: u32 = 6;

fn param(v: i16) -> f64 {
    match v {
        i16::MIN => f64::NAN,
        i16::MAX => f64::INFINITY,
        -32767 => f64::NEG_INFINITY,
        _ => v as f64 / 1000.0,
    }
}

fn same<T: Float>(a: T, b: T) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_f64().to_bits() == b.to_f64().to_bits()
}

fn all_same<T: Float>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| same(x, y))
}

/// Equal to rounding (a few ulps, with an absolute floor for subnormal results).
fn close<T: Float>(a: T, b: T, rel: f64) -> bool {
    let (a, b) = (a.to_f64(), b.to_f64());
    let (rel, abs) = if T::BYTES == 4 {
        (rel, 1e-35)
    } else {
        (rel * 1e-7, 1e-300)
    };
    (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
}

/// One loss call: `None` runs `forward`, `Some(grads)` runs `forward_backward` with one
/// buffer per differentiable input (GaussianNLLLoss: `grad_input`, `grad_var`).
type Call<'a, T> = Box<dyn Fn(Reduction, &mut [T], Option<&mut [Vec<T>]>) -> Result<T, Error> + 'a>;

struct Eval<T> {
    value: T,
    out: Vec<T>,
    grads: Vec<Vec<T>>,
}

/// The name the docs give the violated buffer or argument (`class` for a class index).
fn error_name(e: &Error) -> &'static str {
    match e {
        Error::ShapeMismatch { what, .. } => what,
        Error::InvalidArgument { name, .. } => name,
        Error::ClassOutOfRange { .. } => "class",
        other => panic!("unexpected error kind {other:?}"),
    }
}

/// `r` is accepted exactly when nothing in `violations` holds; an error names one of them.
fn check_result<T: Float>(what: &str, r: &Result<T, Error>, violations: &[&'static str]) {
    match r {
        Ok(_) => assert!(
            violations.is_empty(),
            "{what} accepted despite violations {violations:?}"
        ),
        Err(e) => assert!(
            violations.contains(&error_name(e)),
            "{what} failed with {e:?}, expected one of {violations:?}"
        ),
    }
}

/// Run `call` three times (`forward`; `forward_backward`; `forward_backward` into NaN-filled
/// buffers) and check that they agree; returns the forward result and the first backward one.
fn both<T: Float>(
    call: &Call<T>,
    red: Reduction,
    out_len: usize,
    grad_lens: &[usize],
    untouched_on_error: bool,
) -> (Result<T, Error>, Result<Eval<T>, Error>) {
    let (so, sg) = (T::from_f64(-3.5), T::from_f64(-4.5));
    let mut out1 = vec![so; out_len];
    let r1 = call(red, &mut out1, None);
    let mut out2 = vec![so; out_len];
    let mut g2: Vec<Vec<T>> = grad_lens.iter().map(|&l| vec![sg; l]).collect();
    let r2 = call(red, &mut out2, Some(&mut g2));
    let mut out3 = vec![T::NAN; out_len];
    let mut g3: Vec<Vec<T>> = grad_lens.iter().map(|&l| vec![T::NAN; l]).collect();
    let r3 = call(red, &mut out3, Some(&mut g3));
    let none = red == Reduction::None;
    match (&r1, &r2) {
        (Ok(a), Ok(b)) => {
            assert!(same(*a, *b), "forward {a:?} != forward_backward {b:?}");
            assert!(
                all_same(&out1, &out2),
                "forward and forward_backward wrote different `out`: {out1:?} vs {out2:?}"
            );
        }
        (Err(_), Err(_)) => {}
        // A wrong gradient length fails only the backward call.
        (Ok(_), Err(Error::ShapeMismatch { what, .. })) if what.starts_with("grad_") => {}
        _ => panic!("forward {r1:?} vs forward_backward {r2:?}"),
    }
    match (&r2, &r3) {
        (Ok(a), Ok(b)) => {
            assert!(same(*a, *b), "forward_backward gave {a:?}, then {b:?}");
            for (k, (x, y)) in g2.iter().zip(&g3).enumerate() {
                assert!(
                    all_same(x, y),
                    "gradient buffer {k} not entirely overwritten: {x:?} vs {y:?}"
                );
            }
            if none {
                assert!(
                    all_same(&out2, &out3),
                    "`out` not entirely written: {out2:?} vs {out3:?}"
                );
            }
        }
        (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        _ => panic!("forward_backward gave {r2:?}, then {r3:?}"),
    }
    if !none {
        assert!(
            out1.iter().chain(&out2).all(|&v| same(v, so)) && out3.iter().all(|v| v.is_nan()),
            "`out` was written with {red:?}"
        );
    }
    if untouched_on_error {
        if r1.is_err() {
            assert!(
                out1.iter().all(|&v| same(v, so)),
                "failed forward wrote `out`"
            );
        }
        if r2.is_err() {
            assert!(
                out2.iter()
                    .chain(g2.iter().flatten())
                    .all(|&v| same(v, so) || same(v, sg)),
                "failed forward_backward wrote a buffer"
            );
        }
    }
    (
        r1,
        r2.map(|value| Eval {
            value,
            out: out2,
            grads: g2,
        }),
    )
}

/// What a loss needs checked: its call, the documented data/argument violations, the natural
/// `out` (for `None`) and gradient lengths (as the loss computes them from the buffers it got),
/// the gradient buffers' names, the `Mean` denominator, and whether errors write nothing.
struct Spec<'a, T> {
    call: Call<'a, T>,
    bad: Vec<&'static str>,
    out_len: usize,
    grad_lens: Vec<usize>,
    grad_names: &'static [&'static str],
    divisor: usize,
    untouched_on_error: bool,
    /// Arguments (margin, p, eps, weight) finite: the bounded-data finiteness applies.
    args_finite: bool,
}

const NAMES: [&str; 12] = [
    "BCELoss",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
    "SoftMarginLoss",
    "HingeEmbeddingLoss",
    "MultiMarginLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MarginRankingLoss",
    "CosineEmbeddingLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
];

fn run<T: Float>(inp: &Input) {
    let kind = inp.loss as usize % NAMES.len();
    let red = match inp.reduction % 3 {
        0 => Reduction::None,
        1 => Reduction::Mean,
        _ => Reduction::Sum,
    };
    let none = red == Reduction::None;
    let (rows, cols) = (inp.rows as usize % 9, inp.cols as usize % 9);
    let n = rows * cols;
    let raw = inp.flags & F_RAW != 0;
    let off = |bit: u32, len: usize| {
        if inp.mismatch & (1 << bit) == 0 {
            len
        } else if len == 0 || inp.mismatch & 0x8000 != 0 {
            len + 1
        } else {
            len - 1
        }
    };
    let flag = |f: u8| inp.flags & f != 0;
    let margin_or = |default: f64| {
        T::from_f64(if flag(F_DEFAULT_MARGIN) {
            default
        } else {
            param(inp.params[0])
        })
    };
    let eps_or = |default: f64| {
        T::from_f64(if flag(F_DEFAULT_EPS) {
            default
        } else {
            param(inp.params[2])
        })
    };

    // Domain maps of the raw i16 values.
    type Map<'m> = &'m dyn Fn(i16) -> f64;
    let plain: Map = &|v| v as f64 / 1000.0;
    let prob: Map = &|v| {
        if raw {
            plain(v)
        } else {
            (v as i32).rem_euclid(1001) as f64 / 1000.0
        }
    };
    let nonneg: Map = &|v| if raw { plain(v) } else { plain(v).abs() };
    let count: Map = &|v| {
        if raw {
            plain(v)
        } else {
            (v as i32).rem_euclid(10) as f64
        }
    };
    let pm1: Map = &|v| match (v as i32).rem_euclid(8) {
        _ if raw => plain(v),
        0..=2 => 1.0,
        3..=5 => -1.0,
        6 => 0.0,
        _ => plain(v),
    };
    let bits01: Map = &|v| match (v as i32).rem_euclid(5) {
        _ if raw => plain(v),
        0 | 1 => 0.0,
        2 | 3 => 1.0,
        _ => plain(v),
    };

    // Natural lengths and maps of the float buffers (then off by one where asked).
    let log_input = flag(F_LOG_INPUT);
    let var_len = if flag(F_PER_ROW) {
        rows
    } else if flag(F_SINGLE) {
        1
    } else {
        n
    };
    let layout: Vec<(usize, Map)> = match kind {
        0 => vec![(n, prob), (n, prob)],
        1 => vec![(n, if log_input { plain } else { nonneg }), (n, count)],
        2 => vec![(n, plain), (n, plain), (var_len, nonneg)],
        3 | 4 => vec![(n, plain), (n, pm1)],
        5 | 6 => vec![(n, plain)],
        7 => vec![(n, plain), (n, bits01)],
        8 => vec![(n, plain), (n, plain), (n, pm1)],
        9 => vec![(n, plain), (n, plain), (rows, pm1)],
        _ => vec![(n, plain), (n, plain), (n, plain)],
    };
    let mut bufs: Vec<Vec<T>> = layout
        .iter()
        .enumerate()
        .map(|(k, &(len, map))| {
            (0..off(k as u32, len))
                .map(|i| {
                    let v = inp.pools[k]
                        .get(i)
                        .copied()
                        .unwrap_or((i as i16).wrapping_mul(37).wrapping_add(101 * k as i16));
                    T::from_f64(map(v))
                })
                .collect()
        })
        .collect();
    // Weights: per class (or BCELoss's trailing block), values any sign.
    let weight_len = match kind {
        0 if flag(F_PER_ROW) => cols,
        0 => n,
        _ => cols,
    };
    let mut weight: Option<Vec<T>> = inp.weight.as_ref().map(|w| {
        (0..off(B_WEIGHT, weight_len))
            .map(|i| T::from_f64(plain(w.get(i).copied().unwrap_or(1000))))
            .collect()
    });
    for &(b, at) in inp.nans.iter().take(6) {
        let v = match b % 4 {
            3 => match weight.as_mut() {
                Some(w) => w,
                None => continue,
            },
            b => {
                let k = b as usize % bufs.len();
                &mut bufs[k]
            }
        };
        if !v.is_empty() {
            let i = at as usize % v.len();
            v[i] = T::NAN;
        }
    }
    let mut wild = false;
    for &(b, at, bits) in inp.wild.iter().take(4) {
        let k = b as usize % bufs.len();
        let v = &mut bufs[k];
        if !v.is_empty() {
            let i = at as usize % v.len();
            v[i] = T::from_f64(f64::from_bits(bits));
            wild = true;
        }
    }
    let bufs = bufs;
    let b0 = &bufs[0][..];
    let b1 = bufs.get(1).map_or(&[][..], |v| &v[..]);
    let b2 = bufs.get(2).map_or(&[][..], |v| &v[..]);
    let w = weight.as_deref();
    let weight_finite = w.is_none_or(|w| w.iter().all(|v| v.is_finite()));

    // Class targets: [N] for MultiMarginLoss, [N, C] for MultiLabelMarginLoss.
    let classes_len = if kind == 5 { rows } else { n };
    let t: Vec<i64> = (0..off(B_TARGETS, classes_len))
        .map(|i| {
            let v = inp.classes.get(i).copied().unwrap_or(i as u8);
            let c = cols as i64;
            match v {
                0..=199 => i64::from(v) % c.max(1),
                200..=249 => -1,
                250 => -2,
                251 => c,
                252 => c + 1,
                253 => i64::MAX,
                254 => i64::MIN,
                _ => -100,
            }
        })
        .collect();

    let out_of_unit = |v: &[T]| v.iter().any(|&x| x < T::ZERO || x > T::ONE);
    let rows_of = |len: usize, c: usize| if c == 0 { 0 } else { len / c };
    let not_rows = |len: usize, c: usize| {
        if c == 0 {
            len != 0
        } else {
            !len.is_multiple_of(c)
        }
    };
    let mut bad: Vec<&'static str> = Vec::new();
    let mut push = |cond: bool, name: &'static str| {
        if cond {
            bad.push(name);
        }
    };
    let spec: Spec<T> = match kind {
        0 => {
            push(b1.len() != b0.len(), "target");
            push(
                w.is_some_and(|w| w.is_empty() || !b0.len().is_multiple_of(w.len())),
                "weight",
            );
            push(out_of_unit(b0), "input");
            push(out_of_unit(b1), "target");
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = BCELoss::new(w, red);
                    match g {
                        None => l.forward(b0, b1, o),
                        Some([gi]) => l.forward_backward(b0, b1, o, gi),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: b0.len(),
                grad_lens: vec![b0.len()],
                grad_names: &["grad_input"],
                divisor: b0.len(),
                untouched_on_error: true,
                args_finite: weight_finite,
            }
        }
        1 => {
            push(b1.len() != b0.len(), "target");
            let eps = eps_or(1e-8);
            let full = flag(F_FULL);
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = PoissonNLLLoss::new(log_input, full, eps, red);
                    match g {
                        None => l.forward(b0, b1, o),
                        Some([gi]) => l.forward_backward(b0, b1, o, gi),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: b0.len(),
                grad_lens: vec![b0.len()],
                grad_names: &["grad_input"],
                divisor: b0.len(),
                untouched_on_error: false,
                args_finite: eps.is_finite(),
            }
        }
        2 => {
            let (nn, lv) = (b0.len(), b2.len());
            push(b1.len() != nn, "target");
            push(!(lv == nn || (lv > 0 && nn.is_multiple_of(lv))), "var");
            push(b2.iter().any(|&v| v < T::ZERO), "var");
            let eps = eps_or(1e-6);
            let full = flag(F_FULL);
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = GaussianNLLLoss::new(full, eps, red);
                    match g {
                        None => l.forward(b0, b1, b2, o),
                        Some([gi, gv]) => l.forward_backward(b0, b1, b2, o, gi, gv),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: nn,
                grad_lens: vec![nn, lv],
                grad_names: &["grad_input", "grad_var"],
                divisor: nn,
                untouched_on_error: true,
                args_finite: eps.is_finite(),
            }
        }
        3 => {
            push(b1.len() != b0.len(), "target");
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = SoftMarginLoss::new(red);
                    match g {
                        None => l.forward(b0, b1, o),
                        Some([gi]) => l.forward_backward(b0, b1, o, gi),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: b0.len(),
                grad_lens: vec![b0.len()],
                grad_names: &["grad_input"],
                divisor: b0.len(),
                untouched_on_error: false,
                args_finite: true,
            }
        }
        4 => {
            push(b1.len() != b0.len(), "target");
            let margin = margin_or(1.0);
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = HingeEmbeddingLoss::new(margin, red);
                    match g {
                        None => l.forward(b0, b1, o),
                        Some([gi]) => l.forward_backward(b0, b1, o, gi),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: b0.len(),
                grad_lens: vec![b0.len()],
                grad_names: &["grad_input"],
                divisor: b0.len(),
                untouched_on_error: false,
                args_finite: margin.is_finite(),
            }
        }
        5 => {
            let p: u32 = match inp.p_choice % 8 {
                0..=2 => 1,
                3..=5 => 2,
                6 => 0,
                _ => inp.params[1] as u32,
            };
            let margin = margin_or(1.0);
            push(p != 1 && p != 2, "p");
            push(t.len().checked_mul(cols) != Some(b0.len()), "input");
            push(w.is_some_and(|w| w.len() != cols), "weight");
            push(t.iter().any(|&c| c < 0 || c >= cols as i64), "class");
            let t = &t[..];
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = MultiMarginLoss::new(p, margin, w, red);
                    match g {
                        None => l.forward(b0, t, cols, o),
                        Some([gi]) => l.forward_backward(b0, t, cols, o, gi),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: t.len(),
                grad_lens: vec![b0.len()],
                grad_names: &["grad_input"],
                divisor: t.len(),
                untouched_on_error: false,
                args_finite: margin.is_finite() && weight_finite,
            }
        }
        6 => {
            push(not_rows(b0.len(), cols), "input");
            push(t.len() != b0.len(), "target");
            push(t.iter().any(|&c| c < -1 || c >= cols as i64), "class");
            let t = &t[..];
            let nr = rows_of(b0.len(), cols);
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = MultiLabelMarginLoss::new(red);
                    match g {
                        None => l.forward(b0, t, cols, o),
                        Some([gi]) => l.forward_backward(b0, t, cols, o, gi),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: nr,
                grad_lens: vec![b0.len()],
                grad_names: &["grad_input"],
                divisor: nr,
                untouched_on_error: false,
                args_finite: true,
            }
        }
        7 => {
            push(not_rows(b0.len(), cols), "input");
            push(b1.len() != b0.len(), "target");
            push(w.is_some_and(|w| w.len() != cols), "weight");
            let nr = rows_of(b0.len(), cols);
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = MultiLabelSoftMarginLoss::new(w, red);
                    match g {
                        None => l.forward(b0, b1, cols, o),
                        Some([gi]) => l.forward_backward(b0, b1, cols, o, gi),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: nr,
                grad_lens: vec![b0.len()],
                grad_names: &["grad_input"],
                divisor: nr,
                untouched_on_error: false,
                args_finite: weight_finite,
            }
        }
        8 => {
            push(b1.len() != b0.len(), "input2");
            push(b2.len() != b0.len(), "target");
            let margin = margin_or(0.0);
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = MarginRankingLoss::new(margin, red);
                    match g {
                        None => l.forward(b0, b1, b2, o),
                        Some([g1, g2]) => l.forward_backward(b0, b1, b2, o, g1, g2),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: b0.len(),
                grad_lens: vec![b0.len(), b0.len()],
                grad_names: &["grad_input1", "grad_input2"],
                divisor: b0.len(),
                untouched_on_error: false,
                args_finite: margin.is_finite(),
            }
        }
        9 => {
            push(b2.len().checked_mul(cols) != Some(b0.len()), "input1");
            push(b1.len() != b0.len(), "input2");
            let margin = margin_or(0.0);
            Spec {
                call: Box::new(move |red, o, g| {
                    let l = CosineEmbeddingLoss::new(margin, red);
                    match g {
                        None => l.forward(b0, b1, b2, cols, o),
                        Some([g1, g2]) => l.forward_backward(b0, b1, b2, cols, o, g1, g2),
                        Some(_) => unreachable!(),
                    }
                }),
                bad: Vec::new(),
                out_len: b2.len(),
                grad_lens: vec![b0.len(), b0.len()],
                grad_names: &["grad_input1", "grad_input2"],
                divisor: b2.len(),
                untouched_on_error: false,
                args_finite: margin.is_finite(),
            }
        }
        _ => {
            // 10: TripletMarginLoss; 11: TripletMarginWithDistanceLoss, pairwise or cosine.
            let with_distance = kind == 11;
            let cosine = with_distance && inp.p_choice & 8 != 0;
            let margin = margin_or(1.0);
            let p = T::from_f64(match inp.p_choice % 8 {
                0..=2 => 2.0,
                3 | 4 => 1.0,
                5 => param(inp.params[1]),
                6 => 0.5,
                _ => 3.0,
            });
            let eps = eps_or(if cosine { 1e-8 } else { 1e-6 });
            let swap = flag(F_SWAP);
            push(!(margin > T::ZERO), "margin");
            if cosine {
                push(!(eps >= T::ZERO), "eps");
            } else {
                push(!(p > T::ZERO && p.is_finite()), "p");
            }
            push(not_rows(b0.len(), cols), "anchor");
            push(b1.len() != b0.len(), "positive");
            push(b2.len() != b0.len(), "negative");
            let nr = rows_of(b0.len(), cols);
            // Σ|v|^p and its 1/p-th power stay finite for D ≤ 8, |v| ≤ 98.4 in f32.
            let p_tame = p >= T::from_f64(0.25) && p <= T::from_f64(8.0);
            // The three losses share their call shape; `$make` builds one for a reduction.
            macro_rules! triplet_call {
                ($make:expr) => {
                    Box::new(move |red, o, g| {
                        let l = ($make)(red);
                        match g {
                            None => l.forward(b0, b1, b2, cols, o),
                            Some([ga, gq, gr]) => {
                                l.forward_backward(b0, b1, b2, cols, o, ga, gq, gr)
                            }
                            Some(_) => unreachable!(),
                        }
                    })
                };
            }
            let call: Call<T> = match (with_distance, cosine) {
                (false, _) => triplet_call!(|red| TripletMarginLoss::new(margin, p, eps, swap, red)),
                (true, true) => triplet_call!(|red| TripletMarginWithDistanceLoss::new(
                    CosineDistance::new(eps),
                    margin,
                    swap,
                    red
                )),
                (true, false) => triplet_call!(|red| TripletMarginWithDistanceLoss::new(
                    PairwiseDistance::new(p, eps),
                    margin,
                    swap,
                    red
                )),
            };
            Spec {
                call,
                bad: Vec::new(),
                out_len: nr,
                grad_lens: vec![b0.len(); 3],
                grad_names: &["grad_anchor", "grad_positive", "grad_negative"],
                divisor: nr,
                untouched_on_error: false,
                args_finite: margin.is_finite()
                    && eps.is_finite()
                    && if cosine { eps > T::ZERO } else { p_tame },
            }
        }
    };
    let spec = Spec { bad, ..spec };
    let name = NAMES[kind];

    // 1. The fuzzed call: buffers possibly off by one, the fuzzed reduction.
    let out_len = off(B_OUT, spec.out_len);
    let grad_lens: Vec<usize> = spec
        .grad_lens
        .iter()
        .enumerate()
        .map(|(k, &l)| off(B_GRAD + k as u32, l))
        .collect();
    let mut violations = spec.bad.clone();
    if none && out_len != spec.out_len {
        violations.push("out");
    }
    let mut violations_b = violations.clone();
    for (k, (&got, &want)) in grad_lens.iter().zip(&spec.grad_lens).enumerate() {
        if got != want {
            violations_b.push(spec.grad_names[k]);
        }
    }
    let (r1, r2) = both(
        &spec.call,
        red,
        out_len,
        &grad_lens,
        spec.untouched_on_error,
    );
    check_result(&format!("{name}.forward"), &r1, &violations);
    check_result(
        &format!("{name}.forward_backward"),
        &r2.as_ref().map(|e| e.value).map_err(Clone::clone),
        &violations_b,
    );
    if let Err(Error::ClassOutOfRange {
        index,
        class,
        classes,
    }) = &r1
    {
        assert!(
            t.get(*index) == Some(class) && *classes == cols,
            "ClassOutOfRange {{ {index}, {class}, {classes} }} does not describe {t:?}"
        );
    }
    if !spec.bad.is_empty() {
        return;
    }

    // 2. Valid data and arguments: every reduction with exact buffers is accepted.
    let runs: Vec<Eval<T>> = [Reduction::None, Reduction::Sum, Reduction::Mean]
        .iter()
        .map(|&r| {
            let ol = if r == Reduction::None {
                spec.out_len
            } else {
                0
            };
            match both(&spec.call, r, ol, &spec.grad_lens, spec.untouched_on_error).1 {
                Ok(e) => e,
                Err(e) => panic!("{name} rejected valid input with {r:?}: {e:?}"),
            }
        })
        .collect();
    let (en, es, em) = (&runs[0], &runs[1], &runs[2]);
    let div = spec.divisor;

    // 3. Reductions.
    assert!(
        same(es.value, en.value),
        "Sum {:?} != None's sum {:?}",
        es.value,
        en.value
    );
    let want_mean = es.value / T::from_usize(div);
    assert!(
        same(em.value, want_mean),
        "Mean {:?} != Sum / {div} = {want_mean:?}",
        em.value
    );
    if !wild && en.out.iter().all(|v| v.is_finite()) {
        let naive: f64 = en.out.iter().map(|v| v.to_f64()).sum();
        let mag: f64 = en.out.iter().map(|v| v.to_f64().abs()).sum();
        let tol = if T::BYTES == 4 { 1e-5 } else { 1e-12 };
        assert!(
            (en.value.to_f64() - naive).abs() <= tol * mag,
            "None value {:?} is not the sum of out {naive} (Σ|out| = {mag})",
            en.value
        );
    }
    for (k, ((gn, gs), gm)) in en.grads.iter().zip(&es.grads).zip(&em.grads).enumerate() {
        assert!(
            all_same(gn, gs),
            "Sum gradient {k} differs from None's: {gs:?} vs {gn:?}"
        );
        if div == 0 {
            assert!(
                gn.iter().chain(gs).chain(gm).all(|&v| v == T::ZERO),
                "N = 0 (an empty sum) but gradient {k} is None {gn:?}, Sum {gs:?}, Mean {gm:?}"
            );
            continue;
        }
        let inv = T::ONE / T::from_usize(div);
        // Where a gradient entry is a difference of terms (TripletMarginLoss's u_aq - u_ar,
        // CosineEmbeddingLoss, the target column of MultiMarginLoss, ...), scaling by 1/N
        // before or after the subtraction rounds differently and the result can cancel to
        // almost nothing (u_aq - u_ar is all rounding when a - q and a - r are parallel):
        // compare to rounding of the largest gradient entry, not of the entry.
        let top = en
            .grads
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.to_f64().abs()))
            / div as f64;
        let rel = if T::BYTES == 4 { 1e-5 } else { 1e-12 };
        for (i, (&a, &m)) in gn.iter().zip(gm).enumerate() {
            if a.is_nan() {
                assert!(m.is_nan(), "None gradient {k}[{i}] is NaN, Mean's {m:?}");
            } else if !wild && a.is_finite() {
                assert!(
                    close(m, a * inv, 1e-5) || (m - a * inv).to_f64().abs() <= rel * top,
                    "Mean gradient {k}[{i}] = {m:?}, None's / {div} = {:?}",
                    a * inv
                );
            }
        }
    }

    // 4. NaN propagation and finiteness, per element / row of the None result.
    let bounded = !wild && spec.args_finite;
    let out = &en.out;
    let g = &en.grads;
    let fin = |v: T| v.is_finite();
    match kind {
        0 | 1 | 3 | 4 => {
            let margin = margin_or(1.0);
            let eps = eps_or(1e-8);
            for i in 0..b0.len() {
                let (x, y) = (b0[i], b1[i]);
                let (o, d) = (out[i], g[0][i]);
                if x.is_nan() || (y.is_nan() && kind != 4) {
                    assert!(
                        o.is_nan() && d.is_nan(),
                        "{name}: NaN at {i} (x {x:?}, y {y:?}) gave out {o:?}, grad {d:?}"
                    );
                    continue;
                }
                if kind == 4 && y != T::ONE && y != -T::ONE && x.is_finite() && margin.is_finite() {
                    // Both terms, for any target other than ±1, NaN included.
                    let h = margin - x;
                    let (l, dl) = if h > T::ZERO {
                        (h + x, T::ZERO)
                    } else {
                        (T::ZERO + x, T::ONE)
                    };
                    assert!(
                        o == l && d == dl,
                        "{name}: target {y:?} at {i} (x {x:?}) gave out {o:?}, grad {d:?}, \
                         want both terms {l:?}, {dl:?}"
                    );
                }
                // PoissonNLLLoss on rates: ln(x + eps) of a non-positive is documented NaN/inf.
                let domain = kind != 1 || log_input || x + eps > T::ZERO;
                if bounded && domain {
                    assert!(
                        fin(o) && fin(d),
                        "{name}: finite data at {i} (x {x:?}, y {y:?}) gave out {o:?}, grad {d:?}"
                    );
                }
            }
        }
        2 => {
            let (nn, lv) = (b0.len(), b2.len());
            let block = if lv == 0 { 1 } else { (nn / lv).max(1) };
            let eps = eps_or(1e-6);
            let fine = bounded && eps > T::ZERO;
            for i in 0..nn {
                let j = i / block;
                let (o, gi, gv) = (out[i], g[0][i], g[1][j]);
                if b0[i].is_nan() || b1[i].is_nan() || b2[j].is_nan() {
                    assert!(
                        o.is_nan() && gi.is_nan() && gv.is_nan(),
                        "{name}: NaN at {i} (var {j}) gave out {o:?}, grad_input {gi:?}, \
                         grad_var {gv:?}"
                    );
                } else if fine {
                    assert!(
                        fin(o) && fin(gi),
                        "{name}: finite data at {i} gave out {o:?}, grad_input {gi:?}"
                    );
                }
            }
            for j in 0..lv {
                let span = j * block..((j + 1) * block).min(nn);
                let clean =
                    !b2[j].is_nan() && span.clone().all(|i| !b0[i].is_nan() && !b1[i].is_nan());
                if fine && clean {
                    assert!(
                        fin(g[1][j]),
                        "{name}: finite data gave grad_var[{j}] {:?}",
                        g[1][j]
                    );
                }
            }
        }
        5 => {
            let margin = margin_or(1.0);
            for (r, &tr) in t.iter().enumerate() {
                let tr = tr as usize;
                let span = r * cols..(r + 1) * cols;
                let (row, gr) = (&b0[span.clone()], &g[0][span]);
                if cols == 1 {
                    // Σ over i != y is empty: 0 whatever the row holds (PyTorch alike).
                    assert!(
                        out[r] == T::ZERO && gr[0] == T::ZERO,
                        "{name}: C = 1, row {r} gave out {:?}, grad {gr:?}",
                        out[r]
                    );
                    continue;
                }
                if row[tr].is_nan() || margin.is_nan() {
                    assert!(
                        out[r].is_nan() && gr.iter().all(|v| v.is_nan()),
                        "{name}: NaN target score / margin in row {r} gave out {:?}, grad {gr:?}",
                        out[r]
                    );
                } else if row.iter().any(|v| v.is_nan()) {
                    assert!(
                        out[r].is_nan() && gr[tr].is_nan(),
                        "{name}: NaN in row {r} gave out {:?}, grad {gr:?}",
                        out[r]
                    );
                    for (i, &x) in row.iter().enumerate() {
                        if x.is_nan() {
                            assert!(gr[i].is_nan(), "{name}: NaN at ({r}, {i}) gave grad {gr:?}");
                        }
                    }
                } else if bounded {
                    assert!(
                        fin(out[r]) && gr.iter().all(|&v| fin(v)),
                        "{name}: finite row {r} gave out {:?}, grad {gr:?}",
                        out[r]
                    );
                }
            }
        }
        6 => {
            for r in 0..spec.out_len {
                let span = r * cols..(r + 1) * cols;
                let (row, tr, gr) = (&b0[span.clone()], &t[span.clone()], &g[0][span]);
                let len = tr.iter().position(|&c| c < 0).unwrap_or(cols);
                let prefix = &tr[..len];
                let is_target = |i: usize| prefix.iter().any(|&c| c as usize == i);
                let others: Vec<usize> = (0..cols).filter(|&i| !is_target(i)).collect();
                if prefix.is_empty() || others.is_empty() {
                    assert!(
                        out[r] == T::ZERO && gr.iter().all(|&v| v == T::ZERO),
                        "{name}: row {r} without terms (targets {tr:?}) gave out {:?}, grad {gr:?}",
                        out[r]
                    );
                    continue;
                }
                let nan_other = others.iter().any(|&i| row[i].is_nan());
                let nan_target = prefix.iter().any(|&j| row[j as usize].is_nan());
                if nan_other || nan_target {
                    assert!(
                        out[r].is_nan(),
                        "{name}: NaN in row {r} gave out {:?}",
                        out[r]
                    );
                    for &i in &others {
                        if nan_target || row[i].is_nan() {
                            assert!(
                                gr[i].is_nan(),
                                "{name}: row {r} grad[{i}] {:?} (targets {tr:?})",
                                gr[i]
                            );
                        }
                    }
                    for &j in prefix {
                        let j = j as usize;
                        if nan_other || row[j].is_nan() {
                            assert!(
                                gr[j].is_nan(),
                                "{name}: row {r} grad[{j}] {:?} (targets {tr:?})",
                                gr[j]
                            );
                        }
                    }
                } else if bounded {
                    assert!(
                        fin(out[r]) && gr.iter().all(|&v| fin(v)),
                        "{name}: finite row {r} gave out {:?}, grad {gr:?}",
                        out[r]
                    );
                }
            }
        }
        7 => {
            for r in 0..spec.out_len {
                let mut row_nan = false;
                for i in r * cols..(r + 1) * cols {
                    if b0[i].is_nan() || b1[i].is_nan() {
                        row_nan = true;
                        assert!(
                            g[0][i].is_nan(),
                            "{name}: NaN at {i} gave grad {:?}",
                            g[0][i]
                        );
                    }
                }
                let gr = &g[0][r * cols..(r + 1) * cols];
                if row_nan {
                    assert!(
                        out[r].is_nan(),
                        "{name}: NaN in row {r} gave out {:?}",
                        out[r]
                    );
                } else if bounded {
                    assert!(
                        fin(out[r]) && gr.iter().all(|&v| fin(v)),
                        "{name}: finite row {r} gave out {:?}, grad {gr:?}",
                        out[r]
                    );
                }
            }
        }
        8 => {
            for i in 0..b0.len() {
                let (o, d1, d2) = (out[i], g[0][i], g[1][i]);
                if b0[i].is_nan() || b1[i].is_nan() || b2[i].is_nan() {
                    assert!(
                        o.is_nan() && d1.is_nan() && d2.is_nan(),
                        "{name}: NaN at {i} gave out {o:?}, grads {d1:?}, {d2:?}"
                    );
                } else if bounded {
                    assert!(
                        fin(o) && fin(d1) && fin(d2),
                        "{name}: finite data at {i} gave out {o:?}, grads {d1:?}, {d2:?}"
                    );
                }
            }
        }
        9 => {
            for (r, &y) in b2.iter().enumerate() {
                let span = r * cols..(r + 1) * cols;
                let (g1, g2) = (&g[0][span.clone()], &g[1][span.clone()]);
                let grads = || g1.iter().chain(g2);
                let row_nan = b0[span.clone()].iter().chain(&b1[span]).any(|v| v.is_nan());
                if y.is_nan() || ((y == T::ONE || y == -T::ONE) && row_nan) {
                    assert!(
                        out[r].is_nan() && grads().all(|v| v.is_nan()),
                        "{name}: NaN in row {r} (target {y:?}) gave out {:?}, grads {g1:?} {g2:?}",
                        out[r]
                    );
                } else if y != T::ONE && y != -T::ONE {
                    // "0 for any other (non-NaN) target": NaN inputs included.
                    assert!(
                        out[r] == T::ZERO && grads().all(|&v| v == T::ZERO),
                        "{name}: target {y:?} in row {r} gave out {:?}, grads {g1:?} {g2:?}",
                        out[r]
                    );
                } else if bounded {
                    assert!(
                        fin(out[r]) && grads().all(|&v| fin(v)),
                        "{name}: finite row {r} gave out {:?}, grads {g1:?} {g2:?}",
                        out[r]
                    );
                }
            }
        }
        _ => {
            for r in 0..spec.out_len {
                let span = r * cols..(r + 1) * cols;
                let row_nan = [b0, b1, b2]
                    .iter()
                    .any(|b| b[span.clone()].iter().any(|v| v.is_nan()));
                let grads = || g.iter().flat_map(|gk| gk[span.clone()].iter());
                if row_nan {
                    assert!(
                        out[r].is_nan() && grads().all(|v| v.is_nan()),
                        "{name}: NaN in row {r} gave out {:?}, grads {:?}",
                        out[r],
                        grads().collect::<Vec<_>>()
                    );
                } else if bounded {
                    assert!(
                        fin(out[r]) && grads().all(|&v| fin(v)),
                        "{name}: finite row {r} gave out {:?}, grads {:?}",
                        out[r],
                        grads().collect::<Vec<_>>()
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
