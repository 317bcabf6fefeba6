//! SVG plots of a run's metrics (plotters): losses, arena score, strength
//! against baselines and throughput, by iteration.

use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;

use crate::error::{Error, Result};

type Series = (String, Vec<(f64, f64)>);

/// The values at `path` (keys, e.g. `["train", "policy_loss"]`) by iteration.
fn series(metrics: &[Value], name: &str, path: &[&str]) -> Series {
    let points = metrics
        .iter()
        .filter_map(|m| {
            let x = m.get("iteration")?.as_f64()?;
            let mut v = m;
            for k in path {
                v = v.get(*k)?;
            }
            Some((x, v.as_f64()?))
        })
        .collect();
    (name.to_string(), points)
}

/// Writes `losses.svg`, `arena.svg`, `strength.svg` and `throughput.svg` into `dir`.
pub fn write_plots(dir: &Path, metrics: &[Value]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    chart(
        &dir.join("losses.svg"),
        "Training losses",
        "iteration",
        "loss",
        vec![
            series(metrics, "policy (train)", &["train", "policy_loss"]),
            series(metrics, "value MSE (train)", &["train", "value_loss"]),
            series(metrics, "policy (held out)", &["held_out", "policy_loss"]),
            series(metrics, "value MSE (held out)", &["held_out", "value_mse"]),
        ],
        None,
    )?;
    chart(
        &dir.join("arena.svg"),
        "Arena: candidate score against the best",
        "iteration",
        "score",
        vec![series(metrics, "candidate score", &["arena", "score"])],
        Some((0.0, 1.0)),
    )?;
    let mut names: Vec<String> = metrics
        .iter()
        .filter_map(|m| m.get("baselines")?.as_object())
        .flat_map(|o| o.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    let strength = names
        .iter()
        .map(|n| series(metrics, &format!("vs {n}"), &["baselines", n, "score"]))
        .collect();
    chart(
        &dir.join("strength.svg"),
        "Best network's score against baselines",
        "iteration",
        "score",
        strength,
        Some((0.0, 1.0)),
    )?;
    chart(
        &dir.join("throughput.svg"),
        "Throughput",
        "iteration",
        "per second",
        vec![
            series(
                metrics,
                "self-play evaluations/s",
                &["selfplay", "evaluations_per_second"],
            ),
            series(
                metrics,
                "training samples/s",
                &["train", "samples_per_second"],
            ),
        ],
        None,
    )
}

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("plotting: {e}"))
}

/// A line chart of `series` (empty ones left out) into the SVG file `path`.
pub(crate) fn chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: Vec<Series>,
    y_range: Option<(f64, f64)>,
) -> Result<()> {
    let series: Vec<Series> = series.into_iter().filter(|s| !s.1.is_empty()).collect();
    let all = series.iter().flat_map(|s| s.1.iter());
    let (x0, x1) = all
        .clone()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (x0, x1) = if x0 > x1 {
        (0.0, 1.0)
    } else {
        (x0, x1.max(x0 + 1.0))
    };
    let (y0, y1) = y_range.unwrap_or_else(|| {
        let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        if lo > hi {
            (0.0, 1.0)
        } else {
            (lo.min(0.0), hi * 1.1 + 1e-9)
        }
    });
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut c = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;
    c.configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(plot_err)?;
    for (i, (name, points)) in series.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        c.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        c.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )
        .map_err(plot_err)?;
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}
