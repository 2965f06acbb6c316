//! The learning curve as an SVG (`plotters`): mean reward and success rate of the training rollouts per
//! iteration, with the held-out success before and after training as dashed levels.

use std::path::Path;

use plotters::prelude::*;

use crate::train::{CurvePoint, Evaluation};

/// Draws the curve; `before`/`after` are the held-out evaluations when known.
pub fn write_curve_svg(
    path: &Path,
    curve: &[CurvePoint],
    before: Option<Evaluation>,
    after: Option<Evaluation>,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let last = curve.last().map_or(1, |p| p.iteration).max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption("agentworld train: built-in policy, GRPO", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..last, 0f64..1f64)
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc("iteration").y_desc("rate").draw().map_err(|e| err(&e))?;
    let reward: Vec<(f64, f64)> = curve.iter().map(|p| (p.iteration as f64, p.mean_reward)).collect();
    let success: Vec<(f64, f64)> = curve.iter().map(|p| (p.iteration as f64, p.success_rate)).collect();
    chart
        .draw_series(LineSeries::new(reward, BLUE.stroke_width(2)))
        .map_err(|e| err(&e))?
        .label("train mean reward (sampled)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(success, GREEN.stroke_width(2)))
        .map_err(|e| err(&e))?
        .label("train success rate (sampled)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    for (eval, color, label) in
        [(before, RED, "held-out success, untrained"), (after, BLACK, "held-out success, trained")]
    {
        if let Some(e) = eval {
            let level = vec![(0.0, e.success_rate), (last, e.success_rate)];
            chart
                .draw_series(DashedLineSeries::new(level, 6, 4, color.stroke_width(1)))
                .map_err(|e| err(&e))?
                .label(format!("{label}: {:.1}%", e.success_rate * 100.0))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_both_series_and_the_levels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curve.svg");
        let curve: Vec<CurvePoint> = (1..=5)
            .map(|i| CurvePoint {
                iteration: i,
                mean_reward: i as f64 / 10.0,
                success_rate: i as f64 / 12.0,
                episodes: 10,
                env_steps: 30,
                episodes_per_s: 1.0,
                steps_per_s: 3.0,
                loss: 0.0,
                resampled: 0,
            })
            .collect();
        let e = |s| Evaluation { tasks: 10, success_rate: s, mean_reward: s };
        write_curve_svg(&path, &curve, Some(e(0.05)), Some(e(0.6))).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("held-out success, trained: 60.0%"));
        assert!(svg.matches("<polyline").count() >= 2 || svg.matches("<path").count() >= 2);
    }
}
