//! `CTCLoss` on arbitrary batches: time steps, batch size, classes and target lengths small
//! but arbitrary (0 included), input and target lengths in and out of range, labels equal to
//! the blank or outside `0..C`, arbitrary blank, NaN and infinite log-probabilities, scratch
//! and output buffers of any length, both target layouts, every reduction, in f32 and f64.
//!
//! Properties (as documented on `CTCLoss`):
//!
//! * no panic; an error is one of `InvalidArgument`, `ShapeMismatch`, `ClassOutOfRange`,
//!   `BufferTooSmall`; a call with the documented buffer lengths and valid arguments succeeds;
//! * `forward` gives the bits of `forward_backward`'s value and `out` (it needs less scratch, so
//!   it succeeds whenever the latter does); a second `forward_backward` into NaN-filled
//!   buffers gives the same bits (every output written);
//! * the padded and the concatenated layouts of the same labels give the same bits;
//! * `Sum` returns the `None` value and the `None` gradient bit for bit;
//! * gradient rows at `t >= T_n` are exactly 0; with finite log-probabilities of magnitude at
//!   most 60 every loss is finite or `+inf` (never NaN), and with `zero_infinity` every loss
//!   and gradient is finite.
#![no_main]

use arbitrary::Arbitrary;
use descent_core::loss::{CTCLoss, CTCTargets, Reduction};
use descent_core::{Error, Float};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    use_f64: bool,
    /// T, N, C (mod 7, 5, 6; C + 1), S (mod 6).
    dims: [u8; 4],
    blank: i8,
    reduction: u8,
    zero_infinity: bool,
    /// Log-probabilities /256 (raw, or normalized by log-softmax when `normalize`).
    values: Vec<i16>,
    normalize: bool,
    /// NaN (`1`) or -inf (`2`) at a position.
    specials: Vec<(u16, u8)>,
    /// Per sample: input length, target length (mod T + 2, S + 2: one past each bound; 255 is
    /// -1).
    lengths: Vec<(u8, u8)>,
    /// Labels (mod C + 1: one past the classes; 255 is -1).
    labels: Vec<u8>,
    /// Scratch shortened by this much (0: exactly `scratch_len`).
    scratch_short: u8,
}

fn same<T: Float>(a: T, b: T) -> bool {
    a.to_f64().to_bits() == b.to_f64().to_bits() || (a.is_nan() && b.is_nan())
}

fn all_same<T: Float>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| same(x, y))
}

struct Run<T> {
    value: T,
    out: Vec<T>,
    grad: Vec<T>,
}

fn run<T: Float>(inp: &Input) {
    let time = inp.dims[0] as usize % 7;
    let n = inp.dims[1] as usize % 5;
    let c = inp.dims[2] as usize % 6 + 1;
    let s = inp.dims[3] as usize % 6;
    let len = time * n * c;
    let mut lp: Vec<T> = (0..len)
        .map(|i| T::from_f64(inp.values.get(i).copied().unwrap_or(i as i16 * 37) as f64 / 256.0))
        .collect();
    if inp.normalize {
        for row in lp.chunks_mut(c) {
            let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.to_f64()));
            let z = row.iter().map(|v| (v.to_f64() - m).exp()).sum::<f64>().ln() + m;
            row.iter_mut()
                .for_each(|v| *v = T::from_f64(v.to_f64() - z));
        }
    }
    // Bounded: e^x (in the gradient) and the sums of a few such terms stay finite in f32.
    let mut finite = lp.iter().all(|v| v.to_f64().abs() <= 60.0);
    for &(pos, kind) in &inp.specials {
        if len > 0 && kind % 3 != 0 {
            lp[pos as usize % len] = if kind % 3 == 1 {
                T::from_f64(f64::NAN)
            } else {
                T::from_f64(f64::NEG_INFINITY)
            };
            finite = false;
        }
    }
    let (mut il, mut tl) = (Vec::new(), Vec::new());
    for k in 0..n {
        let (a, b) = inp.lengths.get(k).copied().unwrap_or((time as u8, 1));
        let wrap = |v: u8, m: usize| {
            if v == 255 {
                -1
            } else {
                (v as usize % m) as i64
            }
        };
        il.push(wrap(a, time + 2));
        tl.push(wrap(b, s + 2));
    }
    let label = |i: usize| -> i64 {
        match inp.labels.get(i).copied().unwrap_or(i as u8) {
            255 => -1,
            v => (v as usize % (c + 1)) as i64,
        }
    };
    let blank = i64::from(inp.blank) % (c as i64 + 2);
    let padded: Vec<i64> = (0..n * s).map(label).collect();
    // The concatenated layout of the same labels (while the lengths are usable).
    let concat: Option<Vec<i64>> = tl
        .iter()
        .enumerate()
        .try_fold(Vec::new(), |mut v, (k, &l)| {
            if l < 0 || l as usize > s {
                return None;
            }
            v.extend_from_slice(&padded[k * s..k * s + l as usize]);
            Some(v)
        });
    let red = match inp.reduction % 3 {
        0 => Reduction::None,
        1 => Reduction::Sum,
        _ => Reduction::Mean,
    };
    let loss = CTCLoss::new(blank, red, inp.zero_infinity);
    let full = CTCLoss::scratch_len(time, s);
    let scratch_n = full.saturating_sub(inp.scratch_short as usize);
    let out_n = if red == Reduction::None { n } else { 0 };

    let call = |l: &CTCLoss, t: CTCTargets<'_>, fill: T, backward: bool| -> Result<Run<T>, Error> {
        let mut scratch = vec![fill; scratch_n];
        let mut out = vec![fill; out_n];
        let mut grad = vec![fill; len];
        let value = if backward {
            l.forward_backward(&lp, t, &il, &tl, c, &mut scratch, &mut out, &mut grad)?
        } else {
            l.forward(&lp, t, &il, &tl, c, &mut scratch, &mut out)?
        };
        Ok(Run { value, out, grad })
    };
    let nan = T::from_f64(f64::NAN);
    let pad = CTCTargets::Padded(&padded);
    let fb = call(&loss, pad, T::ZERO, true);
    let valid_args = (0..c as i64).contains(&blank)
        && il.iter().all(|&x| x >= 0 && x as usize <= time)
        && tl.iter().all(|&x| x >= 0 && x as usize <= s)
        && (0..n).all(|k| {
            (0..tl[k].max(0) as usize).all(|j| {
                let y = padded[k * s + j];
                (0..c as i64).contains(&y) && y != blank
            })
        });
    let r = match fb {
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::InvalidArgument { .. }
                        | Error::ShapeMismatch { .. }
                        | Error::ClassOutOfRange { .. }
                        | Error::BufferTooSmall { .. }
                ),
                "unexpected error {e:?}"
            );
            assert!(
                !(valid_args && inp.scratch_short == 0 && (n > 0 || len == 0)),
                "a valid call failed: {e:?}"
            );
            return;
        }
        Ok(r) => r,
    };
    assert!(valid_args, "invalid arguments accepted");
    // forward: the same bits.
    let f = call(&loss, pad, T::ZERO, false).expect("forward fails where forward_backward passed");
    assert!(
        same(f.value, r.value) && all_same(&f.out, &r.out),
        "forward differs"
    );
    // Every output written.
    let again = call(&loss, pad, nan, true).expect("second call");
    assert!(same(again.value, r.value) && all_same(&again.out, &r.out));
    assert!(
        all_same(&again.grad, &r.grad),
        "a gradient entry was not written"
    );
    // Concatenated layout: the same bits.
    if let Some(cat) = &concat {
        let k = call(&loss, CTCTargets::Concatenated(cat), T::ZERO, true).expect("concatenated");
        assert!(same(k.value, r.value) && all_same(&k.out, &r.out) && all_same(&k.grad, &r.grad));
    }
    // Sum returns None's value and gradient.
    if red != Reduction::Mean {
        let other = CTCLoss::new(
            blank,
            if red == Reduction::Sum {
                Reduction::None
            } else {
                Reduction::Sum
            },
            inp.zero_infinity,
        );
        let mut scratch = vec![T::ZERO; scratch_n];
        let mut out = vec![T::ZERO; if red == Reduction::Sum { n } else { 0 }];
        let mut grad = vec![T::ZERO; len];
        let v = other
            .forward_backward(&lp, pad, &il, &tl, c, &mut scratch, &mut out, &mut grad)
            .expect("other reduction");
        assert!(
            same(v, r.value),
            "None and Sum values differ: {v:?} {:?}",
            r.value
        );
        assert!(all_same(&grad, &r.grad), "None and Sum gradients differ");
    }
    // Rows past each input length are 0.
    for t in 0..time {
        for (k, &l) in il.iter().enumerate() {
            if t as i64 >= l {
                let row = &r.grad[(t * n + k) * c..(t * n + k + 1) * c];
                assert!(row.iter().all(|&g| g == T::ZERO), "t={t} n={k}: {row:?}");
            }
        }
    }
    if finite && red == Reduction::None {
        for (k, &o) in r.out.iter().enumerate() {
            assert!(
                !o.is_nan(),
                "finite log-probabilities gave a NaN loss for sample {k}"
            );
            if inp.zero_infinity {
                assert!(o.is_finite(), "zero_infinity left {o:?} for sample {k}");
            }
        }
        if inp.zero_infinity {
            assert!(
                r.grad.iter().all(|g| g.is_finite()),
                "zero_infinity left a non-finite gradient"
            );
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
