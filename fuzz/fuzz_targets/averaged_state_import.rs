//! Arbitrary and mutated state blobs into the trainer's `--average` optimizer wrapper
//! (`AveragedStepper::import`: its header, the wrapped optimizer's state, the average).
//!
//! Properties: no panic; a rejected blob leaves the optimizer untouched (its export is
//! byte-identical to the one before); an accepted blob re-exports byte-identically, and steps
//! taken afterwards do not panic.
#![no_main]

use arbitrary::Arbitrary;
use clap::Parser;
use descent_trainer::cli::{Cli, Command};
use descent_trainer::optimizer::{build, BoxedOptimizer};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Settings of the exporting and the importing optimizer (mod `SETTINGS.len()`).
    from: u8,
    into: u8,
    /// Parameters (mod 9) of each.
    n_from: u8,
    n_into: u8,
    /// Steps before the export (mod 6).
    warm: u8,
    mutation: Mutation,
}

#[derive(Arbitrary, Debug)]
enum Mutation {
    Raw(Vec<u8>),
    /// The valid export with byte edits and a resize.
    Edit {
        bytes: Vec<(u16, u8)>,
        resize: Option<u16>,
    },
    Valid,
}

const SETTINGS: [&[&str]; 6] = [
    &["--optimizer", "sgd", "--momentum", "0.9", "--average", "swa"],
    &["--optimizer", "sgd", "--momentum", "0.9", "--average", "ema"],
    &["--optimizer", "adam", "--average", "ema", "--ema-decay", "0.5", "--average-start", "2"],
    &["--optimizer", "adam", "--average", "swa", "--average-every", "2"],
    &["--optimizer", "lbfgs", "--average", "swa"],
    &["--optimizer", "sgd"],
];

fn stepper(which: u8, n: usize) -> BoxedOptimizer {
    let mut v = vec!["descent", "train", "--ops", "reference"];
    v.extend_from_slice(SETTINGS[which as usize % SETTINGS.len()]);
    let Command::Train(a) = Cli::try_parse_from(v).expect("valid flags").command else {
        unreachable!()
    };
    build(&a, n).expect("valid optimizer")
}

fn steps(o: &mut BoxedOptimizer, p: &mut [f32], k: usize) {
    let mut g = vec![0.0; p.len()];
    for _ in 0..k {
        let _ = o.step(p, &mut g, &mut |x, g| {
            for (gi, &xi) in g.iter_mut().zip(x) {
                *gi = xi - 0.5;
            }
            x.iter().map(|v| (v - 0.5) * (v - 0.5)).sum::<f32>() / 2.0
        });
    }
}

fuzz_target!(|inp: Input| {
    let (nf, ni) = (inp.n_from as usize % 9, inp.n_into as usize % 9);
    let mut src = stepper(inp.from, nf);
    let mut p: Vec<f32> = (0..nf).map(|i| i as f32 * 0.25 - 1.0).collect();
    steps(&mut src, &mut p, inp.warm as usize % 6);
    let valid = src.export().expect("export");
    let blob = match inp.mutation {
        Mutation::Raw(b) => b,
        Mutation::Edit { bytes, resize } => {
            let mut b = valid.clone();
            for (i, v) in bytes {
                if !b.is_empty() {
                    let k = i as usize % b.len();
                    b[k] = v;
                }
            }
            if let Some(r) = resize {
                b.resize(r as usize % (valid.len() + 16), 0xA5);
            }
            b
        }
        Mutation::Valid => valid.clone(),
    };
    let mut dst = stepper(inp.into, ni);
    let before = dst.export().expect("export");
    match dst.import(&blob) {
        Err(_) => assert_eq!(dst.export().expect("export"), before, "a failed import changed state"),
        Ok(()) => {
            assert_eq!(dst.export().expect("export"), blob, "an accepted blob re-exports differently");
            let mut q = vec![0.25f32; ni];
            steps(&mut dst, &mut q, 3);
        }
    }
});
