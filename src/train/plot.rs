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

/// Per iteration with resignation on: the share of games resigned, and
/// the share of the played-through games' would-be resignations that were
/// false so far (cumulative); `None` for a run that never resigned.
fn resignation_series(metrics: &[Value]) -> Option<Vec<Series>> {
    let (mut resigned, mut false_rate) = (Vec::new(), Vec::new());
    let (mut would, mut wrong) = (0.0, 0.0);
    for m in metrics {
        let (Some(x), Some(sp)) = (
            m.get("iteration").and_then(Value::as_f64),
            m.get("selfplay"),
        ) else {
            continue;
        };
        let get = |k: &str| {
            sp.get("resign")
                .and_then(|r| r.get(k))
                .and_then(Value::as_f64)
        };
        let games = sp.get("games").and_then(Value::as_f64).unwrap_or(0.0);
        let (r, w, f) = (
            get("resigned")?,
            get("would_have_resigned")?,
            get("false_resignations")?,
        );
        if r + w == 0.0 || games == 0.0 {
            continue;
        }
        resigned.push((x, r / games));
        would += w;
        wrong += f;
        if would > 0.0 {
            false_rate.push((x, wrong / would));
        }
    }
    (!resigned.is_empty()).then(|| {
        vec![
            ("games resigned".to_string(), resigned),
            ("false resignations (cumulative)".to_string(), false_rate),
        ]
    })
}

/// Writes `losses.svg`, `arena.svg`, `strength.svg`, `throughput.svg`
/// and, for a run that resigns, `resignation.svg` into `dir`.
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
            series(
                metrics,
                "ownership (train)",
                &["train", "aux", "ownership_loss"],
            ),
            series(
                metrics,
                "opponent's reply (train)",
                &["train", "aux", "reply_loss"],
            ),
        ],
        None,
    )?;
    if let Some(resign) = resignation_series(metrics) {
        chart(
            &dir.join("resignation.svg"),
            "Self-play resignation",
            "iteration",
            "share",
            resign,
            Some((0.0, 1.0)),
        )?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resignation_is_charted_only_for_runs_that_resign() {
        let line = |it: u64, resigned: u64, would: u64, wrong: u64| {
            json!({"iteration": it, "selfplay": {"games": 10, "resign": {
                "resigned": resigned, "would_have_resigned": would, "false_resignations": wrong}}})
        };
        let quiet = vec![line(1, 0, 0, 0), line(2, 0, 0, 0)];
        assert!(resignation_series(&quiet).is_none());
        let old = vec![json!({"iteration": 1, "selfplay": {"games": 10}})];
        assert!(resignation_series(&old).is_none());
        let s = resignation_series(&[line(1, 4, 2, 1), line(2, 5, 2, 0)]).unwrap();
        assert_eq!(s[0].1, vec![(1.0, 0.4), (2.0, 0.5)]);
        assert_eq!(s[1].1, vec![(1.0, 0.5), (2.0, 0.25)]);
        let dir = std::env::temp_dir().join(format!("wgzero-plot-{}", std::process::id()));
        write_plots(&dir, &[line(1, 4, 2, 1)]).unwrap();
        assert!(dir.join("resignation.svg").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
