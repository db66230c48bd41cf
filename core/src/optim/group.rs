//! Parameter groups: contiguous ranges of the flat parameter vector with their own learning
//! rate and weight decay (PyTorch's `param_groups`, restricted to those two keys).

use super::{check_lr, check_wd};
use crate::error::check_arg;
use crate::{Error, Result};

/// Most parameter groups an optimizer holds (a fixed array keeps construction allocation-free).
pub const MAX_GROUPS: usize = 16;

/// How the caller describes one group: its length and optional overrides of the optimizer's
/// default `lr` / `weight_decay`. Groups are laid out in order, back to back, and must cover
/// the whole parameter vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupSpec {
    /// Number of parameters in the group.
    pub len: usize,
    /// Learning rate for this group (`None`: the optimizer's `lr`).
    pub lr: Option<f64>,
    /// Weight decay for this group (`None`: the optimizer's `weight_decay`).
    pub weight_decay: Option<f64>,
}

impl GroupSpec {
    /// A group of `len` parameters with the optimizer's defaults.
    pub const fn new(len: usize) -> Self {
        Self {
            len,
            lr: None,
            weight_decay: None,
        }
    }
    /// Override the learning rate.
    pub const fn lr(mut self, lr: f64) -> Self {
        self.lr = Some(lr);
        self
    }
    /// Override the weight decay (e.g. `0.0` for biases).
    pub const fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = Some(wd);
        self
    }
}

/// One resolved group: parameters `start..start + len` with learning rate `lr` and weight
/// decay `weight_decay`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Group {
    /// First parameter index.
    pub start: usize,
    /// Number of parameters.
    pub len: usize,
    /// Learning rate.
    pub lr: f64,
    /// Weight decay (L2 penalty or decoupled decay, per optimizer).
    pub weight_decay: f64,
}

impl Group {
    /// The index range `start..start + len`.
    #[inline]
    pub fn range(&self) -> core::ops::Range<usize> {
        self.start..self.start + self.len
    }
}

/// Fixed-capacity list of resolved groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Groups {
    items: [Group; MAX_GROUPS],
    count: usize,
}

impl Groups {
    /// One group covering `n` parameters.
    #[cfg(test)]
    pub(crate) fn single(n: usize, lr: f64, wd: f64) -> Result<Self> {
        Self::new(&[GroupSpec::new(n)], lr, wd)
    }

    /// Resolve `specs` against the defaults; validates each lr / weight decay and the count.
    pub(crate) fn new(specs: &[GroupSpec], lr: f64, wd: f64) -> Result<Self> {
        check_arg(
            !specs.is_empty() && specs.len() <= MAX_GROUPS,
            "groups",
            specs.len() as f64,
            "between 1 and MAX_GROUPS (16) groups",
        )?;
        let mut items = [Group::default(); MAX_GROUPS];
        let mut start = 0usize;
        for (slot, s) in items.iter_mut().zip(specs) {
            let glr = s.lr.unwrap_or(lr);
            let gwd = s.weight_decay.unwrap_or(wd);
            check_lr(glr)?;
            check_wd(gwd)?;
            *slot = Group {
                start,
                len: s.len,
                lr: glr,
                weight_decay: gwd,
            };
            start = start.checked_add(s.len).ok_or(Error::InvalidArgument {
                name: "groups",
                value: f64::INFINITY,
                expected: "total length that fits in usize",
            })?;
        }
        Ok(Self {
            items,
            count: specs.len(),
        })
    }

    /// The groups.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Group] {
        &self.items[..self.count]
    }

    /// Total number of parameters.
    pub(crate) fn n_params(&self) -> usize {
        self.as_slice().last().map_or(0, |g| g.start + g.len)
    }

    fn get_mut(&mut self, group: usize) -> Result<&mut Group> {
        let count = self.count;
        self.items[..count]
            .get_mut(group)
            .ok_or(Error::InvalidArgument {
                name: "group",
                value: group as f64,
                expected: "an index below the number of groups",
            })
    }

    pub(crate) fn get(&self, group: usize) -> Result<&Group> {
        self.as_slice().get(group).ok_or(Error::InvalidArgument {
            name: "group",
            value: group as f64,
            expected: "an index below the number of groups",
        })
    }

    pub(crate) fn set_lr(&mut self, group: usize, lr: f64) -> Result<()> {
        check_lr(lr)?;
        self.get_mut(group)?.lr = lr;
        Ok(())
    }

    pub(crate) fn set_wd(&mut self, group: usize, wd: f64) -> Result<()> {
        check_wd(wd)?;
        self.get_mut(group)?.weight_decay = wd;
        Ok(())
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [Group] {
        &mut self.items[..self.count]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_resolve_in_order() {
        let g = Groups::new(
            &[
                GroupSpec::new(3),
                GroupSpec::new(2).weight_decay(0.0).lr(0.5),
            ],
            0.1,
            0.01,
        )
        .unwrap();
        let s = g.as_slice();
        assert_eq!(s[0].range(), 0..3);
        assert_eq!(s[1].range(), 3..5);
        assert_eq!((s[0].lr, s[0].weight_decay), (0.1, 0.01));
        assert_eq!((s[1].lr, s[1].weight_decay), (0.5, 0.0));
        assert_eq!(g.n_params(), 5);
    }

    #[test]
    fn bad_groups_are_errors() {
        assert!(Groups::new(&[], 0.1, 0.0).is_err());
        assert!(Groups::new(&[GroupSpec::new(1); MAX_GROUPS + 1], 0.1, 0.0).is_err());
        assert!(matches!(
            Groups::new(&[GroupSpec::new(1).lr(-1.0)], 0.1, 0.0),
            Err(Error::InvalidArgument { name: "lr", .. })
        ));
        let mut g = Groups::single(4, 0.1, 0.0).unwrap();
        assert!(matches!(
            g.set_lr(1, 0.1),
            Err(Error::InvalidArgument { name: "group", .. })
        ));
        assert!(g.set_lr(0, f64::NAN).is_err());
        g.set_lr(0, 0.2).unwrap();
        assert_eq!(g.get(0).unwrap().lr, 0.2);
    }
}
