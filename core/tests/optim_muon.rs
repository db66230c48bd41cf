//! Property tests of Muon: the Newton–Schulz iteration with the classic cubic coefficients
//! converges to the polar factor of the momentum (so the products, transposes and
//! normalization are wired right), the update is equivariant under transposition and
//! invariant under power-of-two scaling of the gradient, and save / restore is bitwise.

mod optim_common;

use descent_core::optim::*;
use descent_core::Float;
use optim_common::normal;
use proptest::prelude::*;
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n).map(|_| normal(&mut rng)).collect()
}

fn matrices(s: &[(usize, usize)]) -> Shapes {
    let v: Vec<TensorShape> = s.iter().map(|&(r, c)| TensorShape::Matrix(r, c)).collect();
    Shapes::new(&v).unwrap()
}

/// One step from θ = 0 with weight decay 0, lr 1, no momentum: θ ← −adjust · O.
fn one_step<T: Float>(cfg: MuonConfig, shape: (usize, usize), g: &[T]) -> Vec<T> {
    let n = shape.0 * shape.1;
    let cfg = cfg
        .lr(1.0)
        .weight_decay(0.0)
        .momentum(0.0)
        .nesterov(false)
        .shapes(matrices(&[shape]));
    let mut o = Muon::<T, Vec<T>>::owned(cfg, n).unwrap();
    let mut p = vec![T::ZERO; n];
    o.step(&mut p, g).unwrap();
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Cubic Newton–Schulz (a, b, c) = (1.5, −0.5, 0) run long enough is the polar factor O of
    /// G (`m ≤ k` after transposing a tall G): O Oᵀ = I and G Oᵀ is symmetric positive
    /// semi-definite (G = P O), here in f64 with the native iteration.
    #[test]
    fn cubic_iteration_converges_to_the_polar_factor(
        rows in 1usize..7,
        cols in 1usize..7,
        seed in any::<u64>(),
    ) {
        let g = gaussian(rows * cols, seed);
        let cfg = MuonConfig::default()
            .ns_precision(NsPrecision::Native)
            .ns_coefficients((1.5, -0.5, 0.0))
            .ns_steps(99)
            .adjust_lr_fn(AdjustLr::SpectralUnclamped);
        let p = one_step::<f64>(cfg, (rows, cols), &g);
        let adj = AdjustLr::SpectralUnclamped.apply(1.0, rows, cols);
        let o: Vec<f64> = p.iter().map(|&v| -v / adj).collect();
        // Work with the wide orientation: W = O (m x k) and H = G, or their transposes.
        let tall = rows > cols;
        let (m, k) = if tall { (cols, rows) } else { (rows, cols) };
        let at = |v: &[f64], i: usize, j: usize| if tall { v[j * cols + i] } else { v[i * cols + j] };
        // The smallest singular value of a random Gaussian matrix can sit near 0; with
        // 99 cubic steps any σ above about 1e-16 has converged, so skip near-rank-deficient
        // draws only through the symmetric check's tolerance.
        for i in 0..m {
            for j in 0..m {
                let d: f64 = (0..k).map(|l| at(&o, i, l) * at(&o, j, l)).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                prop_assert!((d - want).abs() < 1e-9, "O Oᵀ[{i}][{j}] = {d}");
                let s1: f64 = (0..k).map(|l| at(&g, i, l) * at(&o, j, l)).sum();
                let s2: f64 = (0..k).map(|l| at(&g, j, l) * at(&o, i, l)).sum();
                prop_assert!((s1 - s2).abs() < 1e-9 * (1.0 + s1.abs()), "G Oᵀ not symmetric: {s1} vs {s2}");
                if i == j {
                    prop_assert!(s1 >= -1e-9, "G Oᵀ has a negative diagonal {s1}");
                }
            }
        }
    }

    /// With the shape-symmetric `match_rms_adamw` adjustment, the update of Gᵀ is the
    /// transpose of the update of G, bit for bit (the iteration runs on the same wide matrix),
    /// in both precisions and both types. (A square G is iterated as given, so G and Gᵀ take
    /// products in another order and agree only to rounding.)
    #[test]
    fn update_is_transpose_equivariant(
        rows in 1usize..9,
        cols in 1usize..9,
        bf16 in any::<bool>(),
        seed in any::<u64>(),
    ) {
        prop_assume!(rows != cols);
        let g = gaussian(rows * cols, seed);
        let gt: Vec<f64> = (0..cols * rows).map(|e| g[(e % rows) * cols + e / rows]).collect();
        let prec = if bf16 { NsPrecision::Bf16 } else { NsPrecision::Native };
        let cfg = MuonConfig::default()
            .ns_precision(prec)
            .adjust_lr_fn(AdjustLr::MatchRmsAdamW);
        let a = one_step::<f64>(cfg, (rows, cols), &g);
        let b = one_step::<f64>(cfg, (cols, rows), &gt);
        for i in 0..rows {
            for j in 0..cols {
                prop_assert_eq!(a[i * cols + j].to_bits(), b[j * rows + i].to_bits());
            }
        }
        let g32: Vec<f32> = g.iter().map(|&v| v as f32).collect();
        let gt32: Vec<f32> = gt.iter().map(|&v| v as f32).collect();
        let a = one_step::<f32>(cfg, (rows, cols), &g32);
        let b = one_step::<f32>(cfg, (cols, rows), &gt32);
        for i in 0..rows {
            for j in 0..cols {
                prop_assert_eq!(a[i * cols + j].to_bits(), b[j * rows + i].to_bits());
            }
        }
    }

    /// Scaling the gradient by a power of two changes nothing (the input is normalized, and
    /// the scaling is exact in every rounding, bfloat16 included), as long as the norm stays
    /// above eps.
    #[test]
    fn update_is_invariant_to_power_of_two_scaling(
        rows in 1usize..8,
        cols in 1usize..8,
        e in -20i32..20,
        bf16 in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let g: Vec<f32> = gaussian(rows * cols, seed).iter().map(|&v| v as f32).collect();
        let gs: Vec<f32> = g.iter().map(|&v| v * 2f32.powi(e)).collect();
        let prec = if bf16 { NsPrecision::Bf16 } else { NsPrecision::Native };
        let cfg = MuonConfig::default().ns_precision(prec);
        let a = one_step::<f32>(cfg, (rows, cols), &g);
        let b = one_step::<f32>(cfg, (rows, cols), &gs);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&a), bits(&b));
    }

    /// Save mid-run, restore into a fresh optimizer, continue: bitwise identical parameters
    /// and state (the scratch after the state is not part of it), two groups of matrices with
    /// their own lr and weight decay, an lr changed mid-run, both precisions, f32 and f64.
    #[test]
    fn save_restore_is_bitwise(
        dims in prop::collection::vec((1usize..6, 1usize..6), 2..5),
        split_at in 1usize..4,
        steps in 1usize..8,
        split_frac in 0.0f64..1.0,
        bf16 in any::<bool>(),
        seed in any::<u64>(),
    ) {
        check_save_restore::<f32>(&dims, split_at, steps, split_frac, bf16, seed)?;
        check_save_restore::<f64>(&dims, split_at, steps, split_frac, bf16, seed)?;
    }
}

fn check_save_restore<T: Float>(
    dims: &[(usize, usize)],
    split_at: usize,
    steps: usize,
    split_frac: f64,
    bf16: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let cut = split_at.min(dims.len() - 1);
    let n1: usize = dims[..cut].iter().map(|&(r, c)| r * c).sum();
    let n: usize = dims.iter().map(|&(r, c)| r * c).sum();
    let groups = [
        GroupSpec::new(n1).weight_decay(0.03),
        GroupSpec::new(n - n1).lr(0.02).weight_decay(0.0),
    ];
    let prec = if bf16 {
        NsPrecision::Bf16
    } else {
        NsPrecision::Native
    };
    let cfg = MuonConfig::default()
        .lr(0.05)
        .ns_precision(prec)
        .shapes(matrices(dims));
    let make = || Muon::<T, Vec<T>>::owned_with_groups(cfg, &groups).unwrap();
    let (mut a, mut b, mut c) = (make(), make(), make());
    let split = ((steps as f64 * split_frac) as usize).min(steps);
    let noise = gaussian(n * (steps + 1), seed);
    let x0: Vec<T> = noise[..n].iter().map(|&v| T::from_f64(v)).collect();
    let grads: Vec<Vec<T>> = (0..steps)
        .map(|t| {
            noise[(t + 1) * n..(t + 2) * n]
                .iter()
                .map(|&v| T::from_f64(v))
                .collect()
        })
        .collect();
    let (mut xa, mut xb) = (x0.clone(), x0);
    for (t, g) in grads.iter().enumerate() {
        a.step(&mut xa, g).unwrap();
        if t < split {
            b.step(&mut xb, g).unwrap();
        }
    }
    b.set_lr(1, 0.02).unwrap();
    let mut bytes = vec![0u8; b.state_bytes_len()];
    prop_assert_eq!(b.export_state(&mut bytes).unwrap(), bytes.len());
    c.import_state(&bytes).unwrap();
    for g in &grads[split..] {
        c.step(&mut xb, g).unwrap();
    }
    let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
    prop_assert_eq!(bits(&xa), bits(&xb));
    prop_assert_eq!(bits(a.state()), bits(c.state()));
    Ok(())
}

/// Muon's own errors: vectors in the layout, a matrix crossing a group boundary, and the
/// hyperparameter checks, each naming the argument.
#[test]
fn layout_and_argument_errors() {
    let name = |r: descent_core::Result<Muon<f32, Vec<f32>>>| match r {
        Err(descent_core::Error::InvalidArgument { name, .. }) => name,
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("accepted"),
    };
    let m = MuonConfig::default().shapes(matrices(&[(2, 3), (2, 2)]));
    let crossing = [GroupSpec::new(4), GroupSpec::new(6)];
    assert_eq!(name(Muon::owned_with_groups(m, &crossing)), "shapes");
    assert!(
        Muon::<f32, Vec<f32>>::owned_with_groups(m, &[GroupSpec::new(6), GroupSpec::new(4)])
            .is_ok()
    );
    assert_eq!(name(Muon::owned(MuonConfig::default(), 4)), "shapes");
    assert_eq!(name(Muon::owned(m.lr(-1.0), 10)), "lr");
    assert_eq!(
        name(Muon::owned(m.weight_decay(f64::NAN), 10)),
        "weight_decay"
    );
    assert_eq!(name(Muon::owned(m.eps(-1.0), 10)), "eps");
    assert_eq!(name(Muon::owned(m.ns_steps(100), 10)), "ns_steps");
    let mut o = Muon::<f32, Vec<f32>>::owned(m, 10).unwrap();
    assert_eq!(o.momentum(), Some(0.95));
    o.set_momentum(0.85).unwrap();
    assert_eq!(o.momentum(), Some(0.85));
    assert!(o.set_momentum(-0.5).is_err());
    // A caller's buffer must hold the scratch too.
    let need = Muon::<f32, &mut [f32]>::state_len(&m, 10);
    let mut short = vec![0.0f32; need - 1];
    assert!(Muon::new(m, 10, &mut short[..]).is_err());
    let mut exact = vec![0.0f32; need];
    assert!(Muon::new(m, 10, &mut exact[..]).is_ok());
}

/// A zero gradient from the start moves nothing but the weight decay (the normalized matrix
/// is 0 / eps = 0), and a NaN gradient poisons only its own matrix.
#[test]
fn zero_and_nan_gradients() {
    let m = MuonConfig::default()
        .lr(0.1)
        .weight_decay(0.5)
        .shapes(matrices(&[(2, 3), (3, 2)]));
    let mut o = Muon::<f32, Vec<f32>>::owned(m, 12).unwrap();
    let mut p = vec![1.0f32; 12];
    o.step(&mut p, &[0.0; 12]).unwrap();
    assert!(p.iter().all(|&v| v == (1.0f64 - 0.1 * 0.5) as f32), "{p:?}");
    let mut g = [0.5f32; 12];
    g[1] = f32::NAN;
    o.step(&mut p, &g).unwrap();
    assert!(p[..6].iter().all(|v| v.is_nan()));
    assert!(p[6..].iter().all(|v| v.is_finite()));
}
