//! `LrLambda`, the Python-lambda compiler behind LambdaLR and MultiplicativeLR: arbitrary
//! text (raw, or joined from a vocabulary of the language's tokens so that most inputs are
//! near-valid programs), evaluated at arbitrary epochs, built into both schedulers by name,
//! stepped, saved and restored.
//!
//! Properties: no panic, hang or stack overflow; a compile error is `Error::BadExpression`
//! at a byte offset within the source; an evaluation is deterministic; a scheduler either
//! builds or gives a typed error naming `lr_lambda`, every lr it reports is finite and
//! `>= 0`, a step that would leave that range is an error that changes nothing, and a saved
//! scheduler restores equal and continues bit for bit.
#![no_main]

use arbitrary::Arbitrary;
use descent_core::sched::{LrLambda, Scheduler, Spec, Value, MAX_STATE_BYTES};
use descent_core::Error;
use libfuzzer_sys::fuzz_target;

const TOKENS: [&str; 44] = [
    "lambda e:", "lambda epoch:", "e", "epoch", "0.5", "1", "2", "10", "0.95", "1e308", ".5",
    "1_0", "-0.0", "+", "-", "*", "/", "//", "%", "**", "(", ")", ",", "<", "<=", "==", "!=",
    "and", "or", "not", "if", "else", "min(", "max(", "math.cos(", "math.exp(", "math.log(",
    "sqrt(", "abs(", "int(", "math.floor(", "math.pi", "True", " ",
];

#[derive(Arbitrary, Debug)]
enum Source {
    Raw(String),
    Tokens(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    source: Source,
    epochs: Vec<u64>,
    lr0: f64,
    multiplicative: bool,
    steps: u8,
}

fuzz_target!(|input: Input| {
    let src = match &input.source {
        Source::Raw(s) => s.clone(),
        Source::Tokens(t) => t
            .iter()
            .take(200)
            .map(|&i| TOKENS[i as usize % TOKENS.len()])
            .collect::<Vec<_>>()
            .join(" "),
    };
    let f = match LrLambda::parse(&src) {
        Err(Error::BadExpression { at, .. }) => {
            assert!(at <= src.len(), "error offset {at} past the end of {src:?}");
            return;
        }
        Err(e) => panic!("compile error of another kind: {e:?}"),
        Ok(f) => f,
    };
    for &e in input.epochs.iter().take(16) {
        let (a, b) = (f.eval(e), f.eval(e));
        assert_eq!(a.to_bits(), b.to_bits(), "eval not deterministic: {src:?} at {e}");
    }
    let name = if input.multiplicative {
        "MultiplicativeLR"
    } else {
        "LambdaLR"
    };
    let params = [("lr_lambda", Value::Str(&src))];
    let mut s = match Scheduler::from_spec(input.lr0, &Spec { name, params: &params }) {
        Ok(s) => s,
        Err(Error::InvalidArgument { name, .. }) => {
            assert!(name == "lr" || name == "lr_lambda", "error names {name}");
            return;
        }
        Err(e) => panic!("{name}: unexpected error {e:?}"),
    };
    let mut buf = [0u8; MAX_STATE_BYTES];
    for _ in 0..input.steps % 64 {
        let lr = s.lr();
        assert!(lr.is_finite() && lr >= 0.0, "{name} reports lr {lr}: {src:?}");
        let n = s.save(&mut buf).expect("save fits MAX_STATE_BYTES");
        let mut restored = Scheduler::load(&buf[..n]).expect("a saved scheduler loads");
        assert_eq!(restored, s);
        let before = s;
        match s.step() {
            Ok(()) => {
                restored.step().expect("the restored copy steps too");
                assert_eq!(restored, s, "restored copy diverged: {src:?}");
            }
            Err(Error::InvalidArgument { name: "lr_lambda", .. }) => {
                assert_eq!(s, before, "a failed step changed the state");
                break;
            }
            Err(e) => panic!("step: unexpected error {e:?}"),
        }
    }
});
