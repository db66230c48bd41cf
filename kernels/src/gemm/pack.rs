//! Packing of `op(A)` and `op(B)` blocks into the contiguous, zero-padded micro-panels the
//! microkernels stream through.
//!
//! * A block (`mc x kc`) becomes `ceil(mc / MR)` micro-panels of `MR x kc`, each stored
//!   k-major: element `(i, p)` of panel `r` at `r * MR * kc + p * MR + i`, so one k-step of
//!   the microkernel reads `MR` consecutive values to broadcast.
//! * B block (`kc x nc`) becomes `ceil(nc / NR)` micro-panels of `kc x NR`, element `(p, j)`
//!   of panel `s` at `s * NR * kc + p * NR + j`, so one k-step reads `NR` consecutive values
//!   (whole, aligned vectors).
//!
//! Rows (A) / columns (B) beyond the matrix edge are zero-filled so the microkernels always
//! run full tiles; only the store is trimmed.

use super::elem::Elem;
use super::transpose::{Transpose16, TransposeMr};

/// Packs rows `0..mc`, columns `0..kc` of the strided matrix at `a` (element `(i, p)` at
/// `a + i * rsa + p * csa`) into `ceil(mc / mr)` k-major micro-panels at `dst`.
///
/// `tmr`, when given, transposes `mr x 8` blocks of full strips of a row-major A
/// (`csa == 1`) with SIMD (see [`strip_blocks8`]).
///
/// # Safety
/// Every `a + i * rsa + p * csa` for `i < mc`, `p < kc` must be valid for reads, and `dst`
/// valid for `ceil(mc / mr) * mr * kc` writes, not overlapping `a`; `t16` and `tmr` are
/// runnable on this CPU, `tmr` made for this `mr`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn pack_a<T: Elem>(
    mr: usize,
    mc: usize,
    kc: usize,
    a: *const T,
    rsa: isize,
    csa: isize,
    dst: *mut T,
    t16: Option<Transpose16<T>>,
    tmr: Option<TransposeMr<T>>,
) {
    let panels = mc.div_ceil(mr);
    for r in 0..panels {
        let rows = mr.min(mc - r * mr);
        // SAFETY: panel `r` occupies `dst[r*mr*kc .. (r+1)*mr*kc]`, inside the destination.
        let d = unsafe { dst.add(r * mr * kc) };
        // SAFETY: row `r * mr < mc`, a valid row of the source.
        let src = unsafe { a.offset((r * mr) as isize * rsa) };
        // SAFETY (both arms): reads stay within rows `< rows` and columns `< kc` of the
        // source block, writes within the `mr x kc` panel `d`.
        match tmr {
            Some(t) if csa == 1 && rows == mr => unsafe { strip_blocks8(mr, kc, src, rsa, d, t) },
            _ => unsafe { pack_strip(mr, rows, kc, src, rsa, csa, d, t16) },
        }
    }
}

/// Packs columns `0..nc`, rows `0..kc` of the strided matrix at `b` (element `(p, j)` at
/// `b + p * rsb + j * csb`) into `ceil(nc / nr)` micro-panels of `kc x nr` at `dst`.
///
/// # Safety
/// Every `b + p * rsb + j * csb` for `p < kc`, `j < nc` must be valid for reads, and `dst`
/// valid for `ceil(nc / nr) * nr * kc` writes, not overlapping `b`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn pack_b_panel<T: Elem>(
    nr: usize,
    nc: usize,
    kc: usize,
    panel: usize,
    b: *const T,
    rsb: isize,
    csb: isize,
    dst: *mut T,
    t16: Option<Transpose16<T>>,
) {
    let cols = nr.min(nc - panel * nr);
    // SAFETY: panel `panel` of `dst` as documented; column `panel * nr < nc` of the source.
    let (d, src) = unsafe {
        (
            dst.add(panel * nr * kc),
            b.offset((panel * nr) as isize * csb),
        )
    };
    // The B panel is the transpose problem of an A strip: `(j, p)` at `src + j*csb + p*rsb`.
    // SAFETY: as in `pack_a`, with the roles of rows and columns exchanged.
    unsafe { pack_strip(nr, cols, kc, src, csb, rsb, d, t16) };
}

/// Packs panels `first..ceil(nc / nr)` of a row-major B block (`kc x nc`, row `p` at
/// `b + p * rsb`, contiguous) like [`pack_b_panel`], but walking B row by row: each row is
/// read once from start to end (a stream the hardware prefetchers follow) and its `nr`-wide
/// pieces go to their panels. Panel by panel, every k-step is a different row, which is
/// how a quarter of a 100x1000x784-tA product went to waiting on B's loads.
///
/// # Safety
/// As [`pack_b_panel`] for each of those panels, with `csb = 1`.
pub(crate) unsafe fn pack_b_rows<T: Elem>(
    nr: usize,
    nc: usize,
    kc: usize,
    first: usize,
    b: *const T,
    rsb: isize,
    dst: *mut T,
) {
    // SAFETY (every arm): forwarded contract, `nr` equal to the const width.
    unsafe {
        match nr {
            8 => rows_w::<T, 8>(nc, kc, first, b, rsb, dst),
            16 => rows_w::<T, 16>(nc, kc, first, b, rsb, dst),
            32 => rows_w::<T, 32>(nc, kc, first, b, rsb, dst),
            _ => {
                for s in first..nc.div_ceil(nr) {
                    pack_b_panel(nr, nc, kc, s, b, rsb, 1, dst, None);
                }
            }
        }
    }
}

/// [`pack_b_rows`] for a panel width `W` fixed at compile time.
///
/// # Safety
/// As [`pack_b_rows`] with `nr = W`.
unsafe fn rows_w<T: Elem, const W: usize>(
    nc: usize,
    kc: usize,
    first: usize,
    b: *const T,
    rsb: isize,
    dst: *mut T,
) {
    let full = nc / W;
    // SAFETY: reads row `p < kc`, columns `< nc` of the block; writes panel `s`, k-step `p`
    // (`W` values at `s * W * kc + p * W`) inside the `ceil(nc / W) * W * kc` destination.
    unsafe {
        for p in 0..kc {
            let row = b.offset(p as isize * rsb);
            for s in first..full {
                core::ptr::copy_nonoverlapping(row.add(s * W), dst.add(s * W * kc + p * W), W);
            }
        }
        if !nc.is_multiple_of(W) && first <= full {
            // The ragged last panel: the panel packer's partial-strip path (zero, then fill).
            pack_b_panel(W, nc, kc, full, b, rsb, 1, dst, None);
        }
    }
}

/// Packs a strip of `rows <= w` "rows" (element `(i, p)` at `src + i * rs + p * cs`) of
/// length `kc` into `d[p * w + i]`, zero-filling `i in rows..w`.
///
/// `t16`, when given, transposes 16 x 16 blocks with SIMD (used when `cs == 1`).
/// A source contiguous along the strip (`rs == 1`) at the strip widths of the kernels (4, 6,
/// 8, 12, 16, 32) runs a copy of the code with `w` known at compile time, so each k-step's
/// short copy and zero fill become a few moves instead of `memcpy` / `memset` calls (on the
/// Zen 3 machine those calls took a quarter of a 10x100x100-tA product). A partial strip
/// (fewer rows than `w`) is zeroed whole once and then filled row by row. With the AVX2
/// edge-tile stores of the same day: 10x100x100-tA +26%, 10x1000x100-tA +20% (method in
/// BENCHMARKS.md).
///
/// # Safety
/// Reads of the `rows x kc` source strip and writes of `w * kc` elements at `d` are valid;
/// `t16` is runnable on this CPU.
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn pack_strip<T: Elem>(
    w: usize,
    rows: usize,
    kc: usize,
    src: *const T,
    rs: isize,
    cs: isize,
    d: *mut T,
    t16: Option<Transpose16<T>>,
) {
    // SAFETY (every arm): forwarded contract, `w` equal to the const width.
    unsafe {
        match (rs, w) {
            (1, 4) => contiguous::<T, 4>(rows, kc, src, cs, d),
            (1, 6) => contiguous::<T, 6>(rows, kc, src, cs, d),
            (1, 8) => contiguous::<T, 8>(rows, kc, src, cs, d),
            (1, 12) => contiguous::<T, 12>(rows, kc, src, cs, d),
            (1, 16) => contiguous::<T, 16>(rows, kc, src, cs, d),
            (1, 32) => contiguous::<T, 32>(rows, kc, src, cs, d),
            _ => strip_any(w, rows, kc, src, rs, cs, d, t16),
        }
    }
}

/// How many k-steps ahead [`contiguous`] asks for the source line: each k-step of a strip
/// is a different row of a row-major B (or column of A), a pattern the hardware prefetchers
/// follow poorly (measured while serial B blocks were still packed panel by panel, a quarter
/// of a 100x1000x784-tA product waiting on loads: the hint gave +2 to +4% there and on
/// 100x1000x784 and 100x100x784-tA; 40 steps ahead was no better). It still serves A blocks
/// and the panels packed in parallel.
const PREFETCH_STEPS: isize = 16;

/// A hint to load the cache line at `p` (never faults, so `p` may be past the matrix).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint available on every x86-64 CPU (SSE) that never faults.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`pack_strip`] of a source contiguous along the strip (`rs == 1`: each k-step is `rows`
/// consecutive values) for a width `W` fixed at compile time.
///
/// # Safety
/// As [`pack_strip`] with `w = W`, `rs = 1`.
unsafe fn contiguous<T: Elem, const W: usize>(
    rows: usize,
    kc: usize,
    src: *const T,
    cs: isize,
    d: *mut T,
) {
    // SAFETY: reads `(i < rows, p < kc)` of the source, writes `p * W + i`, `i < W`,
    // `p < kc`: in bounds by the contract.
    unsafe {
        if rows == W {
            for p in 0..kc {
                let s = src.offset(p as isize * cs);
                prefetch(s.wrapping_offset(PREFETCH_STEPS.wrapping_mul(cs)));
                core::ptr::copy_nonoverlapping(s, d.add(p * W), W);
            }
        } else {
            // A partial strip (the ragged edge): zero it whole (one vectorised fill), then
            // copy the present rows one at a time along k — strided moves with no per-element
            // branch and nothing a compiler turns into a call per k-step.
            core::ptr::write_bytes(d, 0, W * kc);
            for i in 0..rows {
                for p in 0..kc {
                    *d.add(p * W + i) = *src.offset(p as isize * cs + i as isize);
                }
            }
        }
    }
}

/// Packs a full strip of `w` rows of a row-major source (element `(i, p)` at
/// `src + i * rs + p`) into `d[p * w + i]`: `w x 8` blocks through the SIMD transposition
/// `t`, the last `kc % 8` k-steps element by element, each row's line four lines ahead
/// asked for once per line. On the Zen 3 machine the scalar transposition it replaces took
/// 3% of a 1024^3 product (about 2 cycles per element); this one still takes 2.5%, waiting
/// on A's lines from L3 (the prefetch: +1.2% at 1024^3). 1 thread, swapped old/new against
/// the scalar pack: 512^3 +2.4%, 300^3 +2.3%, 1000x100x784 +1.4%, 1024^3 +1.0%, 2048^3 and
/// 128^3 within +-0.5%; 2 threads within +-1.5%.
///
/// # Safety
/// Reads of `(i < w, p < kc)` of the source and writes of `d .. d + w * kc` are valid; `t`
/// is runnable on this CPU and transposes `w x 8` blocks.
unsafe fn strip_blocks8<T: Elem>(
    w: usize,
    kc: usize,
    src: *const T,
    rs: isize,
    d: *mut T,
    t: TransposeMr<T>,
) {
    let kc8 = kc / 8 * 8;
    // SAFETY: block `p0 < kc8` reads columns `p0 .. p0 + 8 <= kc` of the `w` rows and writes
    // `d + p0 * w .. d + (p0 + 8) * w`; the tail reads and writes in bounds likewise.
    unsafe {
        for p0 in (0..kc8).step_by(8) {
            if p0 % 16 == 0 {
                for i in 0..w {
                    prefetch(src.wrapping_offset(i as isize * rs + (p0 + 64) as isize));
                }
            }
            t(src.add(p0), rs, d.add(p0 * w));
        }
        for p in kc8..kc {
            for i in 0..w {
                *d.add(p * w + i) = *src.offset(i as isize * rs + p as isize);
            }
        }
    }
}

/// [`pack_strip`] for any width and source layout.
///
/// # Safety
/// As [`pack_strip`].
#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn strip_any<T: Elem>(
    w: usize,
    rows: usize,
    kc: usize,
    src: *const T,
    rs: isize,
    cs: isize,
    d: *mut T,
    t16: Option<Transpose16<T>>,
) {
    // SAFETY: every access below is `(i < rows, p < kc)` in the source or `p * w + i` with
    // `i < w`, `p < kc` in the destination, in bounds by the function's contract.
    unsafe {
        // Padding rows: the whole strip zeroed once (a per-k-step fill of a few values
        // compiles to a `memset` call each).
        if rows < w {
            core::ptr::write_bytes(d, 0, w * kc);
        }
        if rs == 1 {
            // Each k-step is `rows` contiguous source values: straight copies.
            for p in 0..kc {
                let s = src.offset(p as isize * cs);
                let dp = d.add(p * w);
                core::ptr::copy_nonoverlapping(s, dp, rows);
            }
        } else if let (true, Some(t), true) = (cs == 1, t16, rows >= 16) {
            // Transpose 16 x 16 blocks with SIMD, the ragged rest element by element.
            let (rows16, kc16) = (rows / 16 * 16, kc / 16 * 16);
            for p0 in (0..kc16).step_by(16) {
                for i0 in (0..rows16).step_by(16) {
                    t(
                        src.offset(i0 as isize * rs + p0 as isize),
                        rs,
                        d.add(p0 * w + i0),
                        w,
                    );
                }
            }
            for p in 0..kc {
                let dp = d.add(p * w);
                let i_start = if p < kc16 { rows16 } else { 0 };
                for i in i_start..rows {
                    *dp.add(i) = *src.offset(i as isize * rs + p as isize);
                }
            }
        } else if cs == 1 {
            // Source rows are contiguous along k: a transpose. Work on 8-wide k blocks so each
            // source row is read as whole cache-line pieces while writes stay near.
            const KB: usize = 8;
            let mut p0 = 0;
            while p0 + KB <= kc {
                let dp = d.add(p0 * w);
                for i in 0..rows {
                    let s = src.offset(i as isize * rs + p0 as isize);
                    let v: [T; KB] = core::ptr::read_unaligned(s as *const [T; KB]);
                    for (pp, x) in v.into_iter().enumerate() {
                        *dp.add(pp * w + i) = x;
                    }
                }
                p0 += KB;
            }
            for p in p0..kc {
                let dp = d.add(p * w);
                for i in 0..rows {
                    *dp.add(i) = *src.offset(i as isize * rs + p as isize);
                }
            }
        } else {
            for p in 0..kc {
                let dp = d.add(p * w);
                for i in 0..rows {
                    *dp.add(i) = *src.offset(i as isize * rs + p as isize * cs);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_a_layout_and_padding() {
        // 5 x 11 row-major source, value = 100 * i + p.
        let (m, k) = (5usize, 11usize);
        let a: Vec<f32> = (0..m * k).map(|x| (100 * (x / k) + x % k) as f32).collect();
        for (rs, cs, data) in [
            (k as isize, 1isize, a.clone()),
            (1, m as isize, {
                let mut t = vec![0.0; m * k];
                for i in 0..m {
                    for p in 0..k {
                        t[p * m + i] = a[i * k + p];
                    }
                }
                t
            }),
        ] {
            let mr = 4;
            let mut dst = vec![f32::NAN; 2 * mr * k];
            // SAFETY: sizes as required by `pack_a`.
            unsafe {
                pack_a(
                    mr,
                    m,
                    k,
                    data.as_ptr(),
                    rs,
                    cs,
                    dst.as_mut_ptr(),
                    None,
                    None,
                )
            };
            for r in 0..2 {
                for p in 0..k {
                    for i in 0..mr {
                        let row = r * mr + i;
                        let want = if row < m { (100 * row + p) as f32 } else { 0.0 };
                        assert_eq!(dst[r * mr * k + p * mr + i], want);
                    }
                }
            }
        }
    }

    #[test]
    fn pack_b_layout_and_padding() {
        let (k, n) = (3usize, 7usize);
        let b: Vec<f64> = (0..k * n).map(|x| (100 * (x / n) + x % n) as f64).collect();
        let nr = 4;
        let mut dst = vec![f64::NAN; 2 * nr * k];
        for s in 0..2 {
            // SAFETY: sizes as required by `pack_b_panel`.
            unsafe {
                pack_b_panel(
                    nr,
                    n,
                    k,
                    s,
                    b.as_ptr(),
                    n as isize,
                    1,
                    dst.as_mut_ptr(),
                    None,
                )
            };
        }
        for s in 0..2 {
            for p in 0..k {
                for j in 0..nr {
                    let col = s * nr + j;
                    let want = if col < n { (100 * p + col) as f64 } else { 0.0 };
                    assert_eq!(dst[s * nr * k + p * nr + j], want);
                }
            }
        }
    }

    #[test]
    fn row_walk_b_pack_equals_panel_pack() {
        // Panel widths with a const copy and one without; full and ragged last panels; the
        // first panels skipped (read in place by the caller).
        for nr in [4usize, 8, 16, 32] {
            for (nc, kc, first) in [
                (64usize, 5usize, 0usize),
                (100, 7, 0),
                (100, 3, 2),
                (17, 9, 0),
            ] {
                let rsb = nc + 3;
                let b: Vec<f32> = (0..kc * rsb).map(|x| x as f32 + 0.25).collect();
                let size = nc.div_ceil(nr) * nr * kc;
                let (mut rows, mut panels) = (vec![f32::NAN; size], vec![f32::NAN; size]);
                // SAFETY: the block is `kc x nc` with row stride `rsb` inside `b`; the
                // destinations hold `ceil(nc / nr) * nr * kc` values.
                unsafe {
                    pack_b_rows(
                        nr,
                        nc,
                        kc,
                        first,
                        b.as_ptr(),
                        rsb as isize,
                        rows.as_mut_ptr(),
                    );
                    for s in first..nc.div_ceil(nr) {
                        let (src, d) = (b.as_ptr(), panels.as_mut_ptr());
                        pack_b_panel(nr, nc, kc, s, src, rsb as isize, 1, d, None);
                    }
                }
                let from = first * nr * kc;
                assert!(
                    rows[from..]
                        .iter()
                        .zip(&panels[from..])
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "nr {nr} nc {nc} kc {kc} first {first}"
                );
            }
        }
    }

    #[test]
    fn every_strip_width_and_height_packs_and_pads() {
        // The compile-time widths and one that runs the generic code; every height up to the
        // width; sources contiguous along the strip (rs = 1) and strided.
        let kc = 13usize;
        for w in [3usize, 4, 6, 8, 12, 16, 32] {
            for rows in 1..=w {
                for contiguous in [true, false] {
                    let (rs, cs) = if contiguous {
                        (1, rows as isize + 2)
                    } else {
                        (kc as isize + 1, 1)
                    };
                    let len = (rows - 1) * rs as usize + (kc - 1) * cs as usize + 1;
                    let src: Vec<f64> = (0..len).map(|x| x as f64 + 0.5).collect();
                    let mut dst = vec![f64::NAN; w * kc];
                    // SAFETY: the source holds the `rows x kc` strip, `dst` `w * kc` values.
                    unsafe {
                        pack_strip(w, rows, kc, src.as_ptr(), rs, cs, dst.as_mut_ptr(), None)
                    };
                    for p in 0..kc {
                        for i in 0..w {
                            let want = if i < rows {
                                src[i * rs as usize + p * cs as usize]
                            } else {
                                0.0
                            };
                            assert_eq!(dst[p * w + i], want, "w {w} rows {rows} p {p} i {i}");
                        }
                    }
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_transpose_pack_matches_scalar() {
        use super::super::transpose::{transpose16_f32, transpose16_f32_avx2};
        let mut kernels: Vec<(Transpose16<f32>, usize)> = Vec::new();
        if std::arch::is_x86_feature_detected!("avx512f") {
            kernels.push((transpose16_f32, 32));
        }
        if std::arch::is_x86_feature_detected!("avx") {
            kernels.push((transpose16_f32_avx2, 16));
            kernels.push((transpose16_f32_avx2, 32));
        }
        // B stored n x k (B^T), packed into nr-wide panels: ragged n and k.
        for ((t, nr), (n, k)) in kernels.into_iter().flat_map(|t| {
            [
                (37usize, 53usize),
                (32, 16),
                (16, 15),
                (100, 784),
                (17, 200),
            ]
            .into_iter()
            .map(move |nk| (t, nk))
        }) {
            let t16 = Some(t);
            let ld = k + 3;
            let b: Vec<f32> = (0..n * ld).map(|x| x as f32).collect();
            let size = n.div_ceil(nr) * nr * k;
            let (mut fast, mut slow) = (vec![f32::NAN; size], vec![f32::NAN; size]);
            for s in 0..n.div_ceil(nr) {
                // SAFETY: sizes as required by `pack_b_panel`; the ISA was checked above.
                unsafe {
                    pack_b_panel(
                        nr,
                        n,
                        k,
                        s,
                        b.as_ptr(),
                        1,
                        ld as isize,
                        fast.as_mut_ptr(),
                        t16,
                    );
                    pack_b_panel(
                        nr,
                        n,
                        k,
                        s,
                        b.as_ptr(),
                        1,
                        ld as isize,
                        slow.as_mut_ptr(),
                        None,
                    );
                }
            }
            assert_eq!(fast, slow, "n {n}, k {k}, nr {nr}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_a_pack_matches_scalar() {
        use super::super::transpose::transpose6x8_f32_avx;
        if !std::arch::is_x86_feature_detected!("avx") {
            return;
        }
        // Row-major A, mr = 6: full and ragged strips, k below, at and off the 8-block,
        // a padded leading dimension; the packed buffer is compared whole (NaN-filled
        // before, so a missed or stray write shows).
        for (m, k) in [
            (6usize, 8usize),
            (6, 1),
            (7, 7),
            (12, 9),
            (13, 23),
            (144, 256),
            (100, 784),
        ] {
            let lda = k + 5;
            let a: Vec<f32> = (0..m * lda).map(|x| x as f32 * 0.5 - 7.0).collect();
            let size = m.div_ceil(6) * 6 * k;
            let (mut fast, mut slow) = (vec![f32::NAN; size], vec![f32::NAN; size]);
            // SAFETY: sizes as required by `pack_a`; AVX checked above.
            unsafe {
                let tmr: TransposeMr<f32> = transpose6x8_f32_avx;
                pack_a(
                    6,
                    m,
                    k,
                    a.as_ptr(),
                    lda as isize,
                    1,
                    fast.as_mut_ptr(),
                    None,
                    Some(tmr),
                );
                pack_a(
                    6,
                    m,
                    k,
                    a.as_ptr(),
                    lda as isize,
                    1,
                    slow.as_mut_ptr(),
                    None,
                    None,
                );
            }
            assert_eq!(fast, slow, "m {m}, k {k}");
        }
    }
}
