//! PNG plots of a run's time series (plotters, with the DejaVu Sans font compiled in, so no
//! system font configuration is read). Particle runs: neck radius against time on log–log
//! axes, particle and component counts with the covered fraction, and the surface fraction of
//! each species. Growth runs: interface width against time (log–log) and islands against
//! coverage.

use super::write::Series;
use crate::error::{Error, Result};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::Path;
use std::sync::OnceLock;

const FAMILY: &str = "sans-serif";
const SIZE: (u32, u32) = (960, 640);
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn font_ready() -> Result<()> {
    static READY: OnceLock<bool> = OnceLock::new();
    let ok = *READY
        .get_or_init(|| register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Simulation(
            "the bundled plot font failed to load".into(),
        ))
    }
}

/// Values of column `name` of a series (NaN where a cell does not parse).
pub fn column(series: &Series, name: &str) -> Option<Vec<f64>> {
    let k = series.header.split(',').position(|h| h == name)?;
    Some(
        series
            .rows
            .iter()
            .map(|r| {
                r.split(',')
                    .nth(k)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            })
            .collect(),
    )
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Simulation(format!("plot {}: {e}", path.display()))
}

/// Draws into `name` inside `dir` through a temporary file, then renames.
fn draw(
    dir: &Path,
    name: &str,
    f: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
) -> Result<String> {
    font_ready()?;
    let file = format!("{name}.png");
    let tmp = dir.join(format!("{name}.tmp.png"));
    {
        let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(&tmp, e))?;
        f(&root)?;
        root.present().map_err(|e| plot_err(&tmp, e))?;
    }
    let path = dir.join(&file);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    Ok(file)
}

/// Ticks 1, 2, 5 × 10^k inside `[lo, hi]` (log axes spanning less than a decade get labels);
/// where fewer than two of those fall inside (a narrow range), every integer mantissa.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let coarse = log_ticks_with(lo, hi, &[1.0, 2.0, 5.0]);
    if coarse.len() >= 2 {
        return coarse;
    }
    log_ticks_with(lo, hi, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
}

fn log_ticks_with(lo: f64, hi: f64, mantissas: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut k = lo.log10().floor() as i32 - 1;
    while 10f64.powi(k) <= hi * 10.0 && out.len() < 64 {
        for &m in mantissas {
            let v = m * 10f64.powi(k);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        k += 1;
    }
    out
}

/// `(t, y)` pairs of a column against time, without the rows where `y` was not recorded.
fn finite_points(time: &[f64], v: &[f64]) -> Vec<(f64, f64)> {
    time.iter()
        .zip(v)
        .filter(|(_, y)| y.is_finite())
        .map(|(t, y)| (*t, *y))
        .collect()
}

fn bounds(v: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = v
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    (lo <= hi).then_some((lo, hi))
}

fn note(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    text: &str,
    path: &Path,
) -> Result<()> {
    root.draw(&Text::new(
        format!("{title}: {text}"),
        (40, SIZE.1 as i32 / 2),
        (FAMILY, 26).into_font(),
    ))
    .map_err(|e| plot_err(path, e))
}

/// A log–log chart of `series` (name, points with positive coordinates): lines with dots, a
/// legend when there is more than one; `empty` = (title, note) when no point exists.
fn loglog(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    path: &Path,
    empty: (&str, &str),
    caption: &str,
    (x_desc, y_desc): (&str, &str),
    series: &[(&str, &[(f64, f64)])],
) -> Result<()> {
    let all = || series.iter().flat_map(|s| s.1.iter());
    let (Some(tb), Some(yb)) = (bounds(all().map(|p| p.0)), bounds(all().map(|p| p.1))) else {
        return note(root, empty.0, empty.1, path);
    };
    let t = (tb.0 / 1.5, tb.1 * 1.5);
    let r = (yb.0 / 1.3, yb.1 * 1.3);
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FAMILY, 28))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d(
            (t.0..t.1).log_scale().with_key_points(log_ticks(t.0, t.1)),
            (r.0..r.1).log_scale().with_key_points(log_ticks(r.0, r.1)),
        )
        .map_err(|e| plot_err(path, e))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| format!("{v:.0e}"))
        // Long integers ran into the axis description; powers of ten stay short.
        .y_label_formatter(&|v| {
            if (1e-2..1e4).contains(v) {
                format!("{v}")
            } else {
                format!("{v:.0e}")
            }
        })
        .label_style((FAMILY, 18))
        .axis_desc_style((FAMILY, 20))
        .draw()
        .map_err(|e| plot_err(path, e))?;
    for (k, (label, data)) in series.iter().enumerate() {
        let c = COLORS[k];
        chart
            .draw_series(LineSeries::new(data.iter().copied(), c.stroke_width(2)))
            .map_err(|e| plot_err(path, e))?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(data.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(|e| plot_err(path, e))?;
    }
    if series.len() > 1 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 18))
            .draw()
            .map_err(|e| plot_err(path, e))?;
    }
    Ok(())
}

/// Writes `neck_radius.png`, `particles_coverage.png` and `surface_fraction.png` from a series
/// with the coalescence columns; returns the file names.
pub fn write_plots(dir: &Path, series: &Series, species: &[String]) -> Result<Vec<String>> {
    let time = column(series, "time_s").unwrap_or_default();
    let mut files = Vec::new();
    // Neck radius, log–log.
    let mean = column(series, "neck_radius_mean_a").unwrap_or_default();
    let max = column(series, "neck_radius_max_a").unwrap_or_default();
    let pts = |y: &[f64]| -> Vec<(f64, f64)> {
        time.iter()
            .zip(y)
            .filter(|(t, r)| **t > 0.0 && r.is_finite() && **r > 0.0)
            .map(|(t, r)| (*t, *r))
            .collect()
    };
    let (pm, px) = (pts(&mean), pts(&max));
    let path = dir.join("neck_radius.png");
    files.push(draw(dir, "neck_radius", |root| {
        loglog(
            root,
            &path,
            ("Neck radius", "no neck between particles yet"),
            "Neck radius between joined particles",
            ("time (s)", "neck radius (Å)"),
            &[("mean over necks", &pm), ("largest neck", &px)],
        )
    })?);
    // Particle and component counts, covered fraction.
    let path = dir.join("particles_coverage.png");
    let counts: Vec<(&str, Vec<f64>)> = ["particles", "components", "aggregates"]
        .into_iter()
        .filter_map(|c| column(series, c).map(|v| (c, v)))
        .collect();
    let covered = column(series, "covered_fraction").unwrap_or_default();
    files.push(draw(dir, "particles_coverage", |root| {
        let title = "Particles and coverage";
        let Some(tb) = bounds(time.iter().copied()) else {
            return note(root, title, "no rows", &path);
        };
        let t1 = if tb.1 > tb.0 { tb.1 } else { tb.0 + 1.0 };
        let ymax = bounds(counts.iter().flat_map(|c| c.1.iter().copied()))
            .map_or(1.0, |b| b.1.max(1.0) * 1.1);
        let mut chart = ChartBuilder::on(root)
            .caption("Particles, components and coverage", (FAMILY, 28))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(75)
            .right_y_label_area_size(75)
            .build_cartesian_2d(tb.0..t1, 0.0..ymax)
            .map_err(|e| plot_err(&path, e))?
            .set_secondary_coord(tb.0..t1, 0.0..1.0);
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("count")
            .x_label_formatter(&|v| format!("{v:.2e}"))
            .label_style((FAMILY, 18))
            .axis_desc_style((FAMILY, 20))
            .draw()
            .map_err(|e| plot_err(&path, e))?;
        chart
            .configure_secondary_axes()
            .y_desc("covered fraction")
            .label_style((FAMILY, 18))
            .axis_desc_style((FAMILY, 20))
            .draw()
            .map_err(|e| plot_err(&path, e))?;
        for (k, (label, v)) in counts.iter().enumerate() {
            let c = COLORS[k];
            let data = finite_points(&time, v);
            chart
                .draw_series(LineSeries::new(data, c.stroke_width(2)))
                .map_err(|e| plot_err(&path, e))?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        let c = COLORS[4];
        let data = finite_points(&time, &covered);
        chart
            .draw_secondary_series(LineSeries::new(data, c.stroke_width(2)))
            .map_err(|e| plot_err(&path, e))?
            .label("covered fraction (right)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 18))
            .draw()
            .map_err(|e| plot_err(&path, e))
    })?);
    // Surface fraction of each species.
    let path = dir.join("surface_fraction.png");
    let fractions: Vec<(&String, Vec<f64>)> = species
        .iter()
        .filter_map(|s| column(series, &format!("surface_fraction_{s}")).map(|v| (s, v)))
        .collect();
    files.push(draw(dir, "surface_fraction", |root| {
        let title = "Surface fraction";
        let Some(tb) = bounds(time.iter().copied()) else {
            return note(root, title, "no rows", &path);
        };
        let t1 = if tb.1 > tb.0 { tb.1 } else { tb.0 + 1.0 };
        let mut chart = ChartBuilder::on(root)
            .caption("Surface fraction of each species", (FAMILY, 28))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(75)
            .build_cartesian_2d(tb.0..t1, 0.0..1.0)
            .map_err(|e| plot_err(&path, e))?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("fraction of surface atoms")
            .x_label_formatter(&|v| format!("{v:.2e}"))
            .label_style((FAMILY, 18))
            .axis_desc_style((FAMILY, 20))
            .draw()
            .map_err(|e| plot_err(&path, e))?;
        for (k, (name, v)) in fractions.iter().enumerate() {
            let c = COLORS[k % COLORS.len()];
            let data = finite_points(&time, v);
            chart
                .draw_series(LineSeries::new(data, c.stroke_width(2)))
                .map_err(|e| plot_err(&path, e))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 18))
            .draw()
            .map_err(|e| plot_err(&path, e))
    })?);
    Ok(files)
}

/// Writes `roughness.png` (interface width against time, log–log, where the growth exponent β
/// is the slope) and `islands.png` (island counts, all clusters and those of two or more atoms,
/// and mean island size against coverage) from a
/// growth run's series; returns the file names.
pub fn write_growth_plots(dir: &Path, series: &Series) -> Result<Vec<String>> {
    let time = column(series, "time_s").unwrap_or_default();
    let width = column(series, "roughness_ml").unwrap_or_default();
    let coverage = column(series, "coverage_ml").unwrap_or_default();
    let islands = column(series, "islands").unwrap_or_default();
    let islands_ge2 = column(series, "islands_ge2").unwrap_or_default();
    let size = column(series, "mean_island_size").unwrap_or_default();
    let mut files = Vec::new();
    let w: Vec<(f64, f64)> = time
        .iter()
        .zip(&width)
        .filter(|(t, w)| **t > 0.0 && w.is_finite() && **w > 0.0)
        .map(|(t, w)| (*t, *w))
        .collect();
    let path = dir.join("roughness.png");
    files.push(draw(dir, "roughness", |root| {
        loglog(
            root,
            &path,
            ("Roughness", "the surface is still flat"),
            "Interface width",
            ("time (s)", "roughness w (ML)"),
            &[("roughness", &w)],
        )
    })?);
    let path = dir.join("islands.png");
    let n = finite_points(&coverage, &islands);
    let n2 = finite_points(&coverage, &islands_ge2);
    let s = finite_points(&coverage, &size);
    files.push(draw(dir, "islands", |root| {
        let title = "Islands";
        let Some(cb) = bounds(n.iter().map(|p| p.0)) else {
            return note(root, title, "no rows", &path);
        };
        let c1 = if cb.1 > cb.0 { cb.1 } else { cb.0 + 1.0 };
        let nmax = bounds(n.iter().map(|p| p.1)).map_or(1.0, |b| b.1.max(1.0) * 1.1);
        let smax = bounds(s.iter().map(|p| p.1)).map_or(1.0, |b| b.1.max(1.0) * 1.1);
        let mut chart = ChartBuilder::on(root)
            .caption("Islands against coverage", (FAMILY, 28))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(75)
            .right_y_label_area_size(75)
            .build_cartesian_2d(cb.0..c1, 0.0..nmax)
            .map_err(|e| plot_err(&path, e))?
            .set_secondary_coord(cb.0..c1, 0.0..smax);
        chart
            .configure_mesh()
            .x_desc("coverage (ML)")
            .y_desc("islands")
            .label_style((FAMILY, 18))
            .axis_desc_style((FAMILY, 20))
            .draw()
            .map_err(|e| plot_err(&path, e))?;
        chart
            .configure_secondary_axes()
            .y_desc("mean island size (atoms)")
            .label_style((FAMILY, 18))
            .axis_desc_style((FAMILY, 20))
            .draw()
            .map_err(|e| plot_err(&path, e))?;
        let (a, b, c) = (COLORS[0], COLORS[1], COLORS[2]);
        chart
            .draw_series(LineSeries::new(n.iter().copied(), a.stroke_width(2)))
            .map_err(|e| plot_err(&path, e))?
            .label("islands incl. monomers (left)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], a.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(n2.iter().copied(), c.stroke_width(2)))
            .map_err(|e| plot_err(&path, e))?
            .label("islands of ≥ 2 atoms (left)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_secondary_series(LineSeries::new(s.iter().copied(), b.stroke_width(2)))
            .map_err(|e| plot_err(&path, e))?
            .label("mean island size (right)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], b.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 18))
            .draw()
            .map_err(|e| plot_err(&path, e))
    })?);
    Ok(files)
}

/// Writes the film plots: `size_distribution.png` (the scaled island size distributions of
/// the snapshots in `sizes`, `(s / <s>, binned n_s <s>² / θ)` with a label each: curves that
/// fall on one another are the scaling collapse), `density_profile.png` (fill fraction against height
/// above the substrate, Å) when `profile` is given, and `saxs.png` (I(q), log–log) when `saxs`
/// is given; returns the file names.
pub fn write_film_plots(
    dir: &Path,
    sizes: &[(String, Vec<(f64, f64)>)],
    profile: Option<&[(f64, f64)]>,
    saxs: Option<&[(f64, f64)]>,
) -> Result<Vec<String>> {
    let positive = |v: &[(f64, f64)]| -> Vec<(f64, f64)> {
        v.iter()
            .copied()
            .filter(|p| p.0 > 0.0 && p.1 > 0.0 && p.0.is_finite() && p.1.is_finite())
            .collect()
    };
    let mut files = Vec::new();
    let path = dir.join("size_distribution.png");
    files.push(draw(dir, "size_distribution", |root| {
        let title = "Island sizes";
        let all = || sizes.iter().take(COLORS.len()).flat_map(|s| s.1.iter());
        let (Some(xb), Some(yb)) = (bounds(all().map(|p| p.0)), bounds(all().map(|p| p.1))) else {
            return note(root, title, "no islands of two or more atoms", &path);
        };
        let mut chart = ChartBuilder::on(root)
            .caption("Scaled island size distribution", (FAMILY, 28))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(75)
            .build_cartesian_2d(0.0..xb.1 * 1.05 + 0.1, 0.0..yb.1.max(0.1) * 1.1)
            .map_err(|e| plot_err(&path, e))?;
        chart
            .configure_mesh()
            .x_desc("s / <s>")
            .y_desc("n_s <s>² / θ (binned in s / <s>)")
            .label_style((FAMILY, 18))
            .axis_desc_style((FAMILY, 20))
            .draw()
            .map_err(|e| plot_err(&path, e))?;
        for (k, (label, data)) in sizes.iter().take(COLORS.len()).enumerate() {
            let c = COLORS[k];
            chart
                .draw_series(LineSeries::new(data.iter().copied(), c.stroke_width(2)))
                .map_err(|e| plot_err(&path, e))?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            chart
                .draw_series(data.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(|e| plot_err(&path, e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 18))
            .draw()
            .map_err(|e| plot_err(&path, e))
    })?);
    if let Some(profile) = profile {
        let path = dir.join("density_profile.png");
        files.push(draw(dir, "density_profile", |root| {
            let title = "Density profile";
            let Some(zb) = bounds(profile.iter().map(|p| p.0)) else {
                return note(root, title, "no film", &path);
            };
            let mut chart = ChartBuilder::on(root)
                .caption("Density profile along z", (FAMILY, 28))
                .margin(20)
                .x_label_area_size(55)
                .y_label_area_size(75)
                .build_cartesian_2d(0.0..zb.1 * 1.05, 0.0..1.05)
                .map_err(|e| plot_err(&path, e))?;
            chart
                .configure_mesh()
                .x_desc("height above the substrate (Å)")
                .y_desc("fill fraction (atoms / sites per layer)")
                .label_style((FAMILY, 18))
                .axis_desc_style((FAMILY, 20))
                .draw()
                .map_err(|e| plot_err(&path, e))?;
            let c = COLORS[0];
            chart
                .draw_series(LineSeries::new(profile.iter().copied(), c.stroke_width(2)))
                .map_err(|e| plot_err(&path, e))?;
            chart
                .draw_series(profile.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(|e| plot_err(&path, e))?;
            Ok(())
        })?);
    }
    if let Some(saxs) = saxs {
        let path = dir.join("saxs.png");
        let pts = positive(saxs);
        files.push(draw(dir, "saxs", |root| {
            loglog(
                root,
                &path,
                ("Small-angle scattering", "no intensity"),
                "Small-angle scattering (Debye sum)",
                ("q (1/Å)", "I(q) per atom (electrons²)"),
                &[("I(q)", &pts)],
            )
        })?);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_written_and_are_pngs() {
        let dir = std::env::temp_dir().join(format!("kmc-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = Series::new(
            "time_s,particles,components,aggregates,neck_radius_mean_a,neck_radius_max_a,covered_fraction,surface_fraction_Ag,surface_fraction_Au",
        );
        for k in 0..20 {
            let t = 1e-6 * (k + 1) as f64;
            // x ∝ t^(1/3): a straight line of slope 1/3 on the log–log plot.
            let x = 4.0 * (t / 1e-6f64).cbrt();
            s.rows.push(format!(
                "{t},{},{},{},{x},{},{},{},{}",
                2 + k / 4,
                2,
                1,
                1.2 * x,
                0.05 * k as f64,
                0.5 + 0.01 * k as f64,
                0.5 - 0.01 * k as f64
            ));
        }
        let files = write_plots(&dir, &s, &["Ag".into(), "Au".into()]).unwrap();
        assert_eq!(files.len(), 3);
        for f in &files {
            let bytes = std::fs::read(dir.join(f)).unwrap();
            assert_eq!(&bytes[1..4], b"PNG", "{f}");
            assert!(bytes.len() > 5_000, "{f} holds a drawing");
        }
        // An empty series still gives the three files (with a note).
        let empty = Series::new("time_s");
        let sub = dir.join("empty");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(write_plots(&sub, &empty, &[]).unwrap().len(), 3);
        assert_eq!(column(&s, "components").unwrap()[0], 2.0);
        assert!(column(&s, "nothing").is_none());
        if std::env::var_os("KMC_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
