//! Adam's element formula ([`AdamScalars`]) hand-vectorized for AVX2 + FMA, bitwise equal to
//! descent-core's [`AdamStep::apply`] with one IEEE division per element instead of two.
//!
//! The formula has two f32 divisions and a square root per element, and on the divider those,
//! not memory, bound an auto-vectorized loop (about 3 cycles per element on Zen 3). One of the
//! divisions is by a per-step constant, `s / c` with `c = √(1 − β₂ᵗ)`; this kernel computes it
//! as `RN32(s · rc)` in f64, with `rc = 1/c` rounded to f64, which is provably the correctly
//! rounded f32 quotient:
//!
//! * **No quotient of two f32 values lies within 2⁻⁴⁹ (relative) of an f32 rounding boundary.**
//!   Let `a = A·2^ea`, `b = B·2^eb` (24-bit integers `A`, `B`) and `a/b ∈ [2ᵏ, 2ᵏ⁺¹)`. A
//!   boundary (the midpoint of two neighbouring f32 values) is `μ = (2M+1)·2^(k−24)`, so
//!   `b·μ` is a multiple of `2^(eb+k−24)` and `a − b·μ` is a non-zero multiple of
//!   `2^min(ea, eb+k−24)` (non-zero: `b·μ` has an odd factor of at least 25 bits, `a` at most
//!   24). With `|b·μ| < 2^(eb+k+25)` the relative distance `|a/b − μ|/μ` is at least 2⁻⁴⁹
//!   (2⁻⁴⁸ when the quotient is subnormal in f32, where boundaries are sparser).
//! * `s · rc` carries two f64 roundings, a relative error below 2⁻⁵², so no boundary lies
//!   between it and the exact quotient and `vcvtpd2ps` (round to nearest even) gives the same
//!   f32 as an exact division. Zero, infinity and NaN pass through the product unchanged.
//!
//! The division `(−step_size · m) / denom` stays a `vdivps`: an f64 Newton reciprocal with a
//! residual correction is just as exact, but was measured 1.8x slower on Zen 3 than the
//! divider (conversions and Newton steps cost more than the division they replace).
//! The rest (lerp, `v`, AMSGrad's max, the update) is the same sequence of f32 operations as
//! the core loop, without FMA contraction. Tails shorter than a vector run the core's scalar
//! loop. Tested bitwise against [`AdamStep::apply`] on random and special values, and the
//! constant division next to rounding boundaries.
//!
//! (Compiled on x86-64 only: `fused/mod.rs` declares the module under that `cfg`.)

use core::arch::x86_64::*;

use descent_core::optim::{AdamScalars, AdamStep};

const LANES: usize = 8;

/// `step.apply(p, g, m, v, vmax)` with the AVX2 kernel (slices of equal length).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn apply(
    step: &AdamStep<f32>,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vmax: Option<&mut [f32]>,
) {
    let k = step.scalars();
    let c = k.bias_correction2_sqrt;
    if !(c.is_normal() && c > 0.0) {
        // Outside the division-by-constant argument (cannot happen for a validated β₂).
        step.apply(p, g, m, v, vmax);
        return;
    }
    let n = p.len().min(g.len()).min(m.len()).min(v.len());
    let n = vmax.as_ref().map_or(n, |x| n.min(x.len()));
    let body = n - n % LANES;
    let (p, p_tail) = p[..n].split_at_mut(body);
    let (g, g_tail) = g[..n].split_at(body);
    let (m, m_tail) = m[..n].split_at_mut(body);
    let (v, v_tail) = v[..n].split_at_mut(body);
    let bufs = Bufs {
        p: p.as_mut_ptr(),
        g: g.as_ptr(),
        m: m.as_mut_ptr(),
        v: v.as_mut_ptr(),
    };
    // SAFETY (all arms): the four body slices have `body` elements (a multiple of LANES), so
    // do the vmax body slices below; AVX2 and FMA are guaranteed by this function's contract.
    match vmax {
        Some(x) => {
            let (x, x_tail) = x[..n].split_at_mut(body);
            let xp = x.as_mut_ptr();
            match (k.l2, k.lerp_small) {
                (false, false) => unsafe { run::<false, false, true>(&k, bufs, xp, body) },
                (false, true) => unsafe { run::<false, true, true>(&k, bufs, xp, body) },
                (true, false) => unsafe { run::<true, false, true>(&k, bufs, xp, body) },
                (true, true) => unsafe { run::<true, true, true>(&k, bufs, xp, body) },
            }
            step.apply(p_tail, g_tail, m_tail, v_tail, Some(x_tail));
        }
        None => {
            let xp = core::ptr::null_mut();
            match (k.l2, k.lerp_small) {
                (false, false) => unsafe { run::<false, false, false>(&k, bufs, xp, body) },
                (false, true) => unsafe { run::<false, true, false>(&k, bufs, xp, body) },
                (true, false) => unsafe { run::<true, false, false>(&k, bufs, xp, body) },
                (true, true) => unsafe { run::<true, true, false>(&k, bufs, xp, body) },
            }
            step.apply(p_tail, g_tail, m_tail, v_tail, None);
        }
    }
}

#[derive(Clone, Copy)]
struct Bufs {
    p: *mut f32,
    g: *const f32,
    m: *mut f32,
    v: *mut f32,
}

/// The vector loop over `n` elements (a multiple of [`LANES`]); `vmax` is read and written
/// only when `AMS`.
///
/// # Safety
/// AVX2 + FMA; `b.p`, `b.g`, `b.m`, `b.v` (and `vmax` when `AMS`) valid for `n` elements,
/// the mutable ones not aliasing each other or `b.g`.
#[target_feature(enable = "avx2,fma")]
unsafe fn run<const L2: bool, const SMALL: bool, const AMS: bool>(
    k: &AdamScalars<f32>,
    b: Bufs,
    vmax: *mut f32,
    n: usize,
) {
    let sign = _mm256_set1_ps(k.sign);
    let wd = _mm256_set1_ps(k.weight_decay);
    let decay = _mm256_set1_ps(k.decay);
    let w = _mm256_set1_ps(k.lerp_weight);
    let omw = _mm256_set1_ps(k.lerp_one_minus_weight);
    let b2 = _mm256_set1_ps(k.beta2);
    let c2 = _mm256_set1_ps(k.one_minus_beta2);
    let eps = _mm256_set1_ps(k.eps);
    let nss = _mm256_set1_ps(k.neg_step_size);
    let rc = _mm256_set1_pd(1.0 / f64::from(k.bias_correction2_sqrt));
    let mut i = 0;
    while i < n {
        // SAFETY: i + LANES <= n and the pointers are valid for n elements (contract).
        unsafe {
            let pv = _mm256_loadu_ps(b.p.add(i));
            let gv = _mm256_loadu_ps(b.g.add(i));
            let mv = _mm256_loadu_ps(b.m.add(i));
            let vv = _mm256_loadu_ps(b.v.add(i));
            let gs = _mm256_mul_ps(gv, sign);
            let g2 = _mm256_add_ps(gs, _mm256_mul_ps(wd, pv));
            let pv = _mm256_mul_ps(pv, decay);
            let gg = if L2 { g2 } else { gs };
            let d = _mm256_sub_ps(gg, mv);
            let mn = if SMALL {
                _mm256_add_ps(mv, _mm256_mul_ps(w, d))
            } else {
                _mm256_sub_ps(gg, _mm256_mul_ps(d, omw))
            };
            let vn = _mm256_add_ps(
                _mm256_mul_ps(vv, b2),
                _mm256_mul_ps(_mm256_mul_ps(c2, gg), gg),
            );
            _mm256_storeu_ps(b.m.add(i), mn);
            _mm256_storeu_ps(b.v.add(i), vn);
            let vs = if AMS {
                let xv = _mm256_loadu_ps(vmax.add(i));
                let x = maximum(xv, vn);
                _mm256_storeu_ps(vmax.add(i), x);
                x
            } else {
                vn
            };
            let s = _mm256_sqrt_ps(vs);
            let denom = _mm256_add_ps(mul_f64(s, rc), eps);
            let a = _mm256_mul_ps(nss, mn);
            let q = _mm256_div_ps(a, denom);
            _mm256_storeu_ps(b.p.add(i), _mm256_add_ps(pv, q));
        }
        i += LANES;
    }
}

/// `max(a, b)` as the core's `maximum`: `a >= b ? a : b`, and the canonical NaN if either is
/// NaN.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn maximum(a: __m256, b: __m256) -> __m256 {
    let ge = _mm256_cmp_ps::<_CMP_GE_OQ>(a, b);
    let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(a, b);
    let r = _mm256_blendv_ps(b, a, ge);
    _mm256_blendv_ps(r, _mm256_set1_ps(f32::NAN), nan)
}

/// The two f64 halves of an f32 vector.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn widen(x: __m256) -> (__m256d, __m256d) {
    (
        _mm256_cvtps_pd(_mm256_castps256_ps128(x)),
        _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x)),
    )
}

/// Two f64 halves rounded (to nearest even) back into one f32 vector.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn narrow(lo: __m256d, hi: __m256d) -> __m256 {
    _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo))
}

/// `s / c` correctly rounded, as `RN32(s · rc)` with `rc = RN64(1/c)` (module docs).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn mul_f64(s: __m256, rc: __m256d) -> __m256 {
    let (lo, hi) = widen(s);
    narrow(_mm256_mul_pd(lo, rc), _mm256_mul_pd(hi, rc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn have() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    #[target_feature(enable = "avx2,fma")]
    fn cdiv8(s: [f32; 8], c: f32) -> [f32; 8] {
        // SAFETY: `s` holds 8 floats, one vector.
        let s = unsafe { _mm256_loadu_ps(s.as_ptr()) };
        let mut out = [0.0f32; 8];
        let r = mul_f64(s, _mm256_set1_pd(1.0 / f64::from(c)));
        // SAFETY: `out` holds 8 floats, one vector.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), r) };
        out
    }

    /// xorshift over all bit patterns of positive finite f32 (and some of every sign).
    fn bits(s: &mut u64) -> u32 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 32) as u32
    }

    fn same(x: f32, y: f32) -> bool {
        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
    }

    #[test]
    fn division_by_the_bias_correction_is_correctly_rounded() {
        if !have() {
            return;
        }
        let mut s = 11u64;
        // The constants a real run uses (β₂ = 0.999 and others, steps 1..) and random ones.
        let mut cs: Vec<f32> = (1..2000u32)
            .map(|t| (1.0 - 0.999f64.powi(t as i32)).sqrt() as f32)
            .collect();
        cs.extend((0..500).map(|_| f32::from_bits(0x3000_0000 | (bits(&mut s) & 0x0fff_ffff))));
        for &c in &cs {
            for _ in 0..200 {
                let mut x = [0.0f32; 8];
                for xj in &mut x {
                    *xj = f32::from_bits(bits(&mut s) & 0x7fff_ffff);
                }
                // SAFETY: `have()` checked AVX2 and FMA.
                let r = unsafe { cdiv8(x, c) };
                for j in 0..8 {
                    assert!(same(r[j], x[j] / c), "{:e} / {:e}", x[j], c);
                }
            }
        }
    }

    #[test]
    fn constant_division_of_special_values() {
        if !have() {
            return;
        }
        let x = [
            0.0,
            f32::from_bits(1),
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
            1.0,
            -0.0,
        ];
        for c in [1.0f32, 0.5, 3e-5, 0.999_999_9, f32::MIN_POSITIVE, 1e-30] {
            // SAFETY: `have()` checked AVX2 and FMA.
            let r = unsafe { cdiv8(x, c) };
            for j in 0..8 {
                assert!(same(r[j], x[j] / c), "{:e} / {c:e}", x[j]);
            }
        }
    }

    /// Quotients within about 2⁻⁴⁸ (relative) of an f32 rounding boundary, the hardest there
    /// are: for odd `D`, `Q = ±D⁻¹ mod 2²⁴ + 2²⁴` makes `Q·D = A·2²⁴ ± 1`, so `A / D` lies
    /// `1/(2²⁴ D)` from the midpoint `Q / 2²⁴`.
    fn hard_pairs(count: usize) -> Vec<(f32, f32)> {
        let mut s = 5u64;
        let mut out = Vec::new();
        while out.len() < count {
            let d = u64::from(bits(&mut s) & 0x7f_ffff | 0x80_0001);
            let mut inv = d; // Newton's iteration for the inverse modulo 2^64
            for _ in 0..6 {
                inv = inv.wrapping_mul(2u64.wrapping_sub(d.wrapping_mul(inv)));
            }
            for sign in [1i64, -1] {
                let q = ((inv.wrapping_mul(sign as u64)) & 0xff_ffff) | 0x100_0000;
                let qd = q * d;
                let r = (qd as i64 - sign) as u64;
                if r.is_multiple_of(1 << 24) && (r >> 24) < (1 << 24) {
                    let a = (r >> 24) as f32;
                    let e = (bits(&mut s) % 60) as i32 - 30;
                    out.push((a * 2f32.powi(e), d as f32 * 2f32.powi(-e / 2)));
                }
            }
        }
        out
    }

    #[test]
    fn constant_division_next_to_rounding_boundaries() {
        if !have() {
            return;
        }
        let pairs = hard_pairs(50_000);
        for &(a, d) in &pairs {
            let x = [a, a.next_up(), a.next_down(), a * 0.5, a * 2.0, a, a, a];
            // SAFETY: `have()` checked AVX2 and FMA.
            let r = unsafe { cdiv8(x, d) };
            for j in 0..8 {
                assert!(same(r[j], x[j] / d), "{:e} / {d:e}", x[j]);
            }
        }
    }

    /// The whole kernel against the core loop, bitwise, over configurations (L2 / AdamW /
    /// none, both lerp forms, AMSGrad, maximize, eps = 0) and values with zeros, huge and
    /// tiny magnitudes and NaN, on lengths that leave every tail.
    #[test]
    fn kernel_is_bitwise_core_apply() {
        if !have() {
            return;
        }
        let mut s = 3u64;
        let val = |s: &mut u64| -> f32 {
            let b = bits(s);
            match b % 23 {
                0 => 0.0,
                1 => -0.0,
                2 => f32::from_bits(b & 0x807f_ffff),
                3 => 1e30,
                4 if b.is_multiple_of(3) => f32::NAN,
                _ => ((b >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * 3.0,
            }
        };
        for case in 0..96u32 {
            let n = [0usize, 1, 7, 8, 9, 31, 64, 203][case as usize % 8];
            let amsgrad = case % 2 == 0;
            let maximize = case % 3 == 0;
            let decoupled = case % 5 == 0;
            let wd = if case % 4 < 2 { 0.0 } else { 0.05 };
            let b1 = if case % 7 == 0 { 0.3 } else { 0.9 };
            let eps = if case % 6 == 0 { 0.0 } else { 1e-8 };
            let g: Vec<f32> = (0..n).map(|_| val(&mut s)).collect();
            let p0: Vec<f32> = (0..n).map(|_| val(&mut s)).collect();
            let m0: Vec<f32> = (0..n).map(|_| val(&mut s) * 0.1).collect();
            let v0: Vec<f32> = (0..n).map(|_| val(&mut s).abs() * 0.01).collect();
            let x0: Vec<f32> = (0..n).map(|_| val(&mut s).abs() * 0.01).collect();
            for t in [1u64, 2, 10, 1000] {
                let step = AdamStep::<f32>::new(t, 1e-3, wd, (b1, 0.999), eps, maximize, decoupled);
                let (mut pa, mut ma, mut va, mut xa) =
                    (p0.clone(), m0.clone(), v0.clone(), x0.clone());
                let (mut pb, mut mb, mut vb, mut xb) =
                    (p0.clone(), m0.clone(), v0.clone(), x0.clone());
                step.apply(
                    &mut pa,
                    &g,
                    &mut ma,
                    &mut va,
                    amsgrad.then_some(&mut xa[..]),
                );
                // SAFETY: `have()` checked AVX2 and FMA.
                unsafe {
                    apply(
                        &step,
                        &mut pb,
                        &g,
                        &mut mb,
                        &mut vb,
                        amsgrad.then_some(&mut xb[..]),
                    )
                };
                for (name, x, y) in [
                    ("p", &pa, &pb),
                    ("m", &ma, &mb),
                    ("v", &va, &vb),
                    ("vmax", &xa, &xb),
                ] {
                    for (i, (a, b)) in x.iter().zip(y.iter()).enumerate() {
                        assert_eq!(
                            a.to_bits(),
                            b.to_bits(),
                            "case {case} t {t} {name}[{i}]: {a:e} vs {b:e}"
                        );
                    }
                }
            }
        }
    }
}
