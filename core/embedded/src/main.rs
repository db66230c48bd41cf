//! descent-core on a microcontroller: train a 64-16-10 ReLU MLP for a few SGD-with-momentum
//! steps with fixed-size buffers only (no allocator, no `std`).
//!
//! Build for a Cortex-M4F and measure its footprint:
//! `cargo build -p descent-embedded-example --release --target thumbv7em-none-eabihf`.
//! On the host (`cargo run -p descent-embedded-example`) the same training runs with `std` and
//! prints the loss before and after.
#![cfg_attr(target_os = "none", no_std, no_main)]

use descent_core::optim::{Optim, Optimizer, SgdConfig};
use descent_core::{Activation, Mlp, Reference, Task};

/// Layer widths.
const DIMS: [usize; 3] = [64, 16, 10];
/// Parameters: 64*16 + 16 + 16*10 + 10.
const N_PARAMS: usize = 64 * 16 + 16 + 16 * 10 + 10;
/// Samples per batch.
const BATCH: usize = 10;
/// Scratch for a batch: `BATCH * (16 + 10 + 2 * 16)` (see `Mlp::scratch_len`).
const SCRATCH: usize = BATCH * (16 + 10 + 2 * 16);

/// A deterministic toy data set: sample `i` lights up pixel block `i` (class `i`).
fn make_batch(x: &mut [f32; BATCH * 64], y: &mut [u32; BATCH]) {
    for (i, (row, label)) in x.chunks_exact_mut(64).zip(y.iter_mut()).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = if j / 6 == i {
                1.0
            } else {
                0.05 * ((i * 7 + j * 3) % 5) as f32
            };
        }
        *label = i as u32;
    }
}

/// Train for `steps` steps; returns (first loss, last loss) or `None` on a shape error.
fn train(steps: usize) -> Option<(f32, f32)> {
    let model = Mlp::new(&DIMS, Activation::Relu, true, Task::Classification).ok()?;
    let mut params = [0f32; N_PARAMS];
    let mut grad = [0f32; N_PARAMS];
    let mut scratch = [0f32; SCRATCH];
    let mut momentum = [0f32; N_PARAMS];
    let mut x = [0f32; BATCH * 64];
    let mut y = [0u32; BATCH];
    make_batch(&mut x, &mut y);
    model.init(&mut params, 0).ok()?;
    let cfg = SgdConfig::default().lr(0.1).momentum(0.9);
    let mut opt = Optim::new(cfg, N_PARAMS, &mut momentum[..]).ok()?;
    let mut first = f32::NAN;
    let mut last = f32::NAN;
    for s in 0..steps {
        last = model
            .loss_grad(&Reference, &params, &x, &y, BATCH, &mut scratch, &mut grad)
            .ok()?;
        if s == 0 {
            first = last;
        }
        opt.step(&mut params, &grad).ok()?;
    }
    Some((first, last))
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Reset entry point on the bare-metal target.
#[cfg(target_os = "none")]
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let r = train(20);
    core::hint::black_box(r);
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    let (first, last) = train(20).expect("shapes are static and valid");
    println!("64-16-10 MLP, batch {BATCH}, 20 SGD steps: loss {first:.4} -> {last:.4}");
    assert!(last < 0.5 * first, "training did not reduce the loss");
}

#[cfg(test)]
mod tests {
    #[test]
    fn training_reduces_the_loss() {
        let (first, last) = super::train(20).unwrap();
        assert!(last < 0.5 * first, "{first} -> {last}");
    }
}
