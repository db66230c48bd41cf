//! Loss and accuracy curves (PNG or SVG by extension) with plotters.

use crate::error::{Error, Result};
use crate::metrics::Record;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

type Series = (&'static str, RGBColor, Vec<(f64, f64)>);

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    history: &[Record],
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let has_acc = history.iter().any(|r| r.train.accuracy.is_some());
    let panels = if has_acc {
        root.split_evenly((1, 2))
    } else {
        vec![root.clone()]
    };
    let xs = |f: &dyn Fn(&Record) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|r| f(r).filter(|v| v.is_finite()).map(|v| (r.step as f64, v)))
            .collect()
    };
    let loss: Vec<Series> = vec![
        ("train", BLUE, xs(&|r| Some(r.train.loss))),
        ("val", RED, xs(&|r| r.val.map(|m| m.loss))),
        ("test", GREEN, xs(&|r| r.test.map(|m| m.loss))),
    ];
    panel(&panels[0], "loss", loss)?;
    if has_acc {
        let acc: Vec<Series> = vec![
            ("train", BLUE, xs(&|r| r.train.accuracy)),
            ("val", RED, xs(&|r| r.val.and_then(|m| m.accuracy))),
            ("test", GREEN, xs(&|r| r.test.and_then(|m| m.accuracy))),
        ];
        panel(&panels[1], "accuracy", acc)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    series: Vec<Series>,
) -> std::result::Result<(), String> {
    let pts = series.iter().flat_map(|s| s.2.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 <= 0.0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .draw()
        .map_err(|e| e.to_string())?;
    for (name, color, pts) in series {
        if pts.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| e.to_string())
}

/// Draw the loss (and, for classification, accuracy) curves of `history` to `path`
/// (`.png` or `.svg`).
pub fn plot(path: &Path, history: &[Record]) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let size = (1200, 450);
    let r = match ext {
        "png" => draw(BitMapBackend::new(path, size).into_drawing_area(), history),
        "svg" => draw(SVGBackend::new(path, size).into_drawing_area(), history),
        _ => {
            return Err(Error::usage(format!(
                "--plot {}: unknown extension, expected .png or .svg",
                path.display()
            )))
        }
    };
    r.map_err(|e| Error::output(path, format!("cannot draw plot: {e}")))
}

/// Check the `--plot` extension up front, before training.
pub fn check_path(path: &Path) -> Result<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png" | "svg") => Ok(()),
        _ => Err(Error::usage(format!(
            "--plot {}: unknown extension, expected .png or .svg",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::SplitMetrics;

    #[test]
    fn draws_png_and_svg() {
        let hist: Vec<Record> = (0..5)
            .map(|i| Record {
                step: i * 10,
                epoch: i as f64,
                lr: 0.1,
                seconds: 0.0,
                train_loss: 1.0 / (i + 1) as f64,
                train: SplitMetrics {
                    loss: 1.0 / (i + 1) as f64,
                    accuracy: Some(0.5 + 0.1 * i as f64),
                },
                val: Some(SplitMetrics {
                    loss: 1.2 / (i + 1) as f64,
                    accuracy: Some(0.5),
                }),
                test: None,
            })
            .collect();
        let d = std::env::temp_dir().join(format!("descent-plot-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for name in ["c.png", "c.svg"] {
            let p = d.join(name);
            plot(&p, &hist).unwrap();
            assert!(std::fs::metadata(&p).unwrap().len() > 100);
        }
        assert!(plot(&d.join("c.gif"), &hist).is_err());
        plot(&d.join("empty.svg"), &[]).unwrap();
    }
}
