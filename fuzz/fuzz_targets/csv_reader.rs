//! Arbitrary text into the trainer's CSV parser, with every option combination.
//!
//! Properties: no panic; an error is one non-empty line that names the file; an accepted data
//! set is consistent (`rows · features == x.len()`, one target row per row, finite features
//! and targets, labels below `classes`) — i.e. `Dataset::new` accepts it again.
#![no_main]

use arbitrary::Arbitrary;
use descent_trainer::data::{parse_csv, CsvOptions, Dataset, Header, LabelColumn};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    header: u8,
    label: Label,
    regression: bool,
    /// Text built from tokens (reaches the parser's logic faster than raw bytes) ...
    tokens: Vec<Token>,
    /// ... or raw bytes.
    raw: Option<Vec<u8>>,
}

#[derive(Arbitrary, Debug)]
enum Label {
    Last,
    Index(u8),
    Name(String),
}

#[derive(Arbitrary, Debug)]
enum Token {
    Num(i16),
    Float(f64),
    Word(String),
    Comma,
    Space,
    Tab,
    Newline,
    CrLf,
    Special(u8),
}

fn text(tokens: &[Token]) -> Vec<u8> {
    let mut s = String::new();
    for t in tokens.iter().take(400) {
        match t {
            Token::Num(n) => s.push_str(&n.to_string()),
            Token::Float(f) => s.push_str(&f.to_string()),
            Token::Word(w) => s.push_str(w),
            Token::Comma => s.push(','),
            Token::Space => s.push(' '),
            Token::Tab => s.push('\t'),
            Token::Newline => s.push('\n'),
            Token::CrLf => s.push_str("\r\n"),
            Token::Special(i) => s.push_str(
                [
                    "nan", "NaN", "inf", "-inf", "1e400", "-0", "1e-400", "\"1\"", "", "0x10",
                    "+5", ".5", "5.", "1_000", "\r",
                ][*i as usize % 15],
            ),
        }
    }
    s.into_bytes()
}

fuzz_target!(|inp: Input| {
    let opts = CsvOptions {
        header: [Header::Auto, Header::Present, Header::Absent][inp.header as usize % 3],
        label: match &inp.label {
            Label::Last => LabelColumn::Last,
            Label::Index(i) => LabelColumn::Index(*i as usize % 12),
            Label::Name(n) => LabelColumn::Name(n.replace('\n', " ")),
        },
        regression: inp.regression,
    };
    let bytes = inp.raw.clone().unwrap_or_else(|| text(&inp.tokens));
    let name = "fuzz.csv";
    match parse_csv(name, &bytes, &opts) {
        Err(e) => {
            let m = e.message();
            assert!(
                !m.is_empty() && !m.contains('\n'),
                "error is not one line: {m:?}"
            );
            assert!(m.starts_with(name), "error does not name the file: {m:?}");
        }
        Ok(d) => {
            assert_eq!(d.rows * d.features, d.x.len());
            let again = Dataset::new(d.name.clone(), d.x.clone(), d.features, d.targets.clone());
            assert_eq!(
                again.as_ref(),
                Ok(&d),
                "parse_csv returned an inconsistent data set"
            );
        }
    }
});
