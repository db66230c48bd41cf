//! Hostile input files through the data layer the `descent` binary uses (`load_named`):
//! every malformed IDX set and CSV file from `fixtures/hostile` is refused with one clear line
//! naming what is wrong, never a panic; the valid baselines load.

#[path = "fixtures/hostile/mod.rs"]
mod hostile;

use std::panic::{catch_unwind, AssertUnwindSafe};

use descent_trainer::data::{load_named, LoadOptions};
use hostile::*;

fn load(name: &str, opts: &LoadOptions) -> Result<(), String> {
    let r = catch_unwind(AssertUnwindSafe(|| load_named(name, opts)));
    match r {
        Err(_) => panic!("load_named({name}) panicked"),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.message().to_string()),
    }
}

#[test]
fn valid_baselines_load() {
    let d = fresh_dir("valid");
    write_valid_idx(&d);
    let opts = LoadOptions {
        data_dir: Some(d.clone()),
        ..LoadOptions::default()
    };
    load("mnist", &opts).unwrap();
    let p = d.join("ok.csv");
    std::fs::write(&p, valid_csv()).unwrap();
    load(p.to_str().unwrap(), &LoadOptions::default()).unwrap();
}

#[test]
fn malformed_idx_sets_are_refused_with_one_line() {
    for f in idx_fixtures() {
        let d = write_idx_fixture(&fresh_dir(f.case), &f);
        let opts = LoadOptions {
            data_dir: Some(d),
            ..LoadOptions::default()
        };
        let msg = load("mnist", &opts)
            .err()
            .unwrap_or_else(|| panic!("{}: malformed IDX set was accepted", f.case));
        assert_one_line(f.case, &msg, f.expect);
        assert!(
            msg.contains(f.file) || msg.contains("mnist/"),
            "{}: error `{msg}` does not name the file {}",
            f.case,
            f.file
        );
    }
}

#[test]
fn malformed_csv_files_are_refused_with_one_line() {
    let d = fresh_dir("csv");
    for f in csv_fixtures() {
        let p = write_csv_fixture(&d, &f);
        let msg = load(p.to_str().unwrap(), &LoadOptions::default())
            .err()
            .unwrap_or_else(|| panic!("{}: malformed CSV was accepted", f.case));
        assert_one_line(f.case, &msg, f.expect);
        assert!(
            msg.contains(&format!("{}.csv", f.case)),
            "{}: error `{msg}` does not name the file",
            f.case
        );
    }
}
