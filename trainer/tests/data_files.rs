//! Data readers on real files: IDX round trips (raw and gzip) and malformed files, CSV files,
//! and Fashion-MNIST when installed (required when `DESCENT_REQUIRE_FASHION=1`, as in CI).

use descent_trainer::data::{
    load_idx_pair, load_named, read_csv, read_idx, CsvOptions, LoadOptions, Targets,
};
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("descent-data-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn idx_bytes(dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(payload);
    v
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn idx_round_trip_raw_and_gzip() {
    let d = tmp("rt");
    let pixels: Vec<u8> = (0..3 * 2 * 2).map(|i| (i * 20) as u8).collect();
    std::fs::write(d.join("img"), idx_bytes(&[3, 2, 2], &pixels)).unwrap();
    std::fs::write(d.join("lab.gz"), gz(&idx_bytes(&[3], &[2, 0, 9]))).unwrap();
    let a = read_idx(&d.join("img")).unwrap();
    assert_eq!(
        (a.dims.clone(), a.data.clone()),
        (vec![3, 2, 2], pixels.clone())
    );
    let ds = load_idx_pair("t", &d.join("img"), &d.join("lab.gz"), 10).unwrap();
    assert_eq!((ds.rows, ds.features), (3, 4));
    assert_eq!(ds.x[1], 20.0 / 255.0);
    assert_eq!(
        ds.targets,
        Targets::Labels {
            y: vec![2, 0, 9],
            classes: 10
        }
    );
}

#[test]
fn malformed_idx_files_are_refused_with_clear_errors() {
    let d = tmp("bad");
    let img = idx_bytes(&[3, 2, 2], &[0; 12]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", img[..img.len() - 3].to_vec(), "truncated"),
        (
            "magic",
            [&[1u8, 2, 3, 4][..], &img[4..]].concat(),
            "not an IDX file",
        ),
        ("giant", idx_bytes(&[60000, 60000, 60000], &[0; 4]), "limit"),
        (
            "giant-gz",
            gz(&idx_bytes(&[1 << 20, 512, 2], &[0; 64])),
            "truncated",
        ),
        ("empty", vec![], "truncated"),
    ];
    for (name, bytes, want) in cases {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = read_idx(&p).unwrap_err().to_string();
        assert!(e.contains(want) && e.contains(name), "{name}: {e}");
    }
    std::fs::write(d.join("img"), &img).unwrap();
    std::fs::write(d.join("lab2"), idx_bytes(&[2], &[0, 1])).unwrap();
    let e = load_idx_pair("t", &d.join("img"), &d.join("lab2"), 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 images but") && e.contains("2 labels"), "{e}");
    std::fs::write(d.join("lab3"), idx_bytes(&[3], &[0, 1, 12])).unwrap();
    let e = load_idx_pair("t", &d.join("img"), &d.join("lab3"), 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label 12") && e.contains("0..10"), "{e}");
    let e = read_idx(&d.join("missing")).unwrap_err().to_string();
    assert!(e.contains("missing"), "{e}");
}

#[test]
fn csv_file_with_gzip_and_errors() {
    let d = tmp("csv");
    std::fs::write(d.join("a.csv.gz"), gz(b"f1,f2,label\n0.5,1,0\n2,3,1\n")).unwrap();
    let ds = read_csv(&d.join("a.csv.gz"), &CsvOptions::default()).unwrap();
    assert_eq!((ds.rows, ds.features), (2, 2));
    std::fs::write(d.join("b.csv"), b"1,2,0\n3,inf,1\n").unwrap();
    let e = read_csv(&d.join("b.csv"), &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("b.csv:2:2") && e.contains("not finite"), "{e}");
}

/// A file of several gzip members (`cat a.gz b.gz`, or parallel compressors) is read whole, as
/// gunzip reads it, zero padding after the last member ignored; other bytes after a member
/// are an error. Only the
/// first member was read before: a CSV lost the rows of the others and an IDX file ignored
/// trailing data.
#[test]
fn gzip_files_of_several_members_are_read_whole() {
    let d = tmp("members");
    let mut csv = gz(b"f1,f2,label\n0.5,1,0\n");
    csv.extend(gz(b"2,3,1\n4,5,0\n"));
    std::fs::write(d.join("two.csv.gz"), &csv).unwrap();
    let ds = read_csv(&d.join("two.csv.gz"), &CsvOptions::default()).unwrap();
    assert_eq!(
        (ds.rows, ds.x.clone()),
        (3, vec![0.5, 1.0, 2.0, 3.0, 4.0, 5.0])
    );

    let labels = idx_bytes(&[3], &[2, 0, 9]);
    let mut two = gz(&labels[..6]);
    two.extend(gz(&labels[6..]));
    std::fs::write(d.join("two-idx.gz"), &two).unwrap();
    let a = read_idx(&d.join("two-idx.gz")).unwrap();
    assert_eq!((a.dims, a.data), (vec![3], vec![2, 0, 9]));

    // More data than the header claims, in a second member: refused like raw trailing bytes.
    let mut extra = gz(&labels);
    extra.extend(gz(&[7]));
    std::fs::write(d.join("extra-idx.gz"), &extra).unwrap();
    let e = read_idx(&d.join("extra-idx.gz")).unwrap_err().to_string();
    assert!(e.contains("extra-idx.gz") && e.contains("trailing"), "{e}");

    // Zero padding after the last member is ignored, as gzip -d does.
    let mut padded = gz(&labels);
    padded.extend([0u8; 512]);
    std::fs::write(d.join("padded-idx.gz"), &padded).unwrap();
    assert_eq!(
        read_idx(&d.join("padded-idx.gz")).unwrap().data,
        vec![2, 0, 9]
    );
    let mut padded = csv.clone();
    padded.extend([0u8; 100]);
    std::fs::write(d.join("padded.csv.gz"), &padded).unwrap();
    assert_eq!(
        read_csv(&d.join("padded.csv.gz"), &CsvOptions::default())
            .unwrap()
            .rows,
        3
    );

    // Junk after the member: an error naming the file, for both readers.
    let mut junk = gz(&labels);
    junk.extend(b"not gzip");
    std::fs::write(d.join("junk-idx.gz"), &junk).unwrap();
    let e = read_idx(&d.join("junk-idx.gz")).unwrap_err().to_string();
    assert!(e.contains("junk-idx.gz"), "{e}");
    let mut junk = gz(b"1,2,0\n");
    junk.extend(b"not gzip");
    std::fs::write(d.join("junk.csv.gz"), &junk).unwrap();
    let e = read_csv(&d.join("junk.csv.gz"), &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("junk.csv.gz") && e.contains("gzip"), "{e}");
}

#[test]
fn fashion_mnist_when_installed() {
    let required = std::env::var("DESCENT_REQUIRE_FASHION").is_ok_and(|v| v == "1");
    let present = std::path::Path::new("/usr/share/datasets/fashion-mnist").is_dir();
    assert!(
        present || !required,
        "DESCENT_REQUIRE_FASHION=1 but /usr/share/datasets/fashion-mnist is missing"
    );
    if !present {
        eprintln!("fashion-mnist not installed: skipping its shape check");
        return;
    }
    let opts = LoadOptions {
        val_fraction: 0.0,
        ..Default::default()
    };
    let s = load_named("fashion-mnist", &opts).unwrap();
    assert_eq!((s.train.rows, s.features), (60000, 784));
    assert_eq!(s.test.as_ref().unwrap().rows, 10000);
    let Targets::Labels { y, classes } = &s.train.targets else {
        panic!("fashion-mnist has class labels")
    };
    assert_eq!(*classes, 10);
    assert_eq!(y.iter().filter(|&&c| c == 3).count(), 6000);
}
