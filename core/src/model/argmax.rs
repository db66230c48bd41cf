//! The predicted class of a row of logits, as `torch.argmax`.

use crate::Float;

/// Index of the largest value of `row`, as `torch.argmax`: the first maximum on ties, and a
/// NaN counts as larger than every number (the first NaN wins). `0` for an empty row.
pub fn argmax<T: Float>(row: &[T]) -> usize {
    let mut best = 0usize;
    for (j, &v) in row.iter().enumerate().skip(1) {
        let b = row[best];
        if b.is_nan() {
            break;
        }
        if v > b || v.is_nan() {
            best = j;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_maximum_and_nan_as_torch() {
        let nan = f32::NAN;
        assert_eq!(argmax::<f32>(&[]), 0);
        assert_eq!(argmax(&[1.0f32]), 0);
        assert_eq!(argmax(&[1.0f32, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NEG_INFINITY, f32::NEG_INFINITY]), 0);
        assert_eq!(argmax(&[1.0f32, f32::INFINITY, 2.0]), 1);
        // torch.argmax(torch.tensor([1., nan, 5., nan])) == 1; [nan, 5.] -> 0.
        assert_eq!(argmax(&[1.0f32, nan, 5.0, nan]), 1);
        assert_eq!(argmax(&[nan, 5.0f32]), 0);
        assert_eq!(argmax(&[5.0f64, 1.0, f64::NAN]), 2);
    }
}
