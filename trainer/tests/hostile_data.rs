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

/// An IDX pair that holds no images (or images of no pixels) is refused naming the images
/// file. Before, an empty test pair loaded and `descent train` reported "test accuracy: 0.00%
/// (test loss 0.0000 ...)" for a split with nothing in it; an empty training pair failed with
/// a message about --batch-size; zero-pixel images with one about "0 features".
#[test]
fn empty_idx_pairs_are_refused_naming_the_images_file() {
    let empty_test = [
        ("t10k-images-idx3-ubyte", idx(8, &[0, SIDE, SIDE], &[])),
        ("t10k-labels-idx1-ubyte", idx(8, &[0], &[])),
    ];
    let empty_train = [
        ("train-images-idx3-ubyte", idx(8, &[0, SIDE, SIDE], &[])),
        ("train-labels-idx1-ubyte", idx(8, &[0], &[])),
    ];
    let (_, labels) = &valid_idx_files()[1];
    let no_pixels = [
        ("train-images-idx3-ubyte", idx(8, &[TRAIN_ROWS, 0, 0], &[])),
        ("train-labels-idx1-ubyte", labels.clone()),
    ];
    for (case, files, expect) in [
        ("empty-test", &empty_test, "t10k-images-idx3-ubyte"),
        ("empty-train", &empty_train, "train-images-idx3-ubyte"),
        ("no-pixels", &no_pixels, "train-images-idx3-ubyte"),
    ] {
        let d = fresh_dir(case);
        write_valid_idx(&d);
        for (name, bytes) in files.iter() {
            std::fs::write(d.join(name), bytes).unwrap();
        }
        let opts = LoadOptions {
            data_dir: Some(d.clone()),
            ..LoadOptions::default()
        };
        let msg = load("mnist", &opts)
            .err()
            .unwrap_or_else(|| panic!("{case}: an empty IDX pair was accepted"));
        assert_one_line(case, &msg, expect);
    }
}
