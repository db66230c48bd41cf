//! CSV (and whitespace-separated) numeric tables: features plus one label column.
//!
//! The separator is a comma when the first line has one, otherwise runs of whitespace. A
//! header line is detected (with [`Header::Auto`]) when any cell of the first line is not a
//! number. Gzip input is detected by content. Errors name `file:line:column`.

use super::gzip::GzMembers;
use super::{DataError, Dataset, Result, Targets};
use std::io::Read;
use std::path::Path;

/// Largest CSV text accepted (after decompression), 1 GiB.
pub const MAX_CSV_BYTES: u64 = 1 << 30;

/// Whether the first line is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// A header when any cell of the first line is not a number.
    #[default]
    Auto,
    /// The first line is a header.
    Present,
    /// Every line is data.
    Absent,
}

/// Which column holds the label (or regression target).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// The last column.
    #[default]
    Last,
    /// Column by 0-based index.
    Index(usize),
    /// Column by header name (needs a header).
    Name(String),
}

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// Header handling.
    pub header: Header,
    /// The label column.
    pub label: LabelColumn,
    /// Real-valued target instead of class labels (non-negative integers).
    pub regression: bool,
}

/// Read a CSV file (gzip or plain) into a data set.
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<Dataset> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, &e))?;
    let name = path.display().to_string();
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // Every member (as gunzip reads it): rows in a second member are not dropped.
        GzMembers::new(&raw[..])
            .take(MAX_CSV_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| DataError::new(format!("{name}: gzip: {e}")))?;
        out
    } else {
        raw
    };
    if bytes.len() as u64 > MAX_CSV_BYTES {
        return Err(DataError::new(format!(
            "{name}: more than {MAX_CSV_BYTES} bytes of CSV text"
        )));
    }
    parse_csv(&name, &bytes, opts)
}

fn split_cells(line: &str, comma: bool) -> Vec<&str> {
    if comma {
        line.split(',').map(str::trim).collect()
    } else {
        line.split_whitespace().collect()
    }
}

/// Parse CSV text `bytes` (named `name` in errors) into a data set.
pub fn parse_csv(name: &str, bytes: &[u8], opts: &CsvOptions) -> Result<Dataset> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let upto = &bytes[..e.valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = upto.len() - upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        DataError::new(format!(
            "{name}:{line}:{col}: invalid UTF-8 (byte 0x{:02x}); expected UTF-8 text",
            bytes[e.valid_up_to()]
        ))
    })?;
    // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first cell: left in,
    // it made a numeric first row look like a header, which was then dropped.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((first_no, first)) = lines.next() else {
        return Err(DataError::new(format!(
            "{name}: empty file; expected rows of numbers"
        )));
    };
    let comma = first.contains(',');
    let first_cells = split_cells(first, comma);
    let numeric = first_cells.iter().all(|c| c.parse::<f64>().is_ok());
    let has_header = match opts.header {
        Header::Auto => !numeric,
        Header::Present => true,
        Header::Absent => false,
    };
    let header: Option<Vec<&str>> = has_header.then(|| first_cells.clone());
    // The width comes from the first data row: sklearn-style headers (`150,4,setosa,...`)
    // are shorter or longer than the rows.
    let mut data_lines: Box<dyn Iterator<Item = (usize, &str)>> = if has_header {
        Box::new(lines)
    } else {
        Box::new(std::iter::once((first_no, first)).chain(lines))
    };
    let Some((l0, row0)) = data_lines.next() else {
        return Err(DataError::new(format!(
            "{name}: no data rows after the header"
        )));
    };
    let width = split_cells(row0, comma).len();
    if width < 2 {
        return Err(DataError::new(format!(
            "{name}:{l0}: {width} column; expected at least 2 (features and a label)"
        )));
    }
    let label_col = match &opts.label {
        LabelColumn::Last => width - 1,
        LabelColumn::Index(i) if *i < width => *i,
        LabelColumn::Index(i) => {
            return Err(DataError::new(format!(
                "{name}: label column {i} does not exist; rows have {width} columns"
            )))
        }
        LabelColumn::Name(n) => {
            let Some(h) = &header else {
                return Err(DataError::new(format!(
                    "{name}: label column `{n}` given by name but the file has no header"
                )));
            };
            h.iter()
                .position(|c| c == n)
                .filter(|&i| i < width)
                .ok_or_else(|| {
                    DataError::new(format!("{name}: no column named `{n}` in the header {h:?}"))
                })?
        }
    };
    let mut x = Vec::new();
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for (line_no, line) in std::iter::once((l0, row0)).chain(data_lines) {
        let cells = split_cells(line, comma);
        if cells.len() != width {
            return Err(DataError::new(format!(
                "{name}:{line_no}: {} columns; expected {width} like the first data row",
                cells.len()
            )));
        }
        for (c, cell) in cells.iter().enumerate() {
            let v: f64 = cell.parse().map_err(|_| {
                DataError::new(format!(
                    "{name}:{line_no}:{}: `{cell}` is not a number",
                    c + 1
                ))
            })?;
            if !v.is_finite() {
                return Err(DataError::new(format!(
                    "{name}:{line_no}:{}: `{cell}` is not finite; expected a finite number",
                    c + 1
                )));
            }
            if c == label_col {
                if opts.regression {
                    values.push(v as f32);
                } else if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64 {
                    labels.push(v as u32);
                } else {
                    return Err(DataError::new(format!(
                        "{name}:{line_no}:{}: label `{cell}` is not a class index; expected an integer >= 0",
                        c + 1
                    )));
                }
            } else {
                x.push(v as f32);
            }
        }
    }
    let targets = if opts.regression {
        Targets::Values {
            y: values,
            outputs: 1,
        }
    } else {
        let classes = labels.iter().max().map_or(0, |&m| m as usize + 1).max(2);
        Targets::Labels { y: labels, classes }
    };
    Dataset::new(name, x, width - 1, targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_detection_and_label_column() {
        let d = parse_csv("t", b"150,4,a,b\n1,2,0\n3,4,1\n", &CsvOptions::default()).unwrap();
        assert_eq!((d.rows, d.features), (2, 2));
        assert_eq!(d.x, vec![1.0, 2.0, 3.0, 4.0]);
        let opts = CsvOptions {
            label: LabelColumn::Name("y".into()),
            ..Default::default()
        };
        let d = parse_csv("t", b"y,a\n1,5\n0,6\n", &opts).unwrap();
        assert_eq!(d.x, vec![5.0, 6.0]);
        assert_eq!(
            d.targets,
            Targets::Labels {
                y: vec![1, 0],
                classes: 2
            }
        );
        let d = parse_csv(
            "t",
            b"1 2 3.5\n4 5 6\n",
            &CsvOptions {
                regression: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            d.targets,
            Targets::Values {
                y: vec![3.5, 6.0],
                outputs: 1
            }
        );
    }

    #[test]
    fn byte_order_mark_is_not_a_header() {
        let o = CsvOptions::default();
        let d = parse_csv("t", b"\xef\xbb\xbf1,2,0\n3,4,1\n", &o).unwrap();
        assert_eq!((d.rows, d.x.clone()), (2, vec![1.0, 2.0, 3.0, 4.0]));
        let by_name = CsvOptions {
            label: LabelColumn::Name("y".into()),
            ..Default::default()
        };
        let d = parse_csv("t", b"\xef\xbb\xbfy,a\n1,5\n0,6\n", &by_name).unwrap();
        assert_eq!(d.x, vec![5.0, 6.0]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let o = CsvOptions::default();
        let e = parse_csv("f.csv", b"1,2,0\n1,0\n", &o).unwrap_err();
        assert!(
            e.message().starts_with("f.csv:2: 2 columns; expected 3"),
            "{e}"
        );
        let e = parse_csv("f.csv", b"1,2,0\n1,x,0\n", &o).unwrap_err();
        assert!(
            e.message().starts_with("f.csv:2:2: `x` is not a number"),
            "{e}"
        );
        let e = parse_csv("f.csv", b"1,NaN,0\n", &o).unwrap_err();
        assert!(e.message().contains("not finite"), "{e}");
        let e = parse_csv("f.csv", b"1,2,0\n1,\xff,0\n", &o).unwrap_err();
        assert!(e.message().starts_with("f.csv:2:3: invalid UTF-8"), "{e}");
        let e = parse_csv("f.csv", b"1,2,-1\n", &o).unwrap_err();
        assert!(e.message().contains("not a class index"), "{e}");
        assert!(parse_csv("f.csv", b"", &o).is_err());
        assert!(parse_csv("f.csv", b"a,b\n", &o).is_err());
    }
}
