//! The BLIS-style blocked driver: five loops around a register-tiled microkernel.
//!
//! ```text
//! for jc in 0..n step NC            (B block columns; B block KC x NC lives in L3)
//!   for pc in 0..k step KC          (pack B[pc.., jc..] into KC x NR micro-panels)
//!     for ic in 0..m step MC        (parallel: pack A[ic.., pc..] into MR x KC micro-panels, L2)
//!       for jr in 0..NC step NR     (one B micro-panel, resident in L1)
//!         for ir in 0..MC step MR   (one A micro-panel streams through)
//!           microkernel: C[ir.., jr..] = alpha * A_panel * B_panel + beta' * C
//! ```
//!
//! `beta' = beta` on the first k block and `1` afterwards, so `beta == 0` never reads C.
//!
//! Packing costs one to two cycles per element, which a product only amortises when each
//! element meets many columns (A) or rows (B). So when `N <= 256`, full-height row blocks of
//! a row- or column-major A are read in place, and when `M <= 256` (and a k block of B is at
//! most 512 KiB), full-width column panels of a row-major B are read in place; only ragged
//! edges are packed then.
//! Block sizes are balanced (`k = 300` runs as two blocks of 152/148, not 256 + 44).
//! Parallelism (rayon, the caller's pool), work below [`PAR_MIN_FLOPS`] stays on the calling
//! thread:
//! * large `m` (at least `MC` rows per thread): the `ic` loop is split into units, each
//!   worker packs its own A block into a thread-local buffer, and the B block is shared:
//!   each of its panels is packed once, by the first unit that needs it (units of different
//!   row blocks start at different panels) — one fork/join per k block, whose depth is
//!   [`Spec::kc_par`];
//! * medium sizes: C is cut into one column (or row) range per thread and each range runs
//!   the whole serial loop nest — a single fork/join per call, which is what matters at
//!   MLP sizes where a fork/join is a sizeable fraction of the multiply.

use core::cell::RefCell;
use core::sync::atomic::{AtomicU8, Ordering};
use rayon::prelude::*;
use std::thread::LocalKey;

use super::elem::{store_tile, Elem};
use super::pack::{pack_a, pack_b_panel, pack_b_rows};
use super::transpose::{Transpose16, TransposeMr};

/// A microkernel: `(kc, alpha, a, sa, b, rsb, beta, c, rsc, m_eff, n_eff)`, computing
/// `C <- alpha * A * B + beta * C` on the top-left `m_eff x n_eff` of an `MR x NR` tile
/// whose rows are `rsc` apart and columns contiguous (`beta == 0`: C is not read).
/// B row `p` is `NR` contiguous values at `b + p * rsb` (a packed micro-panel has
/// `rsb = NR`; a row-major B read in place its row stride). A element `(i, p)` is at
/// `a + p * sa + i` for [`Spec::ukr`] (a packed micro-panel, `sa = MR`, or a column-major A
/// read in place) and at `a + i * sa + p` for [`Spec::ukr_direct_a`] (a row-major A read
/// in place). Kernels always compute all `MR` rows, so in-place A needs full-height blocks.
pub(crate) type Ukr<T> =
    unsafe fn(usize, T, *const T, isize, *const T, isize, T, *mut T, isize, usize, usize);

/// Register tile, cache blocking and microkernel of one instruction set.
#[derive(Clone, Copy)]
pub(crate) struct Spec<T> {
    /// Rows of the register tile.
    pub mr: usize,
    /// Columns of the register tile.
    pub nr: usize,
    /// Depth of a block (L1 blocking).
    pub kc: usize,
    /// Bytes of one vector load of B in the microkernels: a B read in place whose rows are
    /// not aligned to it would have loads straddling cache lines.
    pub vec_bytes: usize,
    /// Depth of a block in the parallel loop over a shared packed B, when A is packed or
    /// read along its rows (at least `kc`; see [`gemm_blocked`]).
    pub kc_par: usize,
    /// Rows of a packed A block (L2 blocking).
    pub mc: usize,
    /// Columns of a packed B block (L3 blocking).
    pub nc: usize,
    /// The microkernel on packed A.
    pub ukr: Ukr<T>,
    /// The microkernel reading full-height A row blocks in place (row-major A), if any.
    pub ukr_direct_a: Option<Ukr<T>>,
    /// Kernels of half the tile width (same `MR`, same A layouts), used for a last column
    /// panel at most `NR / 2` wide (e.g. `N = 100` as 3 x 32 + 16 instead of 4 x 32).
    pub half: Option<Half<T>>,
    /// SIMD 16 x 16 transposition for the transposing packs, if this ISA has one.
    pub transpose16: Option<Transpose16<T>>,
    /// SIMD `MR x 8` transposition for packing full strips of a row-major A, if this ISA
    /// has one.
    pub transpose_mr: Option<TransposeMr<T>>,
}

/// Half-width kernels of a [`Spec`]: `NR / 2` columns, same `MR`.
#[derive(Clone, Copy)]
pub(crate) struct Half<T> {
    /// Columns of the half tile.
    pub nr: usize,
    /// As [`Spec::ukr`].
    pub ukr: Ukr<T>,
    /// As [`Spec::ukr_direct_a`].
    pub ukr_direct_a: Option<Ukr<T>>,
}

/// Below this many flops (`2 m n k`) the multiply stays single-threaded. Waking a sleeping
/// rayon worker and joining it costs tens of microseconds on the (virtualised) development
/// machine, measured: 2 threads lost to 1 on 128^3 (4 Mflop) and on 100x784x100 (16 Mflop)
/// and won from 256^3 (34 Mflop) up.
pub(crate) const PAR_MIN_FLOPS: f64 = 2.0e7;

/// Medium-size parallel ranges carry at least this many flops each; up to four ranges per
/// thread let work stealing even out a core that is busy with something else.
pub(crate) const CHUNK_MIN_FLOPS: f64 = 4.0e6;

/// Up to this many rows of C, `A · Bᵀ` with a row-major A is computed as `(B · Aᵀ)ᵀ` so that
/// the large Bᵀ is read in place instead of packed (see [`gemm`]).
pub(crate) const THIN_M: usize = 32;

/// Up to this many columns of C, A (row- or column-major) is read in place instead of
/// packed. Read in place, a k-step of one tile touches MR cache lines (row-major) or a line
/// of which it uses MR values (column-major), for every one of the `n / NR` column panels;
/// packed, the block is contiguous and stays in L1/L2. At n = 512 packing won:
/// 512x16x512-tA +15% (old/new alternating in one process, places swapped, Zen 3), 512³ and
/// the 512-wide evaluation forwards unchanged.
pub(crate) const DIRECT_A_MAX_N: usize = 256;

/// Up to this many rows of C, a row-major B is read in place instead of packed (except a
/// ragged last column panel), unless its row stride is a multiple of 512 bytes, which
/// would make the rows of a B micro-panel collide in a few L1 sets.
pub(crate) const DIRECT_B_MAX_M: usize = 256;

/// A row-major B read in place because of [`DIRECT_B_MAX_M`] spans at most this many bytes
/// per k block (`kc x n`): about an L2. A larger one comes from L3 or memory one cache line
/// per k-step at the row stride, which the first row tile of every panel waits for; packing
/// streams it row by row instead (100x1000x784-tA: +4% and +19% in two measurements on the
/// Zen 3 machine, whose L2 is 512 KiB; packing B blocks that fit was not clearly better).
pub(crate) const DIRECT_B_MAX_BYTES: usize = 512 * 1024;

/// Up to this depth a row-major B is read in place whatever the number of rows of C: a
/// micro-panel is then at most this many cache lines (the weight gradient `dYᵀ X` of a
/// small batch), and packing it costs one short copy per row per panel.
pub(crate) const DIRECT_B_MAX_K: usize = 32;

/// Most rows of C for which a B whose rows are not aligned to the vector loads is still
/// read in place. Zen 3, AVX2, m x 100 x 784 with B 16 bytes off a 32-byte boundary: read in
/// place it ran 7-10% below an aligned B at every m; packed, 15% below at m = 24, 11% at
/// 48, 7% at 64, 4-7% at 100 (8 floats off, no load straddles a line: as aligned).
pub(crate) const DIRECT_B_MISALIGNED_MAX_M: usize = 64;

/// Largest `MR * NR` of any kernel (AVX-512 `f32`: 12 x 32).
const MAX_TILE: usize = 384;

/// A strided matrix view: element `(i, j)` at `ptr + i * rs + j * cs`.
#[derive(Clone, Copy)]
pub(crate) struct View<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

/// A mutable strided matrix view.
#[derive(Clone, Copy)]
pub(crate) struct ViewMut<T> {
    pub ptr: *mut T,
    pub rs: isize,
    pub cs: isize,
}

/// Everything one parallel work unit needs, shared by reference across rayon workers.
struct Shared<T> {
    spec: Spec<T>,
    a: View<T>,
    c: ViewMut<T>,
    alpha: T,
    beta: T,
    bpack: *const T,
    kc: usize,
    nc: usize,
    jc: usize,
    pc: usize,
    m: usize,
    mc: usize,
    n_splits: usize,
    direct_a: Option<(Ukr<T>, isize)>,
    bsrc: *const T,
    b_rs: isize,
    b_cs: isize,
    full_b: usize,
    /// Per packed panel of the block, when the workers pack B as they first need it (see
    /// [`ensure_packed`]); `None` when B was packed before the units ran.
    panel_state: Option<*const AtomicU8>,
}

// SAFETY: the raw pointers are only dereferenced inside `run_unit`, where every unit reads
// shared inputs (A, packed B) and writes a C region disjoint from every other unit's.
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: as above; the views carry no thread affinity.
unsafe impl<T: Send> Send for Shared<T> {}

/// A growable, 64-byte aligned scratch buffer for packed panels.
#[derive(Default)]
struct AlignedBuf {
    v: Vec<Align64>,
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Align64([u8; 64]);

impl AlignedBuf {
    fn ensure(&mut self, bytes: usize) -> *mut u8 {
        let need = bytes.div_ceil(64);
        if self.v.len() < need {
            self.v = vec![Align64([0; 64]); need];
        }
        self.v.as_mut_ptr() as *mut u8
    }
}

thread_local! {
    static A_BUF: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::default());
    static B_BUF: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::default());
}

/// Runs `f` with a 64-byte aligned scratch area of at least `bytes`, reused across calls on
/// this thread; a nested use (e.g. a rayon worker stealing another GEMM while this one waits)
/// gets a fresh allocation instead of a borrow conflict.
fn with_buf<R>(
    key: &'static LocalKey<RefCell<AlignedBuf>>,
    bytes: usize,
    f: impl FnOnce(*mut u8) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(buf.ensure(bytes)),
        Err(_) => {
            let mut tmp = AlignedBuf::default();
            f(tmp.ensure(bytes))
        }
    })
}

/// A stride's length in bytes, `|s| * size_of::<T>()`, multiplied wrapping: the stride of a
/// single-row operand is never used and may be any value, so only its residues matter.
fn stride_bytes<T>(s: isize) -> usize {
    s.unsigned_abs().wrapping_mul(core::mem::size_of::<T>())
}

/// `ceil(x / parts)` rounded up to a multiple of `q`.
fn balanced(x: usize, parts: usize, q: usize) -> usize {
    x.div_ceil(parts).div_ceil(q) * q
}

/// Width of the C rows the kernels will produce: `n`, or `m` when the driver computes
/// `C^T = B^T A^T` for a column-major C.
pub(crate) fn effective_n<T>(m: usize, n: usize, c: ViewMut<T>) -> usize {
    if c.cs != 1 && c.rs == 1 {
        m
    } else {
        n
    }
}

/// `C <- beta * C` on an `m x n` view (`beta == 0` writes zeros, ignoring NaN).
///
/// # Safety
/// Every `c + i * rs + j * cs`, `i < m`, `j < n`, must be valid for reads and writes.
pub(crate) unsafe fn scale_c<T: Elem>(m: usize, n: usize, beta: T, c: ViewMut<T>) {
    if beta == T::ONE {
        return;
    }
    for i in 0..m {
        for j in 0..n {
            // SAFETY: in bounds by the contract.
            unsafe {
                let p = c.ptr.offset(i as isize * c.rs + j as isize * c.cs);
                *p = if beta == T::ZERO { T::ZERO } else { beta * *p };
            }
        }
    }
}

/// The same product transposed: `Cᵀ = Bᵀ Aᵀ`, an `n x m` result from the `n x k` view Bᵀ
/// and the `k x m` view Aᵀ (views only: strides swapped, nothing moves).
#[allow(clippy::type_complexity)]
fn transposed<T>(
    m: usize,
    n: usize,
    a: View<T>,
    b: View<T>,
    c: ViewMut<T>,
) -> (usize, usize, View<T>, View<T>, ViewMut<T>) {
    let at = View {
        ptr: a.ptr,
        rs: a.cs,
        cs: a.rs,
    };
    let bt = View {
        ptr: b.ptr,
        rs: b.cs,
        cs: b.rs,
    };
    let ct = ViewMut {
        ptr: c.ptr,
        rs: c.cs,
        cs: c.rs,
    };
    (n, m, bt, at, ct)
}

/// `C <- alpha * A * B + beta * C` for an `m x k` view A, `k x n` view B, `m x n` view C.
///
/// # Safety
/// All elements addressed by the views for the given dimensions must be valid (C for reads
/// and writes), and C must not overlap A or B. Distinct `(i, j)` of C must be distinct
/// memory locations.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm<T: Elem>(
    spec: &Spec<T>,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: View<T>,
    b: View<T>,
    beta: T,
    c: ViewMut<T>,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == T::ZERO {
        // SAFETY: forwarded contract.
        unsafe { scale_c(m, n, beta, c) };
        return;
    }
    // The kernels want C's columns contiguous: for a column-major C, compute
    // C^T = B^T A^T instead.
    let (m, n, a, b, c) = if c.cs != 1 && c.rs == 1 {
        transposed(m, n, a, b, c)
    } else {
        (m, n, a, b, c)
    };

    // A few rows times a transposed B (the MLP forward `X · Wᵀ` at a small batch): packing
    // B would copy all of W for only `m` rows of work, and `m` rows fill the MR-row tiles
    // poorly. Compute `Cᵀ = Bᵀ · Aᵀ` instead: Bᵀ (= W, row-major) is read in place as the A
    // operand, the small Aᵀ is packed as B (`m` columns: one NR-wide panel for m = 16), and
    // the transposed tiles of C go through the strided-tile store.
    // The same holds for a row-major B that would be packed (its stride aliases, or it is
    // too tall to read in place: the backward `dY · W`), whose transpose is a column-major
    // A read in place by the normal kernel.
    let b_packed_row_major = b.cs == 1 && b.rs != 1 && stride_bytes::<T>(b.rs).is_multiple_of(512);
    let (m, n, a, b, c) = if m <= THIN_M
        && n >= 2 * m
        && c.cs == 1
        && a.cs == 1
        && ((b.rs == 1 && b.cs != 1) || b_packed_row_major)
    {
        transposed(m, n, a, b, c)
    } else {
        (m, n, a, b, c)
    };

    let flops = 2.0 * m as f64 * n as f64 * k as f64;
    let threads = if flops >= PAR_MIN_FLOPS {
        rayon::current_num_threads().max(1)
    } else {
        1
    };
    let (mr, nr) = (spec.mr, spec.nr);
    if threads == 1 || m >= threads * spec.mc {
        // Serial, or large enough that sharing one packed B block between the workers (a
        // fork/join per k block) beats packing it per worker.
        // SAFETY: forwarded contract.
        unsafe { gemm_blocked(spec, m, n, k, alpha, a, b, beta, c, threads) };
        return;
    }
    // Medium sizes: one fork/join. Split C into independent column (or row) ranges, each
    // run serially by one worker with its own packing. Columns when A is read in place
    // (no duplicated A packing) or is the smaller operand, rows otherwise (each worker then
    // packs or reads all of B).
    let a_in_place = n <= DIRECT_A_MAX_N && (a.cs == 1 || a.rs == 1);
    // (An estimate: the blocked driver may still pack an A whose stride aliases.)
    let half = spec.half.map_or(nr, |h| h.nr);
    // Otherwise split the dimension whose operand is the larger one to re-read: a row range
    // packs (or reads) all of B (k x n), a column range all of A (m x k). 100x1000x784-tA on
    // 2 threads: row ranges streamed the 3 MiB B once per 18 rows.
    let split_n =
        (a_in_place && n >= threads * half) || m < threads * mr || (m < n && n >= threads * nr);
    // Column ranges are whole tiles wide (ragged only at the end), row ranges whole MR.
    let (len, q) = if split_n { (n, nr) } else { (m, mr) };
    let by_work = ((flops / CHUNK_MIN_FLOPS) as usize).clamp(threads, 4 * threads);
    let step = range_step(len, q, threads, threads, by_work);
    let chunks = len.div_ceil(step);
    if chunks == 1 {
        // SAFETY: forwarded contract.
        unsafe { gemm_blocked(spec, m, n, k, alpha, a, b, beta, c, 1) };
        return;
    }
    let (a_s, b_s, c_s) = (SendView(a), SendView(b), SendViewMut(c));
    (0..chunks).into_par_iter().for_each(|t| {
        let (a, b, c) = (a_s.get(), b_s.get(), c_s.get());
        let (lo, hi) = (t * step, ((t + 1) * step).min(len));
        // SAFETY: chunk `t` is the sub-product on C columns (or rows) lo..hi, inside the
        // views; chunks write disjoint parts of C.
        unsafe {
            if split_n {
                let b = View {
                    ptr: b.ptr.offset(lo as isize * b.cs),
                    ..b
                };
                let c = ViewMut {
                    ptr: c.ptr.offset(lo as isize * c.cs),
                    ..c
                };
                gemm_blocked(spec, m, hi - lo, k, alpha, a, b, beta, c, 1);
            } else {
                let a = View {
                    ptr: a.ptr.offset(lo as isize * a.rs),
                    ..a
                };
                let c = ViewMut {
                    ptr: c.ptr.offset(lo as isize * c.rs),
                    ..c
                };
                gemm_blocked(spec, hi - lo, n, k, alpha, a, b, beta, c, 1);
            }
        }
    });
}

#[derive(Clone, Copy)]
struct SendView<T>(View<T>);
// SAFETY: a read-only view handed to workers that read disjoint or shared-immutable data.
unsafe impl<T> Send for SendView<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendView<T> {}

impl<T: Copy> SendView<T> {
    fn get(&self) -> View<T> {
        self.0
    }
}

#[derive(Clone, Copy)]
struct SendViewMut<T>(ViewMut<T>);

impl<T: Copy> SendViewMut<T> {
    fn get(&self) -> ViewMut<T> {
        self.0
    }
}
// SAFETY: each worker writes only its own disjoint range of C through this view.
unsafe impl<T> Send for SendViewMut<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendViewMut<T> {}

/// The length of the ranges (whole multiples of `q`, the last one ragged) that cut `len`
/// among `threads` workers into `min_ranges..=max_ranges` ranges (as far as `len` allows)
/// and finish soonest when dealt to the workers in turn; of equally fast cuts, the one with
/// the most ranges (work stealing evens those out when a core is busy elsewhere).
///
/// Whole tiles make the counts lumpy: 90 columns in 16-wide tiles on 2 workers as 3 ranges
/// (32, 32, 26) take two rounds, as 2 (48, 42) or 6 (16 x 5, 10) about half as long. Picking
/// the count this way (2 threads, Zen 3, swapped old/new method): 250x500x90-tA +52%,
/// 100x1000x784-tA +33% (7 ranges of 112 before, 400 + 384 now), 200x300x600-tA +12%,
/// 100x1000x784 +7%; shapes whose counts already dealt evenly unchanged.
fn range_step(len: usize, q: usize, threads: usize, min_ranges: usize, max_ranges: usize) -> usize {
    let hi = max_ranges.min(len.div_ceil(q)).max(1);
    let lo = min_ranges.min(hi).max(1);
    let mut best = (usize::MAX, 0);
    for ranges in lo..=hi {
        let step = balanced(len, ranges, q);
        let (full, rest) = (len / step, len % step);
        let (rounds, extra) = (full / threads, full % threads);
        // Full ranges round-robin; the ragged one to a worker with the fewest.
        let finish = if extra > 0 {
            (rounds + 1) * step
        } else {
            rounds * step + rest
        };
        if finish <= best.0 {
            best = (finish, step);
        }
    }
    best.1
}

/// The blocked loop nest on `threads` workers (1: on the calling thread), with the
/// transposition and trivial cases already handled by [`gemm`].
///
/// # Safety
/// As [`gemm`], with `m, n, k > 0` and C's columns contiguous or general strides.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_blocked<T: Elem>(
    spec: &Spec<T>,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: View<T>,
    b: View<T>,
    beta: T,
    c: ViewMut<T>,
    threads: usize,
) {
    let (mr, nr) = (spec.mr, spec.nr);
    debug_assert!(mr * nr <= MAX_TILE);

    // A C without contiguous columns (the transposed thin-rows product) is updated through
    // the scalar tile store once per k block: for a single column panel, take up to four
    // times the depth per block (the one B micro-panel then lives in L2 rather than L1, while
    // A streams from further out anyway) so C is read and written fewer times.
    let kc_target = if c.cs != 1 && n <= spec.nr {
        4 * spec.kc
    } else {
        spec.kc
    };
    let kc_max = balanced(k, k.div_ceil(kc_target), 8).min(k);
    let nc_max = balanced(n, n.div_ceil(spec.nc), nr);

    // Row blocks: at most MC rows each; when parallel, up to four per thread (at least 4 MR
    // rows each), eight per thread while blocks keep 64 rows, or the next multiple of the
    // thread count, so work stealing can route around a core that is busy with something
    // else (every k block ends in a join, and a block's last unit is what the other worker
    // waits for: 2 threads, swapped old/new, eight against four per thread: 1024^3 +1.5% and
    // +3.2%, 1000x784x100-tB +1.0% and +1.5%, 1000x100x784 -0.5%; 300^3, 512^3, 2048^3 keep
    // their counts). Of those counts, the one whose blocks deal most evenly to the workers
    // (whole MR rows make the counts lumpy; see `range_step`).
    let fewest = m.div_ceil(spec.mc);
    let mc = if threads > 1 {
        let most = (fewest.div_ceil(threads) * threads)
            .max((4 * threads).min(m / (4 * mr)))
            .max((8 * threads).min(m / 64));
        range_step(m, mr, threads, fewest, most)
    } else {
        balanced(m, fewest, mr)
    };
    let m_blocks = m.div_ceil(mc);

    // Reading A in place skips the pack (1-2 cycles per element, which matters when each A
    // element meets few columns of B): a row-major A through the direct-A kernel, a
    // column-major (transposed) A through the normal kernel with a k-stride of `a.cs`.
    // A stride that is a multiple of 4 KiB would put all rows (k-steps) of a micro-panel in
    // one L1 set; such an A is packed. (These stride tests multiply wrapping: the stride of
    // a single-row operand is never used and may be any value.)
    let aliasing = |s: isize| stride_bytes::<T>(s).is_multiple_of(4096);
    let direct_a = if n > DIRECT_A_MAX_N {
        None
    } else if a.cs == 1 && !aliasing(a.rs) {
        spec.ukr_direct_a.map(|d| (d, a.rs))
    } else if a.rs == 1 && !aliasing(a.cs) {
        Some((spec.ukr, a.cs))
    } else {
        None
    };

    // A B read in place takes each k-step's NR values with vector loads at the row's own
    // address: rows not aligned to the vector size make loads that straddle two cache lines,
    // once per row tile. Such a B is packed when enough row tiles would pay that (see
    // `DIRECT_B_MISALIGNED_MAX_M`), unless k is so shallow that the pack would dominate.
    let b_aligned = (b.ptr as usize).is_multiple_of(spec.vec_bytes)
        && stride_bytes::<T>(b.rs).is_multiple_of(spec.vec_bytes);
    let direct_b = b.cs == 1
        && ((m <= DIRECT_B_MAX_M
            && kc_max * n * core::mem::size_of::<T>() <= DIRECT_B_MAX_BYTES
            && (b_aligned || m <= DIRECT_B_MISALIGNED_MAX_M))
            || k <= DIRECT_B_MAX_K)
        && !stride_bytes::<T>(b.rs).is_multiple_of(512);

    // Workers sharing a packed B block join once per k block: deeper blocks, fewer joins.
    // Not for operands read in place one cache line per k-step (B, a column-major A), whose
    // micro-panels would outgrow L1. Zen 3, AVX2, 2 threads, 512 against 256 (swapped
    // old/new method, when B was still packed in a join of its own): 512^3 +7%,
    // 512x784x512-tB +8%, 1000x784x100-tB +15%; 1024 against 512: k = 784 and 1000
    // products +3 to +9% (figures in avx2.rs); on 1 thread 512 read -5% to +3%, so serial
    // blocks keep `kc`.
    let kc_max = if threads > 1
        && (direct_a.is_none() || a.cs == 1)
        && !direct_b
        && c.cs == 1
        && spec.kc_par > kc_target
    {
        balanced(k, k.div_ceil(spec.kc_par), 8).min(k)
    } else {
        kc_max
    };
    let t16 = spec.transpose16;
    let b_bytes = nc_max.div_ceil(nr) * nr * kc_max * core::mem::size_of::<T>();
    with_buf(&B_BUF, b_bytes, |bbuf| {
        let bbuf = bbuf as *mut T;
        let panel_state: Vec<AtomicU8> = if threads > 1 {
            (0..nc_max.div_ceil(nr))
                .map(|_| AtomicU8::new(PANEL_EMPTY))
                .collect()
        } else {
            Vec::new()
        };
        let mut jc = 0;
        while jc < n {
            let nc = nc_max.min(n - jc);
            let panels = nc.div_ceil(nr);
            // Panels read in place (direct B) precede the ones packed.
            let full_b = if direct_b { nc / nr } else { 0 };
            let n_splits = if threads > m_blocks {
                threads.div_ceil(m_blocks).min(panels)
            } else {
                1
            };
            let mut pc = 0;
            while pc < k {
                let kc = kc_max.min(k - pc);
                // SAFETY: the B block rows pc..pc+kc, columns jc..jc+nc are inside B.
                let bsrc = unsafe { b.ptr.offset(pc as isize * b.rs + jc as isize * b.cs) };
                let pack = |s: usize| {
                    // SAFETY: panel `s < panels` of a buffer sized for `panels * nr * kc`.
                    unsafe { pack_b_panel(nr, nc, kc, s, bsrc, b.rs, b.cs, bbuf, t16) }
                };
                let units = m_blocks * n_splits;
                // Parallel: the units pack the B panels as they first need them, so a k block
                // costs one join rather than two (a parallel pack's and the units'; 2 threads,
                // swapped old/new: 300^3 +9%, 400x784x128-tB +10%, 1000x784x100-tB +4 to
                // +6%, 512^3 to 2048^3 within +-2%).
                let pack_in_units = threads > 1 && units > 1 && panels > full_b;
                if pack_in_units {
                    for st in &panel_state[..panels] {
                        st.store(PANEL_EMPTY, Ordering::Relaxed);
                    }
                } else if b.cs == 1 && panels - full_b > 1 {
                    // SAFETY: panels `full_b..panels` of the block, as `pack` above.
                    unsafe { pack_b_rows(nr, nc, kc, full_b, bsrc, b.rs, bbuf) };
                } else {
                    (full_b..panels).for_each(pack);
                }
                let shared = Shared {
                    spec: *spec,
                    a,
                    c,
                    alpha,
                    beta: if pc == 0 { beta } else { T::ONE },
                    bpack: bbuf,
                    kc,
                    nc,
                    jc,
                    pc,
                    m,
                    mc,
                    n_splits,
                    direct_a,
                    bsrc,
                    b_rs: b.rs,
                    b_cs: b.cs,
                    full_b,
                    panel_state: pack_in_units.then_some(panel_state.as_ptr()),
                };
                if threads == 1 || units == 1 {
                    for u in 0..units {
                        // SAFETY: units cover the block; contract forwarded.
                        unsafe { run_unit(&shared, u) };
                    }
                } else {
                    (0..units).into_par_iter().for_each(|u| {
                        // SAFETY: units write disjoint C tiles; contract forwarded.
                        unsafe { run_unit(&shared, u) }
                    });
                }
                pc += kc;
            }
            jc += nc;
        }
    });
}

/// [`Shared::panel_state`] values: not packed, being packed by one worker, packed.
const PANEL_EMPTY: u8 = 0;
const PANEL_BUSY: u8 = 1;
const PANEL_READY: u8 = 2;
/// Busy-wait iterations on a panel another unit is packing before the waiter starts yielding
/// its core (a panel packs in a few microseconds; about a thousand pause instructions span a
/// few of them).
const SPINS_BEFORE_YIELD: u32 = 1 << 10;

/// Makes sure packed panel `jp` of the shared B block is ready: the first unit to ask packs
/// it; a unit asking while another packs it waits for it (one panel's packing, a few
/// microseconds; the packer waits on nothing, so this always ends).
///
/// # Safety
/// `state` is the panel's entry of `s.panel_state`; `jp` a packed panel of the block, whose
/// source and buffer are valid as for the up-front pack in [`gemm_blocked`].
unsafe fn ensure_packed<T: Elem>(s: &Shared<T>, state: *const AtomicU8, jp: usize) {
    // SAFETY: a live entry of the caller's state vector (contract).
    let st = unsafe { &*state };
    if st.load(Ordering::Acquire) == PANEL_READY {
        return;
    }
    if st
        .compare_exchange(
            PANEL_EMPTY,
            PANEL_BUSY,
            Ordering::Acquire,
            Ordering::Acquire,
        )
        .is_ok()
    {
        // SAFETY: this worker alone won the panel, so it alone writes its slice of the
        // buffer; readers wait for the release below.
        unsafe {
            pack_b_panel(
                s.spec.nr,
                s.nc,
                s.kc,
                jp,
                s.bsrc,
                s.b_rs,
                s.b_cs,
                s.bpack as *mut T,
                s.spec.transpose16,
            )
        };
        st.store(PANEL_READY, Ordering::Release);
    } else {
        // Spin briefly (the usual wait is shorter than a context switch), then yield: with
        // more workers than free cores the packer may be preempted, and spinning would only
        // burn the time slice it needs.
        let mut spins = 0u32;
        while st.load(Ordering::Acquire) != PANEL_READY {
            if spins < SPINS_BEFORE_YIELD {
                spins += 1;
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// One parallel unit: row block `u / n_splits`, column share `u % n_splits` of the packed
/// B block; packs its A block and runs the two inner loops.
///
/// # Safety
/// `s` describes valid views and a packed B block as set up by [`gemm`].
unsafe fn run_unit<T: Elem>(s: &Shared<T>, u: usize) {
    let Spec { mr, nr, ukr, .. } = s.spec;
    let ib = u / s.n_splits;
    let ns = u % s.n_splits;
    let i0 = ib * s.mc;
    if i0 >= s.m {
        return;
    }
    let mc = s.mc.min(s.m - i0);
    let panels = s.nc.div_ceil(nr);
    let per = panels.div_ceil(s.n_splits);
    let (p0, p1) = (ns * per, ((ns + 1) * per).min(panels));
    if p0 >= p1 {
        return;
    }
    let kc = s.kc;
    // SAFETY: rows i0.., columns pc.. of A are inside A.
    let asrc = unsafe {
        s.a.ptr
            .offset(i0 as isize * s.a.rs + s.pc as isize * s.a.cs)
    };
    // Full-height row blocks read in place when `direct_a`; the rest is packed.
    let full = if s.direct_a.is_some() { mc / mr } else { 0 };
    let packed_rows = mc - full * mr;
    let a_bytes = packed_rows.div_ceil(mr) * mr * kc * core::mem::size_of::<T>();
    with_buf(&A_BUF, a_bytes, |abuf| {
        let abuf = abuf as *mut T;
        if packed_rows > 0 {
            // SAFETY: rows i0 + full*mr .. i0 + mc, columns pc..pc+kc of A are valid; the
            // buffer is sized for `ceil(packed_rows / mr) * mr * kc` elements.
            unsafe {
                let src = asrc.offset((full * mr) as isize * s.a.rs);
                pack_a(
                    mr,
                    packed_rows,
                    kc,
                    src,
                    s.a.rs,
                    s.a.cs,
                    abuf,
                    s.spec.transpose16,
                    s.spec.transpose_mr,
                );
            }
        }
        let c = s.c;
        // Scratch tile for a C without contiguous columns (not initialised otherwise: a
        // 1.5 KiB memset per call shows up on 100x100x10).
        let mut tile = if c.cs == 1 {
            None
        } else {
            Some([T::ZERO; MAX_TILE])
        };
        // Units of different row blocks start at different panels, so that when they pack B
        // as they go (`panel_state`) they pack different panels at the same time.
        let count = p1 - p0;
        let first = if s.panel_state.is_some() {
            ib * count / s.m.div_ceil(s.mc)
        } else {
            0
        };
        for idx in 0..count {
            let jp = p0 + (first + idx) % count;
            if let Some(states) = s.panel_state {
                if jp >= s.full_b {
                    // SAFETY: `states` holds one entry per panel of the block; the panel is
                    // inside the packed-B buffer and the B block, as for the up-front pack.
                    unsafe { ensure_packed(s, states.add(jp), jp) };
                }
            }
            let j = jp * nr;
            let n_eff = nr.min(s.nc - j);
            // SAFETY: columns `j..j+nr` of the B block in place (`jp < full_b`), else panel
            // `jp` of the packed B block.
            let (bp, rsb) = unsafe {
                if jp < s.full_b {
                    (s.bsrc.add(j), s.b_rs)
                } else {
                    (s.bpack.add(jp * nr * kc), nr as isize)
                }
            };
            // A last panel at most half a tile wide runs the half-width kernels.
            // `knr`: the width of the kernel's tile (the scratch tile's row stride below).
            let (ukr, direct_a, knr) = match s.spec.half {
                Some(h) if n_eff <= h.nr => (
                    h.ukr,
                    s.direct_a.map(|(d, sa)| {
                        let hd = if s.a.cs == 1 {
                            h.ukr_direct_a.unwrap_or(d)
                        } else {
                            h.ukr
                        };
                        (hd, sa)
                    }),
                    h.nr,
                ),
                _ => (ukr, s.direct_a, nr),
            };
            for ip in 0..mc.div_ceil(mr) {
                let i = ip * mr;
                let m_eff = mr.min(mc - i);
                // SAFETY: rows `i..i+mr` of the unit are full A rows when `ip < full`, else
                // panel `ip - full` of the packed A buffer; the C tile at (i0 + i, jc + j)
                // of size m_eff x n_eff is inside C and owned by this unit alone.
                unsafe {
                    let (kern, ap, sa) = match direct_a {
                        Some((d, sa)) if ip < full => (d, asrc.offset(i as isize * s.a.rs), sa),
                        _ => (
                            ukr,
                            abuf.add((ip - full) * mr * kc) as *const T,
                            mr as isize,
                        ),
                    };
                    let cp = c
                        .ptr
                        .offset((i0 + i) as isize * c.rs + (s.jc + j) as isize * c.cs);
                    if c.cs == 1 {
                        kern(kc, s.alpha, ap, sa, bp, rsb, s.beta, cp, c.rs, m_eff, n_eff);
                    } else if let Some(tile) = tile.as_mut() {
                        // The kernel writes its whole tile (`mr x knr`: the half kernel's
                        // is narrower than the spec's) into the scratch tile, which holds
                        // `mr * nr >= mr * knr` elements.
                        let t = tile.as_mut_ptr();
                        kern(
                            kc,
                            s.alpha,
                            ap,
                            sa,
                            bp,
                            rsb,
                            T::ZERO,
                            t,
                            knr as isize,
                            mr,
                            knr,
                        );
                        store_tile(t, knr, m_eff, n_eff, s.beta, cp, c.rs, c.cs);
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_step_deals_whole_tiles_evenly() {
        // 90 columns, 16-wide tiles, 2 workers: 3 ranges would take two rounds of 32;
        // 6 ranges of 16 (+10) finish as soon as 2 of 48/42, and are preferred (more).
        assert_eq!(range_step(90, 16, 2, 2, 8), 16);
        // 784 columns, up to 8 ranges: 7 x 112 takes 4 rounds (448); 400 + 384 takes 400.
        assert_eq!(range_step(784, 16, 2, 2, 8), 400);
        // Evenly divisible: 16 ranges of 32 finish as soon as 4 of 128, and are more.
        assert_eq!(range_step(512, 8, 4, 4, 16), 32);
        // Fewer quanta than workers: one range per quantum.
        assert_eq!(range_step(20, 16, 4, 4, 16), 16);
        // At least `min` ranges (MC-sized blocks): 300 rows in 6-row tiles on 2 workers as
        // 6 x 48 + 12 (156 each at most) rather than 7 x 42 + 6 (168).
        assert_eq!(range_step(300, 6, 2, 3, 8), 48);
        // Every result is a multiple of the quantum covering `len` in at most `max` ranges.
        for len in 1..200 {
            for threads in 1..5 {
                let step = range_step(len, 6, threads, threads, 4 * threads);
                assert_eq!(step % 6, 0);
                assert!(len.div_ceil(step) <= (4 * threads).max(1));
            }
        }
    }

    #[test]
    fn balanced_blocks_cover_and_respect_the_quantum() {
        assert_eq!(balanced(300, 2, 8), 152);
        assert_eq!(balanced(100, 2, 12), 60);
        assert_eq!(balanced(7, 1, 8), 8);
        for (x, parts, q) in [(1000usize, 3usize, 12usize), (97, 4, 16), (1, 1, 1)] {
            let b = balanced(x, parts, q);
            assert_eq!(b % q, 0);
            assert!(b * parts >= x);
        }
    }

    #[test]
    fn effective_n_follows_the_contiguous_dimension() {
        let mut c = [0.0f32; 6];
        let row = ViewMut {
            ptr: c.as_mut_ptr(),
            rs: 3,
            cs: 1,
        };
        let col = ViewMut {
            ptr: c.as_mut_ptr(),
            rs: 1,
            cs: 2,
        };
        assert_eq!(effective_n(2, 3, row), 3);
        assert_eq!(effective_n(2, 3, col), 2);
    }

    #[test]
    fn scale_c_handles_zero_one_and_nan() {
        let mut c = [1.0f32, f32::NAN, 3.0, 4.0];
        let v = ViewMut {
            ptr: c.as_mut_ptr(),
            rs: 2,
            cs: 1,
        };
        // SAFETY: a 2 x 2 view of the 4-element array.
        unsafe { scale_c(2, 2, 1.0, v) };
        assert!(c[1].is_nan());
        // SAFETY: as above.
        unsafe { scale_c(2, 2, 0.0, v) };
        assert_eq!(c, [0.0; 4]);
        let mut d = [1.0f64, 2.0];
        let v = ViewMut {
            ptr: d.as_mut_ptr(),
            rs: 1,
            cs: 1,
        };
        // SAFETY: a 1 x 2 view of the 2-element array.
        unsafe { scale_c(1, 2, -2.0, v) };
        assert_eq!(d, [-2.0, -4.0]);
    }

    #[test]
    fn nested_buffer_use_falls_back_to_a_fresh_allocation() {
        let outer = with_buf(&A_BUF, 128, |p| {
            let inner = with_buf(&A_BUF, 128, |q| q as usize);
            assert_ne!(p as usize, inner);
            p as usize
        });
        assert_eq!(outer % 64, 0);
    }
}
