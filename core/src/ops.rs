//! The dense operations the models need, behind one small trait.
//!
//! [`Ops`] is the only seam between the scalar reference code in this crate and fast kernels
//! (`descent-kernels` implements it with SIMD and rayon). Models are generic over it, so a user
//! switches implementations by type: `Mlp::loss_grad(&Reference, ...)` versus
//! `Mlp::loss_grad(&descent_kernels::Fast, ...)`.
//!
//! All matrices are row-major. Implementations may panic if a slice is shorter than the
//! dimensions imply; the models in this crate validate every shape before calling, so they never
//! do.

use crate::sum::CascadeSum;
use crate::Float;

/// Element-wise nonlinearity applied between layers, as PyTorch's modules of the same names,
/// with their parameters under PyTorch's names and defaults ([`from_name`](Self::from_name)
/// and [`ALL`](Self::ALL) give the defaults; [`FromStr`](core::str::FromStr) parses
/// `name:key=value,...`, e.g. `leaky_relu:negative_slope=0.2`, and
/// [`Display`](core::fmt::Display) writes that form back).
///
/// Most are invertible, so their derivative is computed from the output `y = f(x)` alone
/// ([`derivative_from_output`](Self::derivative_from_output)); GELU (both forms), SiLU,
/// Softplus, Mish, Hardswish and Hardsigmoid are not (or not exactly, at PyTorch's kinks and
/// thresholds), nor are LeakyReLU with a negative `negative_slope` and ELU with a negative
/// `alpha` (their negative branch is positive): those need the input `x`
/// ([`needs_input`](Self::needs_input), [`derivative`](Self::derivative)), and a model keeps
/// the pre-activations for them.
///
/// Equality and hashing compare the parameters bit for bit (so `Eq` holds).
#[derive(Debug, Clone, Copy)]
pub enum Activation {
    /// f(x) = x
    Identity,
    /// f(x) = max(x, 0); f'(0) = 0 as in PyTorch.
    Relu,
    /// f(x) = tanh(x); f' = 1 - f².
    Tanh,
    /// f(x) = 1 / (1 + e^-x); f' = f (1 - f).
    Sigmoid,
    /// `nn.GELU()` (`approximate='none'`): f(x) = x Φ(x) = (x/2)(1 + erf(x/√2));
    /// f'(x) = Φ(x) + x φ(x) with φ(x) = e^{−x²/2}/√(2π).
    Gelu,
    /// `nn.GELU(approximate='tanh')`: f(x) = (x/2)(1 + tanh u), u = √(2/π)(x + 0.044715 x³);
    /// f'(x) = (1 + tanh u)/2 + (x/2)(1 − tanh² u) √(2/π)(1 + 3·0.044715 x²).
    GeluTanh,
    /// `nn.SiLU()` (swish): f(x) = x σ(x), σ the logistic sigmoid; f'(x) = σ(x)(1 + x(1 − σ(x))).
    Silu,
    /// `nn.LeakyReLU(negative_slope=0.01)`: f(x) = x for x > 0, else `negative_slope · x`;
    /// f' = 1 for x > 0, else `negative_slope` (so f'(0) = `negative_slope`, as PyTorch).
    /// Any finite slope; a negative one [needs the input](Self::needs_input).
    LeakyRelu {
        /// PyTorch's `negative_slope` (default [`LEAKY_RELU_SLOPE`], 0.01).
        negative_slope: f64,
    },
    /// `nn.ELU(alpha=1.0)`: f(x) = x for x > 0, else α(e^x − 1); f' = 1 for x > 0, else
    /// α e^x = y + α (so f'(0) = α, as PyTorch). Any finite α; a negative one
    /// [needs the input](Self::needs_input).
    Elu {
        /// PyTorch's `alpha` (default [`ELU_ALPHA`], 1).
        alpha: f64,
    },
    /// `nn.SELU()`: f(x) = λx for x > 0, else λα(e^x − 1), with PyTorch's constants
    /// α = [`SELU_ALPHA`] and λ = [`SELU_SCALE`]; f' = λ for x > 0, else λα e^x = y + λα.
    Selu,
    /// `nn.CELU(alpha=1.0)`: f(x) = x for x > 0, else α(e^{x/α} − 1); f' = 1 for x > 0, else
    /// e^{x/α} = (y + α)/α (f'(0) = 1). PyTorch computes it as ELU with input scale `1/α`;
    /// α must be finite and nonzero (PyTorch refuses 0 too).
    Celu {
        /// PyTorch's `alpha` (default 1).
        alpha: f64,
    },
    /// `nn.Softplus(beta=1.0, threshold=20.0)`: f(x) = ln(1 + e^{βx})/β, and x where
    /// βx > `threshold` (PyTorch's linear branch); f' = e^{βx}/(e^{βx} + 1), and 1 where
    /// βx > `threshold`. β must be finite and nonzero (PyTorch gives ±∞ for 0), `threshold`
    /// finite.
    Softplus {
        /// PyTorch's `beta` (default 1).
        beta: f64,
        /// PyTorch's `threshold` (default 20).
        threshold: f64,
    },
    /// `nn.Mish()`: f(x) = x tanh(s), s = softplus(x) = ln(1 + e^x);
    /// f' = tanh(s) + x σ(x)(1 − tanh² s).
    Mish,
    /// `nn.Hardswish()`: f(x) = x · min(max(x + 3, 0), 6)/6; f' = 0 for x ≤ −3,
    /// x/3 + 1/2 for −3 < x < 3, 1 for x ≥ 3 (PyTorch's values at the kinks).
    Hardswish,
    /// `nn.Hardsigmoid()`: f(x) = min(max(x + 3, 0), 6)/6; f' = 1/6 for −3 < x < 3, else 0
    /// (PyTorch's backward uses the f32 value of 1/6 for every dtype, and so does this).
    Hardsigmoid,
    /// `nn.ReLU6()`: f(x) = min(max(x, 0), 6), i.e. Hardtanh(0, 6); f' = 1 for 0 < x < 6, else
    /// 0 (f'(0) = f'(6) = 0, as PyTorch).
    Relu6,
    /// `nn.Hardtanh(min_val=-1.0, max_val=1.0)`: f(x) = min(max(x, min_val), max_val);
    /// f' = 1 for `min_val < x < max_val`, else 0. Finite bounds, `min_val <= max_val`
    /// (PyTorch refuses `min_val > max_val` too).
    Hardtanh {
        /// PyTorch's `min_val` (default −1).
        min_val: f64,
        /// PyTorch's `max_val` (default 1).
        max_val: f64,
    },
}

/// `negative_slope` of [`Activation::LeakyRelu`] (PyTorch's default).
pub const LEAKY_RELU_SLOPE: f64 = 0.01;
/// `alpha` of [`Activation::Elu`] (PyTorch's default).
pub const ELU_ALPHA: f64 = 1.0;
/// SELU's `α` (PyTorch's `1.6732632423543772848170429916717`).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_2;
/// SELU's `scale` λ (PyTorch's `1.0507009873554804934193349852946`).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
/// The tanh-GELU's `√(2/π)` (PyTorch's `M_SQRT2 * M_2_SQRTPI * 0.5`).
pub const GELU_TANH_BETA: f64 = 0.797_884_560_802_865_4;
/// The tanh-GELU's cubic coefficient `κ = 0.044715`.
pub const GELU_TANH_KAPPA: f64 = 0.044_715;
/// PyTorch's `hardsigmoid_backward` slope: `1.0f / 6.0f`, the f32 value of 1/6, for every dtype.
pub const HARDSIGMOID_SLOPE: f64 = (1.0f32 / 6.0f32) as f64;

/// `min(max(x, lo), hi)` as C++'s `std::min(std::max(x, lo), hi)` (PyTorch's clamps): a NaN
/// `x` stays NaN.
#[inline(always)]
fn clamp_nan<T: Float>(x: T, lo: T, hi: T) -> T {
    let t = if x < lo { lo } else { x };
    if hi < t {
        hi
    } else {
        t
    }
}

impl PartialEq for Activation {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Activation {}

impl core::hash::Hash for Activation {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl Activation {
    /// `nn.LeakyReLU()`: [`LeakyRelu`](Self::LeakyRelu) with PyTorch's default slope 0.01.
    pub const LEAKY_RELU: Activation = Activation::LeakyRelu {
        negative_slope: LEAKY_RELU_SLOPE,
    };
    /// `nn.ELU()`: [`Elu`](Self::Elu) with PyTorch's default `alpha = 1`.
    pub const ELU: Activation = Activation::Elu { alpha: ELU_ALPHA };
    /// `nn.CELU()`: [`Celu`](Self::Celu) with `alpha = 1`.
    pub const CELU: Activation = Activation::Celu { alpha: 1.0 };
    /// `nn.Softplus()`: [`Softplus`](Self::Softplus) with `beta = 1`, `threshold = 20`.
    pub const SOFTPLUS: Activation = Activation::Softplus {
        beta: 1.0,
        threshold: 20.0,
    };
    /// `nn.Hardtanh()`: [`Hardtanh`](Self::Hardtanh) with `min_val = −1`, `max_val = 1`.
    pub const HARDTANH: Activation = Activation::Hardtanh {
        min_val: -1.0,
        max_val: 1.0,
    };

    /// Every activation, in declaration order, with PyTorch's default parameters.
    pub const ALL: [Activation; 17] = [
        Activation::Identity,
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::LEAKY_RELU,
        Activation::ELU,
        Activation::Selu,
        Activation::CELU,
        Activation::SOFTPLUS,
        Activation::Mish,
        Activation::Hardswish,
        Activation::Hardsigmoid,
        Activation::Relu6,
        Activation::HARDTANH,
    ];

    /// The variant's index in [`ALL`](Self::ALL) and its parameters' bits (0 where none), the
    /// identity that equality and hashing use.
    fn key(self) -> (u8, u64, u64) {
        let (i, [a, b]) = match self {
            Activation::Identity => (0, [0.0; 2]),
            Activation::Relu => (1, [0.0; 2]),
            Activation::Tanh => (2, [0.0; 2]),
            Activation::Sigmoid => (3, [0.0; 2]),
            Activation::Gelu => (4, [0.0; 2]),
            Activation::GeluTanh => (5, [0.0; 2]),
            Activation::Silu => (6, [0.0; 2]),
            Activation::LeakyRelu { negative_slope } => (7, [negative_slope, 0.0]),
            Activation::Elu { alpha } => (8, [alpha, 0.0]),
            Activation::Selu => (9, [0.0; 2]),
            Activation::Celu { alpha } => (10, [alpha, 0.0]),
            Activation::Softplus { beta, threshold } => (11, [beta, threshold]),
            Activation::Mish => (12, [0.0; 2]),
            Activation::Hardswish => (13, [0.0; 2]),
            Activation::Hardsigmoid => (14, [0.0; 2]),
            Activation::Relu6 => (15, [0.0; 2]),
            Activation::Hardtanh { min_val, max_val } => (16, [min_val, max_val]),
        };
        (i, a.to_bits(), b.to_bits())
    }

    /// The parameters' PyTorch names and values, in PyTorch's argument order (empty names
    /// where the activation has fewer than two).
    pub fn params(self) -> [(&'static str, f64); 2] {
        match self {
            Activation::LeakyRelu { negative_slope } => {
                [("negative_slope", negative_slope), ("", 0.0)]
            }
            Activation::Elu { alpha } | Activation::Celu { alpha } => [("alpha", alpha), ("", 0.0)],
            Activation::Softplus { beta, threshold } => [("beta", beta), ("threshold", threshold)],
            Activation::Hardtanh { min_val, max_val } => {
                [("min_val", min_val), ("max_val", max_val)]
            }
            _ => [("", 0.0); 2],
        }
    }

    /// The same activation with parameter `key` (a PyTorch name from [`params`](Self::params))
    /// set to `value`; `None` when it has no such parameter. Not validated (see
    /// [`validate`](Self::validate)).
    pub fn with_param(self, key: &str, value: f64) -> Option<Self> {
        let mut a = self;
        match (&mut a, key) {
            (Activation::LeakyRelu { negative_slope }, "negative_slope") => *negative_slope = value,
            (Activation::Elu { alpha } | Activation::Celu { alpha }, "alpha") => *alpha = value,
            (Activation::Softplus { beta, .. }, "beta") => *beta = value,
            (Activation::Softplus { threshold, .. }, "threshold") => *threshold = value,
            (Activation::Hardtanh { min_val, .. }, "min_val") => *min_val = value,
            (Activation::Hardtanh { max_val, .. }, "max_val") => *max_val = value,
            _ => return None,
        }
        Some(a)
    }

    /// Check the parameters: every one finite; CELU's `alpha` and Softplus' `beta` nonzero;
    /// Hardtanh's `min_val <= max_val`. The error names the parameter (PyTorch's name).
    pub fn validate(self) -> crate::Result<()> {
        use crate::error::check_arg;
        for (name, v) in self.params() {
            if !name.is_empty() {
                check_arg(v.is_finite(), name, v, "a finite number")?;
            }
        }
        match self {
            Activation::Celu { alpha } => check_arg(alpha != 0.0, "alpha", alpha, "nonzero (CELU)"),
            Activation::Softplus { beta, .. } => {
                check_arg(beta != 0.0, "beta", beta, "nonzero (Softplus)")
            }
            Activation::Hardtanh { min_val, max_val } => check_arg(
                min_val <= max_val,
                "max_val",
                max_val,
                ">= min_val (Hardtanh)",
            ),
            _ => Ok(()),
        }
    }

    /// Whether the backward pass needs the input `x` (the pre-activation), because f' cannot
    /// be computed (exactly as PyTorch's backward) from the output: true for
    /// [`Gelu`](Self::Gelu), [`GeluTanh`](Self::GeluTanh), [`Silu`](Self::Silu),
    /// [`Mish`](Self::Mish) and [`Hardswish`](Self::Hardswish) (not invertible),
    /// [`Softplus`](Self::Softplus) (its linear branch starts at `βx > threshold`, which the
    /// output does not tell exactly), [`Hardsigmoid`](Self::Hardsigmoid) (`(x + 3)/6` rounds to
    /// 1 just below x = 3), and LeakyReLU / ELU with a negative `negative_slope` / `alpha`
    /// (their negative branch is positive).
    #[inline(always)]
    pub fn needs_input(self) -> bool {
        match self {
            Activation::Gelu
            | Activation::GeluTanh
            | Activation::Silu
            | Activation::Softplus { .. }
            | Activation::Mish
            | Activation::Hardswish
            | Activation::Hardsigmoid => true,
            Activation::LeakyRelu { negative_slope } => negative_slope < 0.0,
            Activation::Elu { alpha } => alpha < 0.0,
            _ => false,
        }
    }

    /// For the ELU family (PyTorch's `elu` kernel with `alpha`, `scale`, `input_scale`): the
    /// `(alpha, scale, input_scale)` of ELU `(α, 1, 1)`, SELU `(SELU_ALPHA, SELU_SCALE, 1)` and
    /// CELU `(α, 1, 1/α)`.
    #[inline(always)]
    fn elu_coefs(self) -> Option<(f64, f64, f64)> {
        match self {
            Activation::Elu { alpha } => Some((alpha, 1.0, 1.0)),
            Activation::Selu => Some((SELU_ALPHA, SELU_SCALE, 1.0)),
            Activation::Celu { alpha } => Some((alpha, 1.0, 1.0 / alpha)),
            _ => None,
        }
    }

    /// PyTorch's ELU coefficients in `T`: `negcoef = α · scale` (the product in `T`, as
    /// PyTorch's `get_elu_coefs`), `poscoef = scale`, `negiptcoef = input_scale`.
    #[inline(always)]
    fn elu_coefs_t<T: Float>(alpha: f64, scale: f64, input_scale: f64) -> (T, T, T) {
        let scale = T::from_f64(scale);
        (T::from_f64(alpha) * scale, scale, T::from_f64(input_scale))
    }

    /// Apply the activation to one value (the formulas of the variants; GELU as PyTorch's
    /// CPU kernel, `x · 0.5 · (1 + erf(x · (1/√2)))`, SiLU as `x · σ(x)` with the stable
    /// [`sigmoid`], the ELU family as PyTorch's kernel, `x <= 0 ? expm1(x · input_scale) ·
    /// α · scale : x · scale`, Softplus `log1p(exp(βx))/β`, the clamps NaN-propagating).
    #[inline(always)]
    pub fn apply<T: Float>(self, x: T) -> T {
        if let Some((alpha, scale, input_scale)) = self.elu_coefs() {
            let (neg, pos, nip) = Self::elu_coefs_t::<T>(alpha, scale, input_scale);
            return if x <= T::ZERO {
                (x * nip).exp_m1() * neg
            } else {
                x * pos
            };
        }
        let three = T::from_f64(3.0);
        let six = T::from_f64(6.0);
        match self {
            Activation::Identity => x,
            Activation::Relu => {
                // NaN propagates (as torch.relu): only a number <= 0 maps to 0.
                if x > T::ZERO || x.is_nan() {
                    x
                } else {
                    T::ZERO
                }
            }
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
            Activation::Gelu => {
                let r = T::from_f64(core::f64::consts::FRAC_1_SQRT_2);
                x * T::HALF * (T::ONE + (x * r).erf())
            }
            Activation::GeluTanh => {
                let beta = T::from_f64(GELU_TANH_BETA);
                let kappa = T::from_f64(GELU_TANH_KAPPA);
                let inner = beta * (x + kappa * (x * x * x));
                T::HALF * x * (T::ONE + inner.tanh())
            }
            Activation::Silu => x * sigmoid(x),
            Activation::LeakyRelu { negative_slope } => {
                if x > T::ZERO {
                    x
                } else {
                    x * T::from_f64(negative_slope)
                }
            }
            Activation::Softplus { beta, threshold } => {
                let beta = T::from_f64(beta);
                let bx = x * beta;
                if bx > T::from_f64(threshold) {
                    x
                } else {
                    bx.exp().ln_1p() / beta
                }
            }
            Activation::Mish => x * x.exp().ln_1p().tanh(),
            Activation::Hardswish => x * clamp_nan(x + three, T::ZERO, six) / six,
            Activation::Hardsigmoid => clamp_nan(x + three, T::ZERO, six) / six,
            Activation::Relu6 => clamp_nan(x, T::ZERO, six),
            Activation::Hardtanh { min_val, max_val } => {
                clamp_nan(x, T::from_f64(min_val), T::from_f64(max_val))
            }
            // The ELU family returned above.
            Activation::Elu { .. } | Activation::Selu | Activation::Celu { .. } => x,
        }
    }

    /// The derivative f'(x) from the input `x`, for every activation (the formulas of the
    /// variants, as PyTorch's CPU backward kernels; ReLU's f'(0) = 0, LeakyReLU's
    /// `negative_slope`, ELU's α, the hard functions' values at their kinks as documented on
    /// each variant).
    #[inline(always)]
    pub fn derivative<T: Float>(self, x: T) -> T {
        if let Some((alpha, scale, input_scale)) = self.elu_coefs() {
            let (neg, pos, nip) = Self::elu_coefs_t::<T>(alpha, scale, input_scale);
            return if x <= T::ZERO {
                nip * neg * (x * nip).exp()
            } else {
                pos
            };
        }
        let three = T::from_f64(3.0);
        match self {
            Activation::Identity => T::ONE,
            Activation::Relu => {
                if x > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Activation::Tanh => {
                let y = x.tanh();
                T::ONE - y * y
            }
            Activation::Sigmoid => {
                let y = sigmoid(x);
                y * (T::ONE - y)
            }
            Activation::Gelu => {
                // cdf + x pdf, pdf = e^{-x²/2} / √(2π) (torch: kBeta = M_2_SQRTPI M_SQRT1_2 / 2).
                let r = T::from_f64(core::f64::consts::FRAC_1_SQRT_2);
                let k = T::from_f64(0.398_942_280_401_432_7); // 1/√(2π)
                let cdf = T::HALF * (T::ONE + (x * r).erf());
                let pdf = k * (x * x * -T::HALF).exp();
                cdf + x * pdf
            }
            Activation::GeluTanh => {
                let beta = T::from_f64(GELU_TANH_BETA);
                let kappa = T::from_f64(GELU_TANH_KAPPA);
                let x_sq = x * x;
                let inner = beta * (x + kappa * (x_sq * x));
                let t = inner.tanh();
                let left = T::HALF * x;
                let right = T::ONE + t;
                let left_derivative = T::HALF * right;
                let right_derivative = left * (T::ONE - t * t);
                let inner_derivative = beta * (T::ONE + T::from_f64(3.0 * GELU_TANH_KAPPA) * x_sq);
                left_derivative + right_derivative * inner_derivative
            }
            Activation::Silu => {
                let s = sigmoid(x);
                s * (T::ONE + x * (T::ONE - s))
            }
            Activation::LeakyRelu { negative_slope } => {
                if x > T::ZERO {
                    T::ONE
                } else {
                    T::from_f64(negative_slope)
                }
            }
            Activation::Softplus { beta, threshold } => {
                let bx = x * T::from_f64(beta);
                if bx > T::from_f64(threshold) {
                    T::ONE
                } else {
                    let z = bx.exp();
                    z / (z + T::ONE)
                }
            }
            Activation::Mish => {
                let t = x.exp().ln_1p().tanh();
                t + x * sigmoid(x) * (T::ONE - t * t)
            }
            Activation::Hardswish => {
                if x <= -three {
                    T::ZERO
                } else if x < three {
                    x / three + T::HALF
                } else {
                    T::ONE
                }
            }
            Activation::Hardsigmoid => {
                if x > -three && x < three {
                    T::from_f64(HARDSIGMOID_SLOPE)
                } else {
                    T::ZERO
                }
            }
            Activation::Relu6 => hard_window(x, T::ZERO, T::from_f64(6.0)),
            Activation::Hardtanh { min_val, max_val } => {
                hard_window(x, T::from_f64(min_val), T::from_f64(max_val))
            }
            // The ELU family returned above.
            Activation::Elu { .. } | Activation::Selu | Activation::Celu { .. } => T::NAN,
        }
    }

    /// The gradient through the activation from the input: `g * f'(x)`
    /// ([`derivative`](Self::derivative)), except where PyTorch's backward returns a literal
    /// 0 or `g` rather than a product (so an infinite or NaN `g` there gives 0 or `g`):
    /// ReLU as torch's `threshold_backward` (`0` where `x <= 0`, else `g`), ReLU6 / Hardtanh
    /// (`0` outside the open window, else `g`), Hardswish (`0` for x ≤ −3, `g` for x ≥ 3),
    /// Hardsigmoid (`0` outside (−3, 3)), Softplus (`g` on its linear branch).
    #[inline(always)]
    pub fn backward_from_input<T: Float>(self, x: T, g: T) -> T {
        let three = T::from_f64(3.0);
        match self {
            Activation::Identity => g,
            Activation::Relu => {
                if x <= T::ZERO {
                    T::ZERO
                } else {
                    g
                }
            }
            Activation::Relu6 | Activation::Hardtanh { .. } | Activation::Hardsigmoid => {
                let d = self.derivative(x);
                if d == T::ZERO {
                    T::ZERO
                } else {
                    g * d
                }
            }
            Activation::Hardswish => {
                if x <= -three {
                    T::ZERO
                } else if x < three {
                    g * (x / three + T::HALF)
                } else {
                    g
                }
            }
            Activation::Softplus { beta, threshold } => {
                if x * T::from_f64(beta) > T::from_f64(threshold) {
                    g
                } else {
                    g * self.derivative(x)
                }
            }
            _ => g * self.derivative(x),
        }
    }

    /// The gradient through the activation, `g * f'(x)`, expressed through its output
    /// `y = f(x)`. ReLU as torch's `threshold_backward`: `0` where `y <= 0`, else `g` (a NaN
    /// output passes the gradient on; a NaN or infinite gradient at `y <= 0` gives 0, which
    /// `g * 0` would not); ReLU6 and Hardtanh likewise (`0` where `y <= min_val` or
    /// `y >= max_val`, as torch's `hardtanh_backward`). Not defined for the activations that
    /// [`need the input`](Self::needs_input) (NaN; use
    /// [`backward_from_input`](Self::backward_from_input)).
    #[inline(always)]
    pub fn backward<T: Float>(self, y: T, g: T) -> T {
        match self {
            Activation::Relu => {
                if y <= T::ZERO {
                    T::ZERO
                } else {
                    g
                }
            }
            Activation::Relu6 | Activation::Hardtanh { .. } => {
                if self.derivative_from_output(y) == T::ZERO {
                    T::ZERO
                } else {
                    g
                }
            }
            _ => g * self.derivative_from_output(y),
        }
    }

    /// The derivative f'(x), expressed through the output y = f(x): tanh `1 − y²`, sigmoid
    /// `y(1 − y)`, LeakyReLU `1` for `y > 0` else `negative_slope`, the ELU family
    /// `input_scale · (y + α · scale)` for `y <= 0` else `scale` (PyTorch's `elu_backward`
    /// with `is_result`: ELU `y + α`, SELU `y + λα`, CELU `(y + α)/α`), ReLU6 / Hardtanh `1`
    /// strictly inside the window else 0. NaN for the activations whose derivative the output
    /// does not determine (see [`needs_input`](Self::needs_input)).
    #[inline(always)]
    pub fn derivative_from_output<T: Float>(self, y: T) -> T {
        if self.needs_input() {
            return T::NAN;
        }
        if let Some((alpha, scale, input_scale)) = self.elu_coefs() {
            let (neg, pos, nip) = Self::elu_coefs_t::<T>(alpha, scale, input_scale);
            return if y <= T::ZERO { nip * (y + neg) } else { pos };
        }
        match self {
            Activation::Identity => T::ONE,
            Activation::Relu => {
                if y > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Activation::Tanh => T::ONE - y * y,
            Activation::Sigmoid => y * (T::ONE - y),
            Activation::LeakyRelu { negative_slope } => {
                if y > T::ZERO {
                    T::ONE
                } else {
                    T::from_f64(negative_slope)
                }
            }
            Activation::Relu6 => hard_window(y, T::ZERO, T::from_f64(6.0)),
            Activation::Hardtanh { min_val, max_val } => {
                hard_window(y, T::from_f64(min_val), T::from_f64(max_val))
            }
            _ => T::NAN,
        }
    }

    /// Name as used on the command line, in checkpoints and in `models.json` (`relu`,
    /// `tanh`, `sigmoid`, `identity`, `gelu`, `gelu_tanh`, `silu`, `leaky_relu`, `elu`,
    /// `selu`, `celu`, `softplus`, `mish`, `hardswish`, `hardsigmoid`, `relu6`, `hardtanh`),
    /// without the parameters (the [`Display`](core::fmt::Display) form has them).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Silu => "silu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Celu { .. } => "celu",
            Activation::Softplus { .. } => "softplus",
            Activation::Mish => "mish",
            Activation::Hardswish => "hardswish",
            Activation::Hardsigmoid => "hardsigmoid",
            Activation::Relu6 => "relu6",
            Activation::Hardtanh { .. } => "hardtanh",
        }
    }

    /// Parse a name produced by [`Activation::name`] (also `none` / `linear` for identity and
    /// `swish` for SiLU), with PyTorch's default parameters.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "identity" | "none" | "linear" => Some(Activation::Identity),
            "relu" => Some(Activation::Relu),
            "tanh" => Some(Activation::Tanh),
            "sigmoid" => Some(Activation::Sigmoid),
            "gelu" => Some(Activation::Gelu),
            "gelu_tanh" => Some(Activation::GeluTanh),
            "silu" | "swish" => Some(Activation::Silu),
            "leaky_relu" => Some(Activation::LEAKY_RELU),
            "elu" => Some(Activation::ELU),
            "selu" => Some(Activation::Selu),
            "celu" => Some(Activation::CELU),
            "softplus" => Some(Activation::SOFTPLUS),
            "mish" => Some(Activation::Mish),
            "hardswish" => Some(Activation::Hardswish),
            "hardsigmoid" => Some(Activation::Hardsigmoid),
            "relu6" => Some(Activation::Relu6),
            "hardtanh" => Some(Activation::HARDTANH),
            _ => None,
        }
    }
}

/// `1` strictly inside `(lo, hi)` (or for NaN), else `0`: PyTorch's `hardtanh_backward`,
/// `(x <= lo || x >= hi) ? 0 : 1`.
#[inline(always)]
fn hard_window<T: Float>(x: T, lo: T, hi: T) -> T {
    if x <= lo || x >= hi {
        T::ZERO
    } else {
        T::ONE
    }
}

/// The canonical spelling: the [`name`](Activation::name), then `:key=value` for every
/// parameter that differs from PyTorch's default, comma separated (`leaky_relu`,
/// `elu:alpha=0.5`, `softplus:beta=2,threshold=10`); [`FromStr`](core::str::FromStr) reads it
/// back to an equal activation.
impl core::fmt::Display for Activation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())?;
        let default = Activation::from_name(self.name()).unwrap_or(*self);
        let mut sep = ':';
        for ((key, v), (_, d)) in self.params().into_iter().zip(default.params()) {
            if !key.is_empty() && v.to_bits() != d.to_bits() {
                write!(f, "{sep}{key}={v}")?;
                sep = ',';
            }
        }
        Ok(())
    }
}

/// Why an activation spelling did not parse ([`Activation`]'s
/// [`FromStr`](core::str::FromStr)).
#[derive(Debug, Clone, PartialEq)]
pub enum ParseActivationError {
    /// The name before `:` is not one of [`Activation::name`]'s (or an alias).
    UnknownName,
    /// A parameter is not `key=value`.
    Syntax,
    /// A key the activation has no parameter of that name for; `expected` lists its
    /// parameters (or says it has none).
    UnknownKey {
        /// The activation's name.
        activation: &'static str,
        /// Its parameters' names, e.g. `"the parameter negative_slope"`, or `"no parameters"`.
        expected: &'static str,
    },
    /// A value is not a number.
    NotANumber {
        /// The parameter.
        key: &'static str,
    },
    /// A value outside the parameter's range ([`Activation::validate`]'s error).
    Invalid(crate::Error),
}

impl core::fmt::Display for ParseActivationError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseActivationError::UnknownName => f.write_str(
                "expected relu, tanh, sigmoid, identity, gelu, gelu_tanh, silu, leaky_relu, elu, \
                 selu, celu, softplus, mish, hardswish, hardsigmoid, relu6 or hardtanh, \
                 optionally with parameters as name:key=value,... (e.g. leaky_relu:negative_slope=0.2)",
            ),
            ParseActivationError::Syntax => {
                f.write_str("expected name:key=value,... (e.g. elu:alpha=0.5)")
            }
            ParseActivationError::UnknownKey {
                activation,
                expected,
            } => write!(f, "{activation} takes {expected}"),
            ParseActivationError::NotANumber { key } => write!(f, "{key}: expected a number"),
            ParseActivationError::Invalid(crate::Error::InvalidArgument {
                name,
                value,
                expected,
            }) => write!(f, "{name} = {value}: expected {expected}"),
            ParseActivationError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParseActivationError {}

impl core::str::FromStr for Activation {
    type Err = ParseActivationError;

    /// `name` or `name:key=value,key=value` ([`from_name`](Activation::from_name)'s names,
    /// PyTorch's parameter names; spaces around the parts ignored), validated
    /// ([`Activation::validate`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, args) = match s.split_once(':') {
            Some((n, a)) => (n.trim(), Some(a)),
            None => (s.trim(), None),
        };
        let mut act = Activation::from_name(name).ok_or(ParseActivationError::UnknownName)?;
        for kv in args.into_iter().flat_map(|a| a.split(',')) {
            let (k, v) = kv.split_once('=').ok_or(ParseActivationError::Syntax)?;
            let (k, v) = (k.trim(), v.trim());
            let Some(key) = act
                .params()
                .into_iter()
                .map(|(n, _)| n)
                .find(|n| !n.is_empty() && *n == k)
            else {
                return Err(ParseActivationError::UnknownKey {
                    activation: act.name(),
                    expected: act.param_list(),
                });
            };
            let value: f64 = v
                .parse()
                .map_err(|_| ParseActivationError::NotANumber { key })?;
            act = act
                .with_param(key, value)
                .ok_or(ParseActivationError::Syntax)?;
        }
        act.validate().map_err(ParseActivationError::Invalid)?;
        Ok(act)
    }
}

impl Activation {
    /// The parameters' names for messages: `"the parameter negative_slope"`, `"the parameters
    /// beta and threshold"`, or `"no parameters"`.
    fn param_list(self) -> &'static str {
        match self {
            Activation::LeakyRelu { .. } => "the parameter negative_slope",
            Activation::Elu { .. } | Activation::Celu { .. } => "the parameter alpha",
            Activation::Softplus { .. } => "the parameters beta and threshold",
            Activation::Hardtanh { .. } => "the parameters min_val and max_val",
            _ => "no parameters",
        }
    }
}

/// Numerically stable logistic sigmoid 1 / (1 + e^-x).
#[inline(always)]
pub fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// The dense operations a model's forward and backward passes are made of.
///
/// Contract shared by every method: row-major storage, `rows x cols` matrices stored with a
/// row stride of `cols` unless a leading dimension is given.
pub trait Ops<T: Float> {
    /// General matrix multiply, BLAS semantics, row-major:
    /// `C <- alpha * op(A) * op(B) + beta * C`, where `op(A)` is `m x k` (`A` is `k x m` when
    /// `transa`), `op(B)` is `k x n` (`B` is `n x k` when `transb`), `C` is `m x n`, and
    /// `lda`, `ldb`, `ldc` are the row strides of the stored matrices.
    /// With `beta == 0` the old contents of `C` are ignored (NaN included); with `alpha == 0`
    /// or `k == 0`, `A` and `B` are not read (`C <- beta * C`, NaN or infinite entries of `A`
    /// and `B` included), as in BLAS.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        transa: bool,
        transb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: T,
        a: &[T],
        lda: usize,
        b: &[T],
        ldb: usize,
        beta: T,
        c: &mut [T],
        ldc: usize,
    );

    /// In place, for a `rows x cols` matrix `y`: `y[i][j] <- f(y[i][j] + bias[j])`
    /// (no bias term when `bias` is `None`).
    fn bias_act(&self, rows: usize, cols: usize, y: &mut [T], bias: Option<&[T]>, act: Activation);

    /// Activation backward through the output: `grad[i] <- grad[i] * f'(x_i)` where
    /// `y[i] = f(x_i)` (see [`Activation::backward`]); `y.len() == grad.len()`.
    fn act_backward(&self, act: Activation, y: &[T], grad: &mut [T]);

    /// Out of place, keeping the pre-activation, for a `rows x cols` matrix `z`:
    /// `z[i][j] <- z[i][j] + bias[j]` (no bias term when `bias` is `None`), then
    /// `y[i][j] <- f(z[i][j])`. Models use it for the activations that
    /// [`need the input`](Activation::needs_input) in the backward pass. The default is the
    /// scalar loop of [`Activation::apply`].
    fn bias_act_keep(
        &self,
        rows: usize,
        cols: usize,
        z: &mut [T],
        y: &mut [T],
        bias: Option<&[T]>,
        act: Activation,
    ) {
        if cols == 0 {
            return;
        }
        let n = rows * cols;
        for (zr, yr) in z[..n]
            .chunks_exact_mut(cols)
            .zip(y[..n].chunks_exact_mut(cols))
        {
            if let Some(b) = bias {
                zr.iter_mut()
                    .zip(&b[..cols])
                    .for_each(|(zv, &bj)| *zv += bj);
            }
            for (yv, &zv) in yr.iter_mut().zip(zr.iter()) {
                *yv = act.apply(zv);
            }
        }
    }

    /// Activation backward through the input: `grad[i] <- grad[i] * f'(z[i])`
    /// ([`Activation::backward_from_input`]); `z.len() == grad.len()`. The default is that
    /// scalar loop.
    fn act_backward_input(&self, act: Activation, z: &[T], grad: &mut [T]) {
        assert_eq!(
            z.len(),
            grad.len(),
            "act_backward_input: z and grad lengths differ"
        );
        for (g, &zv) in grad.iter_mut().zip(z) {
            *g = act.backward_from_input(zv, *g);
        }
    }

    /// Fused softmax + cross-entropy over the rows of a `rows x cols` logit matrix `z` with
    /// class labels `labels[i] < cols`:
    /// returns `sum_i -log softmax(z_i)[labels[i]]` and overwrites `z` with the gradient of
    /// `scale * that sum`, i.e. `z_i <- scale * (softmax(z_i) - onehot(labels[i]))`.
    fn softmax_xent(&self, rows: usize, cols: usize, z: &mut [T], labels: &[u32], scale: T) -> T;

    /// Row-wise softmax in place, `x_i <- exp(x_i - max x_i) / sum exp(x_i - max x_i)`.
    fn softmax_rows(&self, rows: usize, cols: usize, x: &mut [T]);

    /// Column sums of a `rows x cols` matrix: `out[j] <- beta * out[j] + sum_i x[i][j]`
    /// (`beta == 0` ignores the old `out`).
    fn col_sums(&self, rows: usize, cols: usize, x: &[T], beta: T, out: &mut [T]);
}

/// The scalar reference implementation of [`Ops`]: plain loops, no `unsafe`, the ground truth
/// every fast kernel is tested against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference;

impl<T: Float> Ops<T> for Reference {
    fn gemm(
        &self,
        transa: bool,
        transb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: T,
        a: &[T],
        lda: usize,
        b: &[T],
        ldb: usize,
        beta: T,
        c: &mut [T],
        ldc: usize,
    ) {
        // BLAS: no product term when alpha == 0 or k == 0 (A and B are not read, and a NaN
        // or infinite alpha does not meet an empty sum).
        if m == 0 || n == 0 {
            // C has no elements (its leading dimension need not mean anything).
            return;
        }
        if alpha == T::ZERO || k == 0 {
            for i in 0..m {
                for cij in &mut c[i * ldc..i * ldc + n] {
                    *cij = if beta == T::ZERO {
                        T::ZERO
                    } else {
                        beta * *cij
                    };
                }
            }
            return;
        }
        for i in 0..m {
            for j in 0..n {
                let mut acc = T::ZERO;
                for p in 0..k {
                    let av = if transa {
                        a[p * lda + i]
                    } else {
                        a[i * lda + p]
                    };
                    let bv = if transb {
                        b[j * ldb + p]
                    } else {
                        b[p * ldb + j]
                    };
                    acc += av * bv;
                }
                let cij = &mut c[i * ldc + j];
                *cij = if beta == T::ZERO {
                    alpha * acc
                } else {
                    alpha * acc + beta * *cij
                };
            }
        }
    }

    fn bias_act(&self, rows: usize, cols: usize, y: &mut [T], bias: Option<&[T]>, act: Activation) {
        for row in y[..rows * cols].chunks_exact_mut(cols.max(1)) {
            match bias {
                Some(b) => {
                    for (v, &bj) in row.iter_mut().zip(&b[..cols]) {
                        *v = act.apply(*v + bj);
                    }
                }
                None => {
                    for v in row.iter_mut() {
                        *v = act.apply(*v);
                    }
                }
            }
        }
    }

    fn act_backward(&self, act: Activation, y: &[T], grad: &mut [T]) {
        assert_eq!(
            y.len(),
            grad.len(),
            "act_backward: y and grad lengths differ"
        );
        if act == Activation::Identity {
            return;
        }
        for (g, &yv) in grad.iter_mut().zip(y) {
            *g = act.backward(yv, *g);
        }
    }

    fn softmax_xent(&self, rows: usize, cols: usize, z: &mut [T], labels: &[u32], scale: T) -> T {
        if cols == 0 {
            return T::ZERO;
        }
        let mut total = CascadeSum::new();
        for (row, &label) in z[..rows * cols].chunks_exact_mut(cols).zip(&labels[..rows]) {
            let mut mx = T::NEG_INFINITY;
            for &v in row.iter() {
                mx = mx.max(v);
            }
            let label = label as usize;
            // -log p_label = log s - (z_label - mx), with z_label - mx taken before the row is
            // overwritten: ln(exp(z_label - mx)) would be ln 0 = -inf once the exponential
            // underflows (a logit gap above ~88 in f32), giving an infinite loss.
            let z_label = row[label] - mx;
            let mut s = T::ZERO;
            for v in row.iter_mut() {
                *v = (*v - mx).exp();
                s += *v;
            }
            total.add(s.ln() - z_label);
            let inv = T::ONE / s;
            for v in row.iter_mut() {
                *v = scale * (*v * inv);
            }
            row[label] -= scale;
        }
        total.total()
    }

    fn softmax_rows(&self, rows: usize, cols: usize, x: &mut [T]) {
        if cols == 0 {
            return;
        }
        for row in x[..rows * cols].chunks_exact_mut(cols) {
            let mut mx = T::NEG_INFINITY;
            for &v in row.iter() {
                mx = mx.max(v);
            }
            let mut s = T::ZERO;
            for v in row.iter_mut() {
                *v = (*v - mx).exp();
                s += *v;
            }
            let inv = T::ONE / s;
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }

    fn col_sums(&self, rows: usize, cols: usize, x: &[T], beta: T, out: &mut [T]) {
        let out = &mut out[..cols];
        if beta == T::ZERO {
            out.iter_mut().for_each(|o| *o = T::ZERO);
        } else {
            out.iter_mut().for_each(|o| *o *= beta);
        }
        if cols == 0 {
            return;
        }
        for row in x[..rows * cols].chunks_exact(cols) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_transposes_agree() {
        // A = [[1,2,3],[4,5,6]] (2x3), B = [[1,0],[0,1],[1,1]] (3x2)
        let a = [1.0f64, 2., 3., 4., 5., 6.];
        let at = [1.0f64, 4., 2., 5., 3., 6.];
        let b = [1.0f64, 0., 0., 1., 1., 1.];
        let bt = [1.0f64, 0., 1., 0., 1., 1.];
        let want = [4.0, 5., 10., 11.];
        for (ta, aa) in [(false, &a[..]), (true, &at[..])] {
            for (tb, bb) in [(false, &b[..]), (true, &bt[..])] {
                let mut c = [f64::NAN; 4];
                let lda = if ta { 2 } else { 3 };
                let ldb = if tb { 3 } else { 2 };
                Reference.gemm(ta, tb, 2, 2, 3, 1.0, aa, lda, bb, ldb, 0.0, &mut c, 2);
                assert_eq!(c, want, "ta={ta} tb={tb}");
            }
        }
    }

    #[test]
    fn gemm_without_a_product_term_reads_neither_a_nor_b() {
        // alpha == 0: C <- beta * C even with NaN and infinite A, B (BLAS; the kernels too).
        let a = [f64::NAN, f64::INFINITY];
        let b = [f64::INFINITY, f64::NAN];
        let mut c = [1.0, 2.0];
        Reference.gemm(false, false, 1, 2, 1, 0.0, &a, 1, &b, 2, 3.0, &mut c, 2);
        assert_eq!(c, [3.0, 6.0]);
        let mut c = [f64::NAN, 2.0];
        Reference.gemm(false, false, 1, 2, 1, 0.0, &a, 1, &b, 2, 0.0, &mut c, 2);
        assert_eq!(c, [0.0, 0.0]);
        // k == 0: alpha (NaN here) meets no product.
        let mut c = [1.0, f64::NAN];
        Reference.gemm(
            false,
            false,
            1,
            2,
            0,
            f64::NAN,
            &[],
            1,
            &[],
            2,
            0.0,
            &mut c,
            2,
        );
        assert_eq!(c, [0.0, 0.0]);
        let mut c = [1.0, 2.0];
        Reference.gemm(
            true,
            true,
            1,
            2,
            0,
            f64::NAN,
            &[],
            1,
            &[],
            1,
            0.5,
            &mut c,
            2,
        );
        assert_eq!(c, [0.5, 1.0]);
        // An empty C with any leading dimension: nothing to do (was an index past the end).
        Reference.gemm(
            false,
            false,
            3,
            0,
            0,
            0.0,
            &[],
            1,
            &[],
            1,
            0.0,
            &mut [0.0f64; 0],
            1 << 40,
        );
    }

    #[test]
    fn softmax_xent_matches_definition() {
        let mut z = [1.0f64, 2.0, 3.0];
        let loss = Reference.softmax_xent(1, 3, &mut z, &[2], 1.0);
        let s: f64 = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        assert!((loss - (s.ln() - 3.0)).abs() < 1e-12);
        assert!((z.iter().sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn softmax_xent_loss_is_finite_when_the_label_probability_underflows() {
        // Logit gap 120: exp(-120) is 0 in f32, but -log p_label = ln(1 + e^-120) + 120 = 120
        // (PyTorch's cross_entropy gives 120 too: log_softmax = z - max - log s).
        let mut z = [0.0f32, 120.0];
        let loss = Reference.softmax_xent(1, 2, &mut z, &[0], 1.0);
        assert_eq!(loss, 120.0);
        assert_eq!(z, [-1.0, 1.0]);
        let mut z = [-800.0f64, 0.0, 0.0];
        let loss = Reference.softmax_xent(1, 3, &mut z, &[0], 1.0);
        assert!((loss - (800.0 + 2.0f64.ln())).abs() < 1e-12, "{loss}");
    }

    #[test]
    fn relu_backward_is_torchs_threshold_backward() {
        // torch: grad_input = (y <= 0) ? 0 : grad.
        let nan = f64::NAN;
        let y = [2.0, 0.0, -1.0, nan, 3.0, 0.0];
        let mut g = [5.0, 5.0, 5.0, 7.0, nan, f64::INFINITY];
        Reference.act_backward(Activation::Relu, &y, &mut g);
        assert_eq!(g[..3], [5.0, 0.0, 0.0]);
        assert_eq!(g[3], 7.0, "a NaN output passes the gradient on");
        assert!(g[4].is_nan(), "a NaN gradient at y > 0 stays NaN");
        assert_eq!(g[5], 0.0, "inf * 0 would be NaN; torch gives 0");
        // The others keep g * f'(y).
        let mut g = [2.0f64];
        Reference.act_backward(Activation::Tanh, &[0.5], &mut g);
        assert_eq!(g[0], 2.0 * (1.0 - 0.25));
    }

    /// Values of PyTorch 2.15 (f64) at x = -3, -0.5, 0.7, 2: forward and derivative.
    #[test]
    fn new_activations_match_torch() {
        let xs = [-3.0f64, -0.5, 0.7, 2.0];
        #[rustfmt::skip]
        let cases: [(Activation, [f64; 4], [f64; 4]); 5] = [
            (Activation::Gelu,
             [-0.00404969409489031, -0.15426876936299344, 0.5306254434438489, 1.9544997361036416],
             [-0.01194564720418392, 0.13250487534383712, 0.9766141011336599, 1.085231801078197]),
            (Activation::GeluTanh,
             [-0.0036373920817729943, -0.15428599017485606, 0.5305701347051167, 1.954597694087775],
             [-0.011584166630969648, 0.13263009646535764, 0.976357218656104, 1.0860992566236183]),
            (Activation::Silu,
             [-0.14227761953270035, -0.1887703343990727, 0.46773144051771626, 1.7615941559557646],
             [-0.08810410601516962, 0.2600388126973482, 0.8233867834733425, 1.0907842487848955]),
            (Activation::LEAKY_RELU, [-0.03, -0.005, 0.7, 2.0], [0.01, 0.01, 1.0, 1.0]),
            (Activation::ELU,
             [-0.950212931632136, -0.3934693402873666, 0.7, 2.0],
             [0.049787068367863944, 0.6065306597126334, 1.0, 1.0]),
        ];
        for (act, ys, ds) in cases {
            for ((&x, &y), &d) in xs.iter().zip(&ys).zip(&ds) {
                let (gy, gd) = (act.apply(x), act.derivative(x));
                assert!(
                    (gy - y).abs() <= 1e-14 * (1.0 + y.abs()),
                    "{act:?}({x}) {gy} vs {y}"
                );
                assert!(
                    (gd - d).abs() <= 1e-14 * (1.0 + d.abs()),
                    "{act:?}'({x}) {gd} vs {d}"
                );
                assert_eq!(act.backward_from_input(x, 2.0), 2.0 * gd);
                if !act.needs_input() {
                    let dy = act.derivative_from_output(gy);
                    assert!(
                        (dy - gd).abs() <= 1e-14 * (1.0 + gd.abs()),
                        "{act:?} {dy} vs {gd}"
                    );
                }
            }
        }
    }

    /// Activations with parameters other than PyTorch's defaults (negative ones included).
    const WITH_PARAMETERS: [Activation; 8] = [
        Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        Activation::LeakyRelu {
            negative_slope: -0.3,
        },
        Activation::Elu { alpha: 0.5 },
        Activation::Elu { alpha: -0.5 },
        Activation::Celu { alpha: 0.5 },
        Activation::Celu { alpha: -2.0 },
        Activation::Softplus {
            beta: 2.0,
            threshold: 5.0,
        },
        Activation::Hardtanh {
            min_val: -0.5,
            max_val: 2.0,
        },
    ];

    /// Values of PyTorch 2.15 (f64) for the activations with parameters and the hard ones, at
    /// x = -3, -0.5, 0, 0.5, 2, 3, 6 (the kinks of Hardswish, Hardsigmoid, ReLU6, Hardtanh and
    /// Softplus' threshold included): forward and derivative (PyTorch's backward with g = 1).
    #[test]
    #[allow(clippy::approx_constant)] // PyTorch's printed values (softplus(0) = ln 2)
    fn parameterized_and_hard_activations_match_torch() {
        let xs = [-3.0f64, -0.5, 0.0, 0.5, 2.0, 3.0, 6.0];
        #[rustfmt::skip]
        let cases: [(Activation, [f64; 7], [f64; 7]); 15] = [
            (Activation::Selu,
             [-1.6705687287671118, -0.6917581878028713, 0.0, 0.5253504936777402, 2.101401974710961, 3.1521029620664414, 6.304205924132883],
             [0.08753061208026487, 1.0663411530445053, 1.7580993408473766, 1.0507009873554805, 1.0507009873554805, 1.0507009873554805, 1.0507009873554805]),
            (Activation::CELU,
             [-0.950212931632136, -0.3934693402873666, 0.0, 0.5, 2.0, 3.0, 6.0],
             [0.049787068367863944, 0.6065306597126334, 1.0, 1.0, 1.0, 1.0, 1.0]),
            (Activation::Celu { alpha: 0.5 },
             [-0.4987606239116668, -0.31606027941427883, 0.0, 0.5, 2.0, 3.0, 6.0],
             [0.0024787521766663585, 0.36787944117144233, 1.0, 1.0, 1.0, 1.0, 1.0]),
            (Activation::SOFTPLUS,
             [0.04858735157374206, 0.4740769841801067, 0.6931471805599453, 0.9740769841801067, 2.1269280110429727, 3.048587351573742, 6.00247568513773],
             [0.04742587317756679, 0.37754066879814546, 0.5, 0.6224593312018546, 0.8807970779778824, 0.9525741268224333, 0.9975273768433652]),
            (Activation::Softplus { beta: 2.0, threshold: 1.0 },
             [0.0012378425688652247, 0.15663084375911143, 0.34657359027997264, 0.6566308437591114, 2.0, 3.0, 6.0],
             [0.0024726231566347748, 0.2689414213699951, 0.5, 0.7310585786300049, 1.0, 1.0, 1.0]),
            (Activation::Mish,
             [-0.1456474612756246, -0.22074377465173, 0.0, 0.3752452113048951, 1.9439589595339946, 2.9865350049679575, 5.999926634065252],
             [-0.09339311453232084, 0.28951067791351226, 0.6, 0.8864243753577272, 1.0693179342794896, 1.0211069109294435, 1.00013414050621]),
            (Activation::Hardswish,
             [-0.0, -0.20833333333333334, 0.0, 0.2916666666666667, 1.6666666666666667, 3.0, 6.0],
             [0.0, 0.33333333333333337, 0.5, 0.6666666666666666, 1.1666666666666665, 1.0, 1.0]),
            (Activation::Hardsigmoid,
             [0.0, 0.4166666666666667, 0.5, 0.5833333333333334, 0.8333333333333334, 1.0, 1.0],
             [0.0, 0.1666666716337204, 0.1666666716337204, 0.1666666716337204, 0.1666666716337204, 0.0, 0.0]),
            (Activation::Relu6,
             [0.0, 0.0, 0.0, 0.5, 2.0, 3.0, 6.0],
             [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]),
            (Activation::HARDTANH,
             [-1.0, -0.5, 0.0, 0.5, 1.0, 1.0, 1.0],
             [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]),
            (Activation::Hardtanh { min_val: -0.5, max_val: 2.0 },
             [-0.5, -0.5, 0.0, 0.5, 2.0, 2.0, 2.0],
             [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]),
            (Activation::LeakyRelu { negative_slope: 0.2 },
             [-0.6000000000000001, -0.1, 0.0, 0.5, 2.0, 3.0, 6.0],
             [0.2, 0.2, 0.2, 1.0, 1.0, 1.0, 1.0]),
            (Activation::LeakyRelu { negative_slope: -0.3 },
             [0.8999999999999999, 0.15, -0.0, 0.5, 2.0, 3.0, 6.0],
             [-0.3, -0.3, -0.3, 1.0, 1.0, 1.0, 1.0]),
            (Activation::Elu { alpha: 0.5 },
             [-0.475106465816068, -0.1967346701436833, 0.0, 0.5, 2.0, 3.0, 6.0],
             [0.024893534183931972, 0.3032653298563167, 0.5, 1.0, 1.0, 1.0, 1.0]),
            (Activation::Elu { alpha: -0.5 },
             [0.475106465816068, 0.1967346701436833, 0.0, 0.5, 2.0, 3.0, 6.0],
             [-0.024893534183931972, -0.3032653298563167, -0.5, 1.0, 1.0, 1.0, 1.0]),
        ];
        for (act, ys, ds) in cases {
            act.validate().unwrap();
            for ((&x, &y), &d) in xs.iter().zip(&ys).zip(&ds) {
                let (gy, gd) = (act.apply(x), act.backward_from_input(x, 1.0));
                assert!(
                    (gy - y).abs() <= 1e-14 * (1.0 + y.abs()),
                    "{act:?}({x}) {gy} vs {y}"
                );
                assert!(
                    (gd - d).abs() <= 1e-14 * (1.0 + d.abs()),
                    "{act:?}'({x}) {gd} vs {d}"
                );
                assert_eq!(act.derivative(x), gd, "{act:?} at {x}");
                if !act.needs_input() {
                    let dy = act.backward(gy, 1.0);
                    assert!(
                        (dy - gd).abs() <= 1e-14 * (1.0 + gd.abs()),
                        "{act:?} from the output at {x}: {dy} vs {gd}"
                    );
                }
            }
        }
        // The hard functions give 0 (not g * 0) outside their windows, as PyTorch.
        let inf = f64::INFINITY;
        assert_eq!(Activation::Hardswish.backward_from_input(-3.0, inf), 0.0);
        assert_eq!(Activation::Hardsigmoid.backward_from_input(3.0, inf), 0.0);
        assert_eq!(Activation::Relu6.backward_from_input(6.0, inf), 0.0);
        assert_eq!(Activation::Relu6.backward(0.0, inf), 0.0);
        assert_eq!(Activation::HARDTANH.backward(1.0, f64::NAN), 0.0);
        assert_eq!(Activation::Relu6.backward(f64::NAN, 2.0), 2.0);
        assert_eq!(
            Activation::Hardsigmoid.derivative(0.0f64),
            HARDSIGMOID_SLOPE
        );
        assert_eq!(Activation::Hardsigmoid.derivative(0.0f32), 1.0 / 6.0);
        // PyTorch's constants to the last bit (its C++ literals, parsed as doubles).
        #[allow(clippy::excessive_precision)]
        let torch = (
            1.6732632423543772848170429916717_f64,
            1.0507009873554804934193349852946_f64,
        );
        assert_eq!((SELU_ALPHA, SELU_SCALE), torch);
    }

    /// The `name:key=value` spelling: defaults print as the bare name, others round-trip, bad
    /// ones are refused naming the problem.
    #[test]
    fn spelling_round_trips_and_validates() {
        use core::str::FromStr;
        for act in Activation::ALL {
            let mut buf = [0u8; 64];
            let s = write_to(&mut buf, act);
            assert_eq!(s, act.name());
            assert_eq!(Activation::from_str(s), Ok(act));
        }
        let cases = [
            (
                "leaky_relu:negative_slope=0.2",
                "leaky_relu:negative_slope=0.2",
            ),
            ("leaky_relu:negative_slope=0.01", "leaky_relu"),
            ("elu: alpha = 0.5", "elu:alpha=0.5"),
            (
                "softplus:threshold=10,beta=2",
                "softplus:beta=2,threshold=10",
            ),
            ("hardtanh:max_val=2", "hardtanh:max_val=2"),
            ("celu:alpha=-1e-3", "celu:alpha=-0.001"),
        ];
        for (input, canonical) in cases {
            let act = Activation::from_str(input).unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(write_to(&mut buf, act), canonical);
            assert_eq!(Activation::from_str(canonical), Ok(act));
        }
        assert_eq!(
            Activation::from_str("leaky_relu:negative_slope=0.2"),
            Ok(Activation::LeakyRelu {
                negative_slope: 0.2
            })
        );
        use ParseActivationError as E;
        assert_eq!(Activation::from_str("relu7"), Err(E::UnknownName));
        assert_eq!(Activation::from_str("elu:0.5"), Err(E::Syntax));
        assert!(matches!(
            Activation::from_str("selu:alpha=2"),
            Err(E::UnknownKey {
                activation: "selu",
                ..
            })
        ));
        assert!(matches!(
            Activation::from_str("elu:negative_slope=2"),
            Err(E::UnknownKey {
                expected: "the parameter alpha",
                ..
            })
        ));
        assert_eq!(
            Activation::from_str("elu:alpha=x"),
            Err(E::NotANumber { key: "alpha" })
        );
        for bad in [
            "celu:alpha=0",
            "softplus:beta=0",
            "hardtanh:min_val=2",
            "elu:alpha=inf",
            "leaky_relu:negative_slope=nan",
        ] {
            assert!(
                matches!(Activation::from_str(bad), Err(E::Invalid(_))),
                "{bad}"
            );
        }
        // Bitwise equality: the same parameters are equal, others not.
        assert_eq!(Activation::ELU, Activation::Elu { alpha: 1.0 });
        assert_ne!(Activation::ELU, Activation::Celu { alpha: 1.0 });
        assert_ne!(Activation::ELU, Activation::Elu { alpha: 0.5 });
        // Who needs the input.
        assert!(Activation::LeakyRelu {
            negative_slope: -0.1
        }
        .needs_input());
        assert!(!Activation::LeakyRelu {
            negative_slope: 0.0
        }
        .needs_input());
        assert!(Activation::Elu { alpha: -0.1 }.needs_input());
        assert!(!Activation::Celu { alpha: -0.1 }.needs_input());
        assert!(Activation::SOFTPLUS.needs_input() && Activation::Hardsigmoid.needs_input());
        assert!(!Activation::Relu6.needs_input() && !Activation::Selu.needs_input());
    }

    /// `act`'s Display form in `buf` (no allocation in this crate's tests either).
    fn write_to(buf: &mut [u8; 64], act: Activation) -> &str {
        struct W<'a>(&'a mut [u8], usize);
        impl core::fmt::Write for W<'_> {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                let end = self.1 + s.len();
                self.0[self.1..end].copy_from_slice(s.as_bytes());
                self.1 = end;
                Ok(())
            }
        }
        let mut w = W(buf, 0);
        core::fmt::write(&mut w, format_args!("{act}")).unwrap();
        let n = w.1;
        core::str::from_utf8(&buf[..n]).unwrap()
    }

    /// f'(x) against central differences on a grid, for every activation (f64), and the
    /// output-based derivative equal to it where it exists.
    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-6;
        for act in Activation::ALL.into_iter().chain(WITH_PARAMETERS) {
            for i in 0..=16 {
                let x = -4.05 + 0.5 * i as f64;
                let fd = (act.apply(x + h) - act.apply(x - h)) / (2.0 * h);
                let d = act.derivative(x);
                assert!(
                    (d - fd).abs() <= 1e-7 * (1.0 + d.abs()),
                    "{act:?} at {x}: {d} vs {fd}"
                );
                if act.needs_input() {
                    assert!(act.derivative_from_output(act.apply(x)).is_nan());
                } else {
                    let dy = act.derivative_from_output(act.apply(x));
                    assert!((dy - d).abs() <= 1e-12 * (1.0 + d.abs()), "{act:?} at {x}");
                }
            }
            let mut buf = [0u8; 64];
            assert_eq!(write_to(&mut buf, act).parse::<Activation>(), Ok(act));
            // Both ops paths agree with the scalar definitions (f32, Reference's defaults).
            let z0 = [-1.5f32, 0.25, 3.0, -0.0];
            let b = [0.5f32, -0.25];
            let (mut z, mut y) = (z0, [0.0f32; 4]);
            Reference.bias_act_keep(2, 2, &mut z, &mut y, Some(&b), act);
            let mut y2 = z0;
            Reference.bias_act(2, 2, &mut y2, Some(&b), act);
            assert_eq!(y, y2, "{act:?}");
            for j in 0..4 {
                assert_eq!(z[j], z0[j] + b[j % 2]);
            }
            let mut g = [1.0f32, -2.0, 0.5, 4.0];
            Reference.act_backward_input(act, &z, &mut g);
            for j in 0..4 {
                let want = act.backward_from_input(z[j], [1.0f32, -2.0, 0.5, 4.0][j]);
                assert_eq!(g[j], want, "{act:?}");
            }
        }
        assert_eq!(Activation::from_name("swish"), Some(Activation::Silu));
        // f'(0): PyTorch's conventions.
        assert_eq!(Activation::LEAKY_RELU.derivative(0.0f64), 0.01);
        assert_eq!(Activation::ELU.derivative(0.0f64), 1.0);
        assert_eq!(Activation::Gelu.derivative(0.0f64), 0.5);
    }

    #[test]
    fn col_sums_beta() {
        let x = [1.0f32, 2., 3., 4.];
        let mut out = [f32::NAN, f32::NAN];
        Reference.col_sums(2, 2, &x, 0.0, &mut out);
        assert_eq!(out, [4.0, 6.0]);
        Reference.col_sums(2, 2, &x, 1.0, &mut out);
        assert_eq!(out, [8.0, 12.0]);
    }
}
