//! The one float trait the crate is generic over, implemented for `f32` and `f64` with `libm`
//! so it works without `std`.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, Sub, SubAssign};

/// A real floating-point scalar: `f32` or `f64`.
///
/// Every transcendental goes through `libm`, so results are identical with and without `std`
/// and across targets.
pub trait Float:
    Copy
    + Clone
    + Debug
    + Display
    + Default
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Rem<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Send
    + Sync
    + 'static
{
    /// 0
    const ZERO: Self;
    /// 1
    const ONE: Self;
    /// 2
    const TWO: Self;
    /// 1/2
    const HALF: Self;
    /// +infinity
    const INFINITY: Self;
    /// -infinity
    const NEG_INFINITY: Self;
    /// Machine epsilon.
    const EPSILON: Self;
    /// Largest finite value.
    const MAX: Self;
    /// Size in bytes (4 or 8), used by the byte formats.
    const BYTES: usize;
    /// Not a number.
    const NAN: Self;
    /// π
    const PI: Self;

    /// Convert from `f64` (rounding to nearest for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Convert to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Convert from `usize` (rounded).
    fn from_usize(x: usize) -> Self {
        Self::from_f64(x as f64)
    }
    /// e^x
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// ln(1 + x), accurate near 0.
    fn ln_1p(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// The error function `erf x = (2/√π) ∫₀ˣ e^{−t²} dt` (libm's `erff` / `erf`).
    fn erf(self) -> Self;
    /// `e^x − 1`, accurate near 0 (libm's `expm1f` / `expm1`).
    fn exp_m1(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// x^y
    fn powf(self, y: Self) -> Self;
    /// x^n for an integer exponent.
    fn powi(self, n: i32) -> Self;
    /// Largest integer not greater than x.
    fn floor(self) -> Self;
    /// IEEE maximum (NaN-ignoring, like `f32::max`).
    fn max(self, other: Self) -> Self;
    /// IEEE minimum (NaN-ignoring, like `f32::min`).
    fn min(self, other: Self) -> Self;
    /// True for NaN.
    fn is_nan(self) -> bool;
    /// True when neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// Fused multiply-add `self * a + b` (one rounding).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// The nearest `bfloat16` value (8 significant bits, `f32`'s exponent range), as PyTorch's
    /// `x.to(torch.bfloat16)`: round to nearest, ties to even, overflow to ±∞, NaN stays NaN.
    /// An `f64` is rounded to `f32` first, as PyTorch converts it (so it can round twice).
    fn round_bf16(self) -> Self;
    /// Sign: 1 for x > 0, -1 for x < 0, 0 for 0, NaN for NaN (PyTorch's `sign`).
    fn signum0(self) -> Self {
        if self > Self::ZERO {
            Self::ONE
        } else if self < Self::ZERO {
            -Self::ONE
        } else {
            self // 0, -0 or NaN
        }
    }
    /// Write little-endian bytes into `out` (`out.len() == Self::BYTES`).
    fn write_le(self, out: &mut [u8]);
    /// Read little-endian bytes (`b.len() == Self::BYTES`).
    fn read_le(b: &[u8]) -> Self;
}

macro_rules! impl_float {
    ($t:ty, $exp:path, $ln:path, $ln1p:path, $sqrt:path, $tanh:path, $cos:path, $sin:path,
     $pow:path, $floor:path, $fma:path, $erf:path, $expm1:path, $bf16:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const HALF: Self = 0.5;
            const INFINITY: Self = <$t>::INFINITY;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            const EPSILON: Self = <$t>::EPSILON;
            const MAX: Self = <$t>::MAX;
            const BYTES: usize = core::mem::size_of::<$t>();
            const NAN: Self = <$t>::NAN;
            const PI: Self = core::f64::consts::PI as $t;

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                $ln1p(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                // Both are correctly rounded (IEEE 754), so results are identical; with `std` the
                // compiler's intrinsic vectorizes, `libm`'s call does not.
                #[cfg(feature = "std")]
                {
                    <$t>::sqrt(self)
                }
                #[cfg(not(feature = "std"))]
                {
                    $sqrt(self)
                }
            }
            #[inline(always)]
            fn abs(self) -> Self {
                // Clearing the sign bit: exact either way, and this form vectorizes.
                <$t>::from_bits(self.to_bits() & !(1 << (8 * core::mem::size_of::<$t>() - 1)))
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                $expm1(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                $cos(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                $sin(self)
            }
            #[inline(always)]
            fn powf(self, y: Self) -> Self {
                $pow(self, y)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                // Exponentiation by squaring; exact for small n like PyTorch's integer pow.
                let mut base = if n < 0 { 1.0 / self } else { self };
                let mut e = n.unsigned_abs();
                let mut acc: $t = 1.0;
                while e > 0 {
                    if e & 1 == 1 {
                        acc *= base;
                    }
                    base *= base;
                    e >>= 1;
                }
                acc
            }
            #[inline(always)]
            fn floor(self) -> Self {
                $floor(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $fma(self, a, b)
            }
            #[inline(always)]
            fn round_bf16(self) -> Self {
                $bf16(self)
            }
            #[inline]
            fn write_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn read_le(b: &[u8]) -> Self {
                let mut a = [0u8; core::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
        }
    };
}

impl_float!(
    f32,
    libm::expf,
    libm::logf,
    libm::log1pf,
    libm::sqrtf,
    libm::tanhf,
    libm::cosf,
    libm::sinf,
    libm::powf,
    libm::floorf,
    fma_f32,
    libm::erff,
    libm::expm1f,
    bf16_f32
);
impl_float!(
    f64,
    libm::exp,
    libm::log,
    libm::log1p,
    libm::sqrt,
    libm::tanh,
    libm::cos,
    libm::sin,
    libm::pow,
    libm::floor,
    fma_f64,
    libm::erf,
    libm::expm1,
    bf16_f64
);

/// `x` rounded to `bfloat16` (kept in an `f32`): the upper 16 bits of the bit pattern after
/// adding `0x7fff` plus the lowest kept bit (round to nearest even; a carry into the exponent
/// is the next binade, or ∞ past the largest finite value), as c10's `round_to_nearest_even`.
#[inline(always)]
fn bf16_f32(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let b = x.to_bits();
    f32::from_bits(b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000)
}

/// [`bf16_f32`] of `x` rounded to `f32` (PyTorch converts a double to `bfloat16` through
/// `float`).
#[inline(always)]
fn bf16_f64(x: f64) -> f64 {
    bf16_f32(x as f32) as f64
}

/// Fused multiply-add, rounded once. With the `std` feature, the standard library's
/// (`llvm.fma`: one instruction, vectorized by descent-kernels' loops compiled for AVX2 / AVX-512,
/// where libm's software `fmaf` ran a `WeightAverage` EMA at 4 GB/s against 25+ for SWA);
/// without it, libm's. Both are the exact `x·y + z` rounded once, so the results are the same.
#[inline(always)]
fn fma_f32(x: f32, y: f32, z: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        x.mul_add(y, z)
    }
    #[cfg(not(feature = "std"))]
    {
        libm::fmaf(x, y, z)
    }
}

/// [`fma_f32`] for `f64`.
#[inline(always)]
fn fma_f64(x: f64, y: f64, z: f64) -> f64 {
    #[cfg(feature = "std")]
    {
        x.mul_add(y, z)
    }
    #[cfg(not(feature = "std"))]
    {
        libm::fma(x, y, z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `round_bf16` against the definition: the nearer of the two `bfloat16` neighbours
    /// (distances in f64, exact), the even one on a tie; ±∞ past the largest finite value.
    #[test]
    fn round_bf16_is_round_to_nearest_even() {
        let max_bf16 = f32::from_bits(0x7f7f_0000) as f64;
        let mut s = 0x2545_f491_4f6c_dd1du64;
        // Fewer patterns under Miri (an interpreter), which runs this file's unit tests in CI.
        let n = if cfg!(miri) { 2_000 } else { 200_000u32 };
        for i in 0..n {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            // Random patterns, and every tie / near-tie pattern of a few binades.
            let b = if i % 2 == 0 {
                s as u32
            } else {
                (s as u32 & 0xffff_0000) | [0x8000, 0x7fff, 0x8001, 0][(i as usize / 2) % 4]
            };
            let x = f32::from_bits(b);
            let r = x.round_bf16();
            if x.is_nan() {
                assert!(r.is_nan());
                continue;
            }
            let lo = f32::from_bits(b & 0xffff_0000) as f64;
            let hi_bits = (b & 0xffff_0000).wrapping_add(0x1_0000);
            let xf = x as f64;
            let want = if x.is_infinite() {
                xf
            } else {
                // Away from zero by one bf16 ulp (0x7f80_0000 is ∞: the overflow case).
                let hi = if hi_bits & 0x7fff_ffff == 0x7f80_0000 {
                    2f64.powi(128).copysign(xf) // one ulp past the largest finite
                } else {
                    f32::from_bits(hi_bits) as f64
                };
                let (dl, dh) = ((xf - lo).abs(), (hi - xf).abs());
                let even_lo = (b >> 16) & 1 == 0;
                let pick = if dl < dh || (dl == dh && even_lo) {
                    lo
                } else {
                    hi
                };
                if pick.abs() > max_bf16 {
                    f64::INFINITY.copysign(xf)
                } else {
                    pick
                }
            };
            assert_eq!(r as f64, want, "x = {x:e} ({b:#010x})");
            assert_eq!(r.to_bits() & 0xffff, 0);
        }
        assert_eq!(1.0f32.round_bf16(), 1.0);
        assert_eq!((1.0f32 + 2f32.powi(-8)).round_bf16(), 1.0); // tie to even
        assert_eq!(
            (1.0f32 + 3.0 * 2f32.powi(-8)).round_bf16(),
            1.0 + 2f32.powi(-6)
        );
        assert_eq!(f32::MAX.round_bf16(), f32::INFINITY);
        assert_eq!((-0.0f32).round_bf16().to_bits(), (-0.0f32).to_bits());
        // f64 goes through f32 first, as PyTorch: 1 + 2^-8 + 2^-30 rounds to the f32 tie
        // 1 + 2^-8 and then to 1 (directly it would be 1 + 2^-7).
        assert_eq!((1.0f64 + 2f64.powi(-8) + 2f64.powi(-30)).round_bf16(), 1.0);
        assert!(f64::NAN.round_bf16().is_nan());
    }

    #[test]
    fn basic_identities() {
        assert_eq!(<f32 as Float>::exp(0.0), 1.0);
        assert_eq!(<f64 as Float>::ln(1.0), 0.0);
        assert_eq!(<f64 as Float>::powi(2.0, 10), 1024.0);
        assert_eq!(<f64 as Float>::powi(2.0, -2), 0.25);
        assert_eq!(<f32 as Float>::signum0(-3.0), -1.0);
        assert_eq!(<f32 as Float>::signum0(0.0), 0.0);
        let mut b = [0u8; 8];
        1.5f64.write_le(&mut b);
        assert_eq!(f64::read_le(&b), 1.5);
    }
}
