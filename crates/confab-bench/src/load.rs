//! Latency against load: scenario (a) at several send rates, its p50 and p99
//! delivery latency as a table and as a PNG chart drawn with plotters.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::args::Args;
use crate::fixture::Lab;
use crate::report::{self, LatencyReport};
use crate::sys::{self, Machine};
use crate::{command_line, latency};

/// The chart's file name beside the Markdown file.
const CHART: &str = "latency-vs-load.png";

/// `--scenario load`: every rate `--runs` times, the table, the chart, the section.
pub async fn scenario(args: &Args, machine: Machine) -> anyhow::Result<bool> {
    let rates = args.load_rates();
    if rates.is_empty() {
        anyhow::bail!("--load-rates gave no positive rate");
    }
    if args.servers > 1 {
        anyhow::bail!("--scenario load runs on one server");
    }
    let timing = args.timing();
    let runs = args.runs();
    let shape = args.load_plan(rates[0]);
    let sockets = shape.accounts * shape.sockets_per_account;
    let limit = sys::raise_open_files(65_536);
    if (limit as usize) < sockets + timing.senders + 256 {
        eprintln!("warning: open-files limit {limit} is low for {sockets} sockets");
    }
    let mut lab = Lab::new(
        &args.confab,
        args.database_url.as_deref(),
        None,
        args.temp_dir.as_deref(),
        args.keep,
    )?;
    let database = if args.database_url.is_some() {
        "PostgreSQL (a fresh database every run)"
    } else {
        "SQLite (a fresh database file every run)"
    };
    println!(
        "confab-bench: latency against load, confab serve ({}) on {database}; rates {:?} msg/s",
        lab.confab.display(),
        rates
    );
    let mut reports = Vec::new();
    for &rate in &rates {
        let plan = args.load_plan(rate);
        println!("\n{}", plan.title());
        let mut results = Vec::new();
        for n in 1..=runs {
            let fixture = lab.fixture(1, plan.accounts, timing.contacts).await?;
            let result = latency::run(&fixture, &plan, &timing).await;
            lab.release(fixture).await;
            let result = result?;
            report::print_run(n, &result);
            results.push(result);
        }
        let latency = LatencyReport {
            plan,
            runs: results,
        };
        report::print_summary(&latency);
        reports.push(latency);
    }
    println!("\nResults\n");
    print!("{}", report::latency_table(&reports));

    let chart = args.chart.clone().unwrap_or_else(|| {
        args.write_markdown
            .as_deref()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from(CHART), |dir| dir.join(CHART))
    });
    let points: Vec<Point> = reports
        .iter()
        .map(|r| Point {
            rate: r.plan.rate,
            p50_ms: r.p50() as f64 / 1e6,
            p99_ms: r.p99() as f64 / 1e6,
        })
        .collect();
    let title = format!(
        "Delivery latency against load: {} accounts × {} agent sockets, {}",
        shape.accounts,
        shape.sockets_per_account,
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let drawn = draw(
        &chart,
        &args.chart_font,
        &title,
        &points,
        shape.target_p99_ms,
    );
    match &drawn {
        Ok(()) => println!("\nchart: {}", chart.display()),
        Err(error) => eprintln!("\nno chart drawn: {error:#}"),
    }

    if let Some(path) = &args.write_markdown {
        let setup = report::Setup {
            machine: machine.describe(),
            revision: args.revision.clone().or_else(sys::revision),
            command: command_line(),
            database: database.to_string(),
            servers: 1,
            duration_s: timing.duration.as_secs_f64(),
            warmup_s: timing.warmup.as_secs_f64(),
            senders: timing.senders,
            contacts: timing.contacts,
            note: None,
        };
        let mut body = report::markdown(&setup, &reports, None);
        match drawn {
            Ok(()) => {
                let link = link_from(path, &chart);
                body.push_str(&format!(
                    "\nThe medians above against the send rate (drawn by the bench into \
                     `{link}`; the dashed line is the p99 target):\n\n\
                     ![p50 and p99 delivery latency against the send rate]({link})\n"
                ));
            }
            Err(error) => body.push_str(&format!("\nNo chart: {error:#}.\n")),
        }
        let section = args.section.clone().unwrap_or_else(|| {
            if args.database_url.is_some() {
                "latency-vs-load-postgres".into()
            } else {
                "latency-vs-load".into()
            }
        });
        report::write_section(path, &section, &body)?;
        println!("wrote {}", path.display());
    }
    Ok(reports.iter().all(LatencyReport::exact))
}

/// How the Markdown file at `markdown` links to `chart`: its file name when
/// they share a folder, else the path as given.
fn link_from(markdown: &Path, chart: &Path) -> String {
    let same_dir = markdown.parent().map(Path::to_path_buf).unwrap_or_default()
        == chart.parent().map(Path::to_path_buf).unwrap_or_default();
    match chart.file_name() {
        Some(name) if same_dir => name.to_string_lossy().into_owned(),
        _ => chart.display().to_string(),
    }
}

/// One rate's medians.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Draws p50 and p99 against the rate, with the p99 target as a dashed line.
/// The font is read from `font` at run time (the bench ships none).
pub fn draw(
    path: &Path,
    font: &Path,
    title: &str,
    points: &[Point],
    target_ms: f64,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(font)
        .with_context(|| format!("reading the font {} (pass --chart-font)", font.display()))?;
    // plotters keeps registered fonts for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow!("{} is not a font plotters can use", font.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let max_rate = points.iter().map(|p| p.rate).fold(1.0, f64::max) * 1.08;
    let max_ms = points
        .iter()
        .map(|p| p.p99_ms)
        .fold(target_ms * 1.5, f64::max)
        * 1.1;
    let fail = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());

    let root = BitMapBackend::new(path, (960, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..max_rate, 0f64..max_ms)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("contact messages per second (send rate)")
        .y_desc("delivery latency, ms")
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| fail(&e))?;

    let target = ShapeStyle::from(&BLACK.mix(0.5)).stroke_width(1);
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, target_ms), (max_rate, target_ms)],
            8,
            6,
            target,
        ))
        .map_err(|e| fail(&e))?
        .label(format!("p99 target ≤ {target_ms} ms"))
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], target));
    for (name, color, value) in [
        ("p50", BLUE, (|p: &Point| p.p50_ms) as fn(&Point) -> f64),
        ("p99", RED, |p: &Point| p.p99_ms),
    ] {
        let style = ShapeStyle::from(&color).stroke_width(2);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.rate, value(p))),
                style,
            ))
            .map_err(|e| fail(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], style));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.rate, value(p)), 4, color.filled())),
            )
            .map_err(|e| fail(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
