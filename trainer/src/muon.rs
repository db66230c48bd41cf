//! `--optimizer muon`: PyTorch's Muon on the weight matrices and AdamW on the biases, the
//! pairing PyTorch's documentation prescribes (Muon accepts 2-D parameters only):
//!
//! ```python
//! muon = torch.optim.Muon(weights, lr=LR, weight_decay=WD, momentum=M, nesterov=N, ...)
//! adamw = torch.optim.AdamW(biases, lr=AUX_LR, betas=BETAS, weight_decay=AUX_WD)
//! ```
//!
//! The flat parameter vector interleaves each layer's weight and bias, so each step gathers
//! the weights and the biases into contiguous buffers, steps both optimizers and scatters the
//! results back (two copies of the parameters per step, against Muon's Newton–Schulz
//! products). An LR schedule sets Muon's lr and scales AdamW's by the same factor
//! (`aux_lr · lr / lr₀`): PyTorch's result with one scheduler of the same kind on each
//! optimizer whenever the schedule multiplies the initial lr (StepLR, MultiStepLR,
//! ExponentialLR, LinearLR, ConstantLR, PolynomialLR, LambdaLR, MultiplicativeLR, cosine
//! annealing to 0, ...). A cycled momentum (CyclicLR / OneCycleLR) is Muon's `momentum`.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::optimizer::{export_bytes, Stepper};
use descent_core::optim::{Optimizer, TensorShape};
use descent_core::Result as CoreResult;

/// Magic of the combined state: Muon's blob, then AdamW's.
const MAGIC: &[u8; 8] = b"DSCMUON1";

/// Muon on the matrices, AdamW on the vectors, of one flat parameter vector.
pub struct MuonStepper {
    muon: Box<dyn Optimizer<f32> + Send>,
    aux: Option<Box<dyn Optimizer<f32> + Send>>,
    mats: Vec<Range<usize>>,
    vecs: Vec<Range<usize>>,
    /// Gathered weights / their gradient, then biases / theirs.
    wp: Vec<f32>,
    wg: Vec<f32>,
    vp: Vec<f32>,
    vg: Vec<f32>,
    lr0: f64,
    aux_lr0: f64,
}

impl MuonStepper {
    /// Muon over the matrices of `tensors` (in order, gathered back to back) and `aux` over the
    /// vectors (`None` when there are none); `lr0` / `aux_lr0` are their initial lrs.
    pub fn new(
        muon: Box<dyn Optimizer<f32> + Send>,
        aux: Option<Box<dyn Optimizer<f32> + Send>>,
        tensors: &[TensorShape],
        lr0: f64,
        aux_lr0: f64,
    ) -> Result<Self> {
        let (mut mats, mut vecs, mut at) = (Vec::new(), Vec::new(), 0usize);
        for t in tensors {
            let r = at..at + t.numel();
            at = r.end;
            match t {
                TensorShape::Matrix(..) => mats.push(r),
                _ => vecs.push(r),
            }
        }
        let len = |v: &[Range<usize>]| v.iter().map(|r| r.len()).sum::<usize>();
        let (nw, nv) = (len(&mats), len(&vecs));
        if muon.n_params() != nw || aux.as_ref().map_or(0, |a| a.n_params()) != nv {
            return Err(Error::Runtime(format!(
                "muon: optimizers for {} and {} parameters, layers with {nw} weights and {nv} biases",
                muon.n_params(),
                aux.as_ref().map_or(0, |a| a.n_params())
            )));
        }
        let zeros = |n| crate::optimizer::zeroed(n, "--optimizer muon", "buffers", n);
        Ok(Self {
            muon,
            aux,
            mats,
            vecs,
            wp: zeros(nw)?,
            wg: zeros(nw)?,
            vp: zeros(nv)?,
            vg: zeros(nv)?,
            lr0,
            aux_lr0,
        })
    }

    fn gather(ranges: &[Range<usize>], src: &[f32], dst: &mut [f32]) {
        let mut at = 0;
        for r in ranges {
            dst[at..at + r.len()].copy_from_slice(&src[r.clone()]);
            at += r.len();
        }
    }

    fn scatter(ranges: &[Range<usize>], src: &[f32], dst: &mut [f32]) {
        let mut at = 0;
        for r in ranges {
            dst[r.clone()].copy_from_slice(&src[at..at + r.len()]);
            at += r.len();
        }
    }

    fn blob(o: &dyn Optimizer<f32>) -> Result<Vec<u8>> {
        export_bytes(o.state_bytes_len(), |b| o.export_state(b))
    }
}

fn bad_state(reason: &'static str) -> descent_core::Error {
    descent_core::Error::BadState { reason }
}

impl Stepper for MuonStepper {
    fn torch_name(&self) -> &'static str {
        "Muon"
    }
    fn lr(&self) -> f64 {
        self.muon.lr(0).unwrap_or(f64::NAN)
    }
    fn set_lr(&mut self, lr: f64) -> CoreResult<()> {
        self.muon.set_lr_all(lr)?;
        if let Some(a) = &mut self.aux {
            if self.lr0 > 0.0 {
                a.set_lr_all(self.aux_lr0 * (lr / self.lr0))?;
            }
        }
        Ok(())
    }
    fn momentum(&self) -> Option<f64> {
        self.muon.momentum()
    }
    fn set_momentum(&mut self, momentum: f64) -> CoreResult<()> {
        self.muon.set_momentum(momentum)
    }
    /// `DSCMUON1`, Muon's blob length (u64 little-endian), Muon's blob, AdamW's blob.
    fn export(&self) -> Result<Vec<u8>> {
        let m = Self::blob(&*self.muon)?;
        let a = match &self.aux {
            Some(a) => Self::blob(&**a)?,
            None => Vec::new(),
        };
        let mut out = Vec::new();
        out.try_reserve_exact(16 + m.len() + a.len()).map_err(|_| {
            Error::Runtime("exporting optimizer state: it does not fit in memory".into())
        })?;
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(m.len() as u64).to_le_bytes());
        out.extend_from_slice(&m);
        out.extend_from_slice(&a);
        Ok(out)
    }
    /// Both parts are validated before either changes: Muon's is imported first, and put back
    /// if AdamW's is refused.
    fn import(&mut self, bytes: &[u8]) -> CoreResult<()> {
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad_state("not a Muon + AdamW state (magic DSCMUON1)"));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[8..16]);
        let m_len = usize::try_from(u64::from_le_bytes(len))
            .ok()
            .filter(|&l| l <= bytes.len() - 16)
            .ok_or(bad_state("Muon's part is longer than the state"))?;
        let (m, a) = bytes[16..].split_at(m_len);
        if self.aux.is_none() && !a.is_empty() {
            return Err(bad_state("an AdamW part for a model without biases"));
        }
        let before = Self::blob(&*self.muon)
            .map_err(|_| bad_state("the current state does not fit in memory"))?;
        self.muon.import_state(m)?;
        if let Some(aux) = &mut self.aux {
            if let Err(e) = aux.import_state(a) {
                self.muon.import_state(&before)?;
                return Err(e);
            }
        }
        Ok(())
    }
    fn step(
        &mut self,
        params: &mut [f32],
        grad: &mut [f32],
        eval: &mut dyn FnMut(&[f32], &mut [f32]) -> f32,
    ) -> CoreResult<f32> {
        let loss = eval(params, grad);
        if !loss.is_finite() {
            return Ok(loss);
        }
        Self::gather(&self.mats, params, &mut self.wp);
        Self::gather(&self.mats, grad, &mut self.wg);
        self.muon.step(&mut self.wp, &self.wg)?;
        Self::scatter(&self.mats, &self.wp, params);
        if let Some(aux) = &mut self.aux {
            Self::gather(&self.vecs, params, &mut self.vp);
            Self::gather(&self.vecs, grad, &mut self.vg);
            aux.step(&mut self.vp, &self.vg)?;
            Self::scatter(&self.vecs, &self.vp, params);
        }
        Ok(loss)
    }
}
