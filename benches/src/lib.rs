//! Shared helpers for descent's benchmarks: the SGEMM shape table, deterministic operands,
//! and one call of each SGEMM library on them (used by the criterion `sgemm` bench and by
//! the interleaved `sgemm_interleaved` runner).

/// The libraries the SGEMM benchmarks compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    /// `descent_kernels::sgemm`.
    Descent,
    /// `matrixmultiply::sgemm` (built without its threading feature: always one core).
    Matrixmultiply,
    /// `gemm::gemm`, given the global rayon pool's thread count.
    Gemm,
}

impl Lib {
    /// All three, in table order.
    pub const ALL: [Lib; 3] = [Lib::Descent, Lib::Matrixmultiply, Lib::Gemm];

    /// The name used in benchmark ids and tables.
    pub fn name(self) -> &'static str {
        match self {
            Lib::Descent => "descent",
            Lib::Matrixmultiply => "matrixmultiply",
            Lib::Gemm => "gemm",
        }
    }
}

/// One benchmarked product: `C (m x n) = op(A) (m x k) * op(B) (k x n)`, `op` transposing
/// the stored matrix when `ta` / `tb`.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Rows of C and of op(A).
    pub m: usize,
    /// Depth: columns of op(A), rows of op(B).
    pub k: usize,
    /// Columns of C and of op(B).
    pub n: usize,
    /// A is stored transposed (`k x m`).
    pub ta: bool,
    /// B is stored transposed (`n x k`).
    pub tb: bool,
}

impl Shape {
    /// `MxKxN` plus `-tA` / `-tB` for a transposed operand.
    pub fn label(&self) -> String {
        let mut s = format!("{}x{}x{}", self.m, self.k, self.n);
        if self.ta {
            s.push_str("-tA");
        }
        if self.tb {
            s.push_str("-tB");
        }
        s
    }

    /// The shape of a [`Shape::label`]: `MxKxN` with optional `-tA` / `-tB`; an error naming
    /// the label and what was expected otherwise.
    pub fn parse(label: &str) -> Result<Shape, String> {
        let mut parts = label.split('-');
        let dims: Vec<usize> = parts
            .next()
            .unwrap_or("")
            .split('x')
            .map(|x| {
                x.parse()
                    .map_err(|_| format!("shape {label:?}: expected MxKxN[-tA][-tB]"))
            })
            .collect::<Result<_, _>>()?;
        let [m, k, n] = dims[..] else {
            return Err(format!("shape {label:?}: expected three dimensions MxKxN"));
        };
        let (mut ta, mut tb) = (false, false);
        for p in parts {
            match p {
                "tA" => ta = true,
                "tB" => tb = true,
                _ => {
                    return Err(format!(
                        "shape {label:?}: unknown suffix -{p} (expected -tA or -tB)"
                    ))
                }
            }
        }
        Ok(Shape { m, k, n, ta, tb })
    }
}

/// Seconds from the environment variable `var` (each bench's measurement-time knob, e.g.
/// `FUSED_BENCH_SECS`), or `default` when it is unset or not a number.
pub fn env_secs(var: &str, default: f64) -> f64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The median of a non-empty sample (sorts it).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The benchmark table: squares 64..2048 and the MLP layers 784 -> 100 -> 10 at batch 100 and
/// 1000 (forward `X W^T`, backward `dY W` and `dY^T X`), the 784-512-512-10 MLP at batch 16
/// and its 512-row evaluation forward.
pub fn shapes() -> Vec<Shape> {
    let sq = |d| Shape {
        m: d,
        k: d,
        n: d,
        ta: false,
        tb: false,
    };
    let mut v: Vec<Shape> = [64, 128, 256, 512, 1024, 2048]
        .into_iter()
        .map(sq)
        .collect();
    for batch in [100, 1000] {
        for (fan_in, fan_out) in [(784, 100), (100, 10)] {
            // forward Y[b, out] = X[b, in] W[out, in]^T
            v.push(Shape {
                m: batch,
                k: fan_in,
                n: fan_out,
                ta: false,
                tb: true,
            });
            // backward dX[b, in] = dY[b, out] W[out, in]
            v.push(Shape {
                m: batch,
                k: fan_out,
                n: fan_in,
                ta: false,
                tb: false,
            });
            // backward dW[out, in] = dY[b, out]^T X[b, in]
            v.push(Shape {
                m: fan_out,
                k: batch,
                n: fan_in,
                ta: true,
                tb: false,
            });
        }
    }
    // The 784-512-512-10 MLP at batch 16 (the lectures' second recipe).
    for (fan_in, fan_out) in [(784, 512), (512, 512)] {
        v.push(Shape {
            m: 16,
            k: fan_in,
            n: fan_out,
            ta: false,
            tb: true,
        });
        v.push(Shape {
            m: fan_out,
            k: 16,
            n: fan_in,
            ta: true,
            tb: false,
        });
    }
    v.push(Shape {
        m: 16,
        k: 512,
        n: 512,
        ta: false,
        tb: false,
    });
    // Its evaluation forward (`descent train` evaluates in chunks of 512 rows).
    for fan_in in [784, 512] {
        v.push(Shape {
            m: 512,
            k: fan_in,
            n: 512,
            ta: false,
            tb: true,
        });
    }
    v
}

/// Deterministic inputs in [-1, 1) (xorshift).
pub fn fill(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// Operands of one shape, stored as the BLAS-style call expects.
pub struct Operands {
    /// The shape.
    pub shape: Shape,
    /// A stored `m x k` (`k x m` when `ta`), row-major.
    pub a: Vec<f32>,
    /// B stored `k x n` (`n x k` when `tb`), row-major.
    pub b: Vec<f32>,
    /// C, `m x n`, row-major.
    pub c: Vec<f32>,
}

impl Operands {
    /// Deterministic operands for `shape`.
    pub fn new(shape: Shape) -> Operands {
        let Shape { m, k, n, .. } = shape;
        Operands {
            shape,
            a: fill(m * k, 1),
            b: fill(k * n, 2),
            c: vec![0.0; m * n],
        }
    }

    /// Flops of one product, `2 m n k`.
    pub fn flops(&self) -> f64 {
        let Shape { m, k, n, .. } = self.shape;
        2.0 * (m * n * k) as f64
    }

    /// `C = op(A) op(B)` (alpha 1, beta 0) with `lib`; the gemm crate on `threads` threads.
    pub fn run(&mut self, lib: Lib, threads: usize) {
        let Shape { m, k, n, ta, tb } = self.shape;
        let lda = if ta { m } else { k };
        let ldb = if tb { k } else { n };
        // Element strides of op(A) (m x k) and op(B) (k x n) for the strided APIs.
        let (rsa, csa) = if ta {
            (1, lda as isize)
        } else {
            (lda as isize, 1)
        };
        let (rsb, csb) = if tb {
            (1, ldb as isize)
        } else {
            (ldb as isize, 1)
        };
        let (a, b) = (
            std::hint::black_box(&self.a[..]),
            std::hint::black_box(&self.b[..]),
        );
        match lib {
            Lib::Descent => {
                descent_kernels::sgemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, &mut self.c, n)
            }
            // SAFETY: the strides describe the allocated matrices exactly.
            Lib::Matrixmultiply => unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    rsa,
                    csa,
                    b.as_ptr(),
                    rsb,
                    csb,
                    0.0,
                    self.c.as_mut_ptr(),
                    n as isize,
                    1,
                )
            },
            // SAFETY: as above; gemm takes (column stride, row stride) pairs and computes
            // dst = alpha * dst + beta * lhs * rhs, here with alpha = 0 (dst not read).
            Lib::Gemm => unsafe {
                let par = if threads > 1 {
                    gemm::Parallelism::Rayon(threads)
                } else {
                    gemm::Parallelism::None
                };
                gemm::gemm(
                    m,
                    n,
                    k,
                    self.c.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    csa,
                    rsa,
                    b.as_ptr(),
                    csb,
                    rsb,
                    0.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    par,
                )
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_back_to_their_shapes() {
        for sh in shapes() {
            let back = Shape::parse(&sh.label()).unwrap();
            assert_eq!(
                (back.m, back.k, back.n, back.ta, back.tb),
                (sh.m, sh.k, sh.n, sh.ta, sh.tb)
            );
        }
        let both = Shape::parse("3x4x5-tA-tB").unwrap();
        assert!(both.ta && both.tb);
        for bad in ["10x2", "axbxc", "1x2x3-tC", "", "1x2x3x4"] {
            let e = Shape::parse(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 3.0);
    }
}
