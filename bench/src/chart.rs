//! The memory sweep as an SVG chart: cold start, warm p50 and Lambda's cost
//! per million requests against memory size, one line per subject. Drawn
//! with `plotters`' SVG backend, which writes text as SVG `<text>` for the
//! viewer to render: no font files and no system libraries.

use std::path::Path;

use plotters::coord::combinators::{BindKeyPoints, IntoLogRange};
use plotters::prelude::*;

use crate::runtime_api::InitMode;
use crate::sweep::{AtSize, Role, SweepSubject, lambda_cost_per_million};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const COLORS: [RGBColor; 8] = [
    RGBColor(120, 120, 120),
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];

/// Draws the chart into `path`. Sizes without a quota are left out.
pub fn draw(
    path: &Path,
    subjects: &[SweepSubject],
    results: &[AtSize],
    caption: &str,
) -> Result<(), BoxError> {
    let sized: Vec<&AtSize> = results.iter().filter(|at| at.memory_mb.is_some()).collect();
    if sized.is_empty() {
        return Err("no memory size was measured under a quota: no chart".into());
    }
    let sizes: Vec<f64> = sized.iter().filter_map(|at| at.memory_mb).map(f64::from).collect();
    let (first, last) = (sizes[0], sizes[sizes.len() - 1]);
    // Every figure of every panel: its subject, its size, its value.
    type Series = Vec<(usize, Vec<(f64, f64)>)>;
    let series = |value: &dyn Fn(usize, &AtSize) -> f64| -> Series {
        (0..subjects.len())
            .map(|n| {
                let points = sized
                    .iter()
                    .filter_map(|at| Some((f64::from(at.memory_mb?), value(n, at))))
                    .filter(|(_, v)| *v > 0.0)
                    .collect();
                (n, points)
            })
            .collect()
    };
    let cold =
        |mode| series(&move |n, at: &AtSize| at.subjects[n].cold(mode).as_secs_f64() * 1000.0);
    let throttled = cold(InitMode::Throttled);
    let unthrottled = cold(InitMode::Unthrottled);
    let warm = series(&|n, at| at.subjects[n].warm_p(50.0).as_secs_f64() * 1000.0);
    let cost = series(&|n, at| {
        at.memory_mb.map_or(0.0, |mb| lambda_cost_per_million(mb, at.subjects[n].billed_ms()))
    });

    let root = SVGBackend::new(path, (1500, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(40);
    title.titled(caption, ("sans-serif", 20))?;
    let panels = body.split_evenly((1, 3));
    let x_range = || (first * 0.9..last * 1.1).log_scale().with_key_points(sizes.clone());
    // A positive span around the values (a log axis needs one; with no
    // values at all, as with no warm requests, any will do).
    let y_span = |lines: &[&Series]| {
        let values =
            lines.iter().flat_map(|s| s.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
        let (lo, hi) = values.fold((f64::MAX, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if hi <= 0.0 { (0.1, 1.0) } else { (lo.min(hi) * 0.7, hi * 1.4) }
    };
    let color = |n: usize| COLORS[n % COLORS.len()];
    let width = |n: usize| if subjects[n].role == Role::Ours { 3 } else { 2 };

    // Cold start, log scale: solid with init throttled, dashed unthrottled.
    let (lo, hi) = y_span(&[&throttled, &unthrottled]);
    let mut chart = ChartBuilder::on(&panels[0])
        .caption("cold start, ms (solid: init throttled; dashed: unthrottled)", ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(x_range(), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("memory, MB")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (n, points) in &throttled {
        let style = color(*n).stroke_width(width(*n));
        chart
            .draw_series(LineSeries::new(points.clone(), style))?
            .label(subjects[*n].label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color(*n).filled())))?;
    }
    for (n, points) in &unthrottled {
        chart.draw_series(DashedLineSeries::new(
            points.clone(),
            5,
            4,
            color(*n).stroke_width(width(*n).saturating_sub(1).max(1)),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()?;

    // Warm p50, log scale.
    let (lo, hi) = y_span(&[&warm]);
    let mut chart = ChartBuilder::on(&panels[1])
        .caption("warm request p50, ms", ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(x_range(), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("memory, MB")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .draw()?;
    for (n, points) in &warm {
        chart.draw_series(LineSeries::new(points.clone(), color(*n).stroke_width(width(*n))))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color(*n).filled())))?;
    }

    // Cost, linear: Lambda's part of a million requests.
    let (_, hi) = y_span(&[&cost]);
    let mut chart = ChartBuilder::on(&panels[2])
        .caption("Lambda $ per million requests (arm64)", ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(x_range(), 0.0..hi / 1.4 * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("memory, MB")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.2}"))
        .draw()?;
    for (n, points) in &cost {
        chart.draw_series(LineSeries::new(points.clone(), color(*n).stroke_width(width(*n))))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color(*n).filled())))?;
    }
    root.present()?;
    Ok(())
}
