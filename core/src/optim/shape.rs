//! Parameter tensor shapes, for the optimizers that treat a matrix differently from a vector
//! (Adafactor factors a matrix's second moment into its row and column means).

use super::Group;
use crate::error::check_arg;
use crate::{Error, Result};

/// Most tensors a [`Shapes`] list holds (a fixed array keeps it `Copy` and allocation-free):
/// the weights and biases of a 16-layer MLP.
pub const MAX_TENSORS: usize = 32;

/// The shape of one parameter tensor of the flat parameter vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TensorShape {
    /// A vector of `len` elements (a bias; anything not factored).
    Vector(usize),
    /// A row-major `[rows, cols]` matrix (`nn.Linear`'s weight is `[out_features,
    /// in_features]`).
    Matrix(usize, usize),
    /// No tensor (unused entries of [`Shapes`]).
    #[default]
    Empty,
}

impl TensorShape {
    /// Number of elements: `len` or `rows · cols` (saturating).
    pub fn numel(self) -> usize {
        match self {
            TensorShape::Vector(n) => n,
            TensorShape::Matrix(r, c) => r.saturating_mul(c),
            TensorShape::Empty => 0,
        }
    }
}

/// The tensors laid out back to back in the flat parameter vector, in order (at most
/// [`MAX_TENSORS`]). Empty: the whole vector is one vector tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shapes {
    items: [TensorShape; MAX_TENSORS],
    count: usize,
}

impl Shapes {
    /// The list `shapes` (`InvalidArgument` naming `shapes` beyond [`MAX_TENSORS`] tensors, or
    /// for a tensor without elements or an [`TensorShape::Empty`] entry).
    pub fn new(shapes: &[TensorShape]) -> Result<Self> {
        if shapes.len() > MAX_TENSORS {
            return Err(Error::InvalidArgument {
                name: "shapes",
                value: shapes.len() as f64,
                expected: "at most MAX_TENSORS (32) tensors",
            });
        }
        let mut items = [TensorShape::Empty; MAX_TENSORS];
        for (i, (&s, slot)) in shapes.iter().zip(&mut items).enumerate() {
            check_arg(
                s.numel() > 0,
                "shapes",
                i as f64,
                "tensors with at least one element (the value is the tensor's index)",
            )?;
            *slot = s;
        }
        Ok(Self {
            items,
            count: shapes.len(),
        })
    }

    /// The tensors, in order.
    pub fn as_slice(&self) -> &[TensorShape] {
        &self.items[..self.count]
    }

    /// True when no shapes were given.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Total number of elements (saturating).
    pub fn numel(&self) -> usize {
        self.as_slice()
            .iter()
            .fold(0usize, |a, s| a.saturating_add(s.numel()))
    }

    /// Check that the tensors cover `n` parameters exactly and that no tensor crosses a
    /// boundary of `groups` (`InvalidArgument` naming `shapes`, the value the element count or
    /// the crossed boundary).
    pub(crate) fn check_cover(&self, n: usize, groups: &[Group]) -> Result<()> {
        let total = self.numel();
        check_arg(
            total == n,
            "shapes",
            total as f64,
            "tensors covering the parameters exactly (the value is their element count)",
        )?;
        // Every group boundary falls between two tensors (the ends are increasing: no tensor
        // is empty).
        let ends = || {
            self.as_slice().iter().scan(0usize, |end, s| {
                *end += s.numel();
                Some(*end)
            })
        };
        for g in groups {
            let boundary = g.start + g.len;
            check_arg(
                boundary == 0 || ends().any(|e| e == boundary),
                "shapes",
                boundary as f64,
                "no tensor crossing a parameter-group boundary (the value is the boundary)",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_count_and_refuse_empty_tensors() {
        let s = Shapes::new(&[TensorShape::Matrix(3, 4), TensorShape::Vector(3)]).unwrap();
        assert_eq!(
            (s.numel(), s.as_slice().len(), s.is_empty()),
            (15, 2, false)
        );
        assert!(Shapes::new(&[TensorShape::Matrix(0, 4)]).is_err());
        assert!(Shapes::new(&[TensorShape::Empty]).is_err());
        assert!(Shapes::new(&[TensorShape::Vector(1); MAX_TENSORS + 1]).is_err());
        assert!(Shapes::default().is_empty());
        assert_eq!(TensorShape::Matrix(usize::MAX, 2).numel(), usize::MAX);
    }
}
