//! `lienthong calendar due|year`: due times and a year's days, from the configured calendar
//! (`[calendar]`) or the year files of `--calendar-dir`.

use super::{load, Global};
use crate::calendar::{
    self, instant, year::weekday_vi, year_file, Calendar, DayKind, Settings, TimeOfDay,
    WorkDuration, YearSource,
};
use chrono::{DateTime, Datelike, FixedOffset};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// The due time of a processing time counted from a receipt, printed on the first line of
    /// stdout in RFC 3339, Vietnam time (e.g. 2026-03-10T09:00:00+07:00). Exit 2 on bad input
    Due(DueArgs),
    /// A year's days off and extra working days (làm bù) with their reasons, and whether they
    /// come from an approved year file or from the rules
    Year(YearArgs),
}

#[derive(Args, Debug)]
pub struct DueArgs {
    /// Receipt time, RFC 3339 with seconds optional, e.g. 2026-02-10T09:00+07:00; without an
    /// offset it is Vietnam time [default: now]
    #[arg(long, value_name = "RFC3339", value_parser = parse_from)]
    pub from: Option<DateTime<FixedOffset>>,
    /// Processing time in working days (15d; a day is the configured sessions, 8 h by default)
    /// or working hours (4h); decimals allowed (0.5d)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: WorkDuration,
    /// Receipt after this time on a working day counts from the next working day: HH:MM, or
    /// `none` [default: calendar.cutoff of the configuration, none unless set]
    #[arg(long, value_name = "HH:MM|none", value_parser = parse_cutoff)]
    pub cutoff: Option<Cutoff>,
    /// Use the year files of DIR instead of calendar.dir (default config/calendar/)
    #[arg(long, value_name = "DIR")]
    pub calendar_dir: Option<PathBuf>,
    /// Print the whole answer as one JSON object (as GET /v1/calendar/due answers)
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct YearArgs {
    /// The year, 1900–2100
    #[arg(value_parser = clap::value_parser!(i32).range(1900..=2100))]
    pub year: i32,
    /// Use the year files of DIR instead of calendar.dir (default config/calendar/)
    #[arg(long, value_name = "DIR")]
    pub calendar_dir: Option<PathBuf>,
    /// Print the days as a year file: save it as DIR/YYYY.toml after checking it against the
    /// year's decree (the rules only propose)
    #[arg(long)]
    pub toml: bool,
}

/// `--cutoff`: a time of day or none.
#[derive(Clone, Copy, Debug)]
pub struct Cutoff(Option<TimeOfDay>);

fn parse_from(s: &str) -> Result<DateTime<FixedOffset>, String> {
    instant::parse(s).map_err(|e| e.to_string())
}

fn parse_duration(s: &str) -> Result<WorkDuration, String> {
    s.parse()
        .map_err(|e: calendar::DurationError| e.to_string())
}

fn parse_cutoff(s: &str) -> Result<Cutoff, String> {
    calendar::hours::parse_cutoff(s)
        .map(Cutoff)
        .map_err(|e| format!("{e}, or none"))
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// The configured calendar, or the one of `--calendar-dir`.
fn open(global: &Global, dir: Option<PathBuf>) -> Result<Calendar, ExitCode> {
    let config = load(global)?;
    let mut settings = Settings::from_config(&config.calendar).map_err(|errs| {
        for e in errs {
            eprintln!("error: calendar.{}: {}", e.key, e.reason);
        }
        ExitCode::from(2)
    })?;
    let what = match dir {
        Some(d) => {
            if !d.is_dir() {
                return Err(usage(format!(
                    "--calendar-dir {}: not a directory",
                    d.display()
                )));
            }
            settings.dir = d;
            "--calendar-dir"
        }
        None => "calendar.dir",
    };
    let dir = settings.dir.clone();
    Calendar::load(settings).map_err(|errs| usage(format!("{what} {}:\n{errs}", dir.display())))
}

pub fn run(global: &Global, cmd: CalendarCommand) -> ExitCode {
    match cmd {
        CalendarCommand::Due(a) => due(global, a),
        CalendarCommand::Year(a) => year(global, a),
    }
}

fn due(global: &Global, a: DueArgs) -> ExitCode {
    let cal = match open(global, a.calendar_dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let from = a
        .from
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&instant::VIETNAM));
    let cutoff = a.cutoff.map_or(cal.settings().cutoff, |c| c.0);
    let d = match cal.due_with_cutoff(from, a.duration, cutoff) {
        Ok(d) => d,
        Err(e) => {
            let arg = if e.at_receipt(&from) {
                "--from"
            } else {
                "--duration"
            };
            return usage(format!("{arg}: {e}"));
        }
    };
    if a.json {
        println!("{}", d.to_json());
    } else {
        println!("{}", instant::format(&d.due));
    }
    for y in &d.provisional_years {
        eprintln!(
            "note: provisional: no approved year file {y}.toml in {}; {y}'s days come from the rules",
            cal.settings().dir.display()
        );
    }
    ExitCode::SUCCESS
}

fn year(global: &Global, a: YearArgs) -> ExitCode {
    let cal = match open(global, a.calendar_dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = match cal.year(a.year) {
        Ok(p) => p,
        Err(e) => return usage(format!("YEAR: {e}")),
    };
    let days: Vec<_> = plan.days().cloned().collect();
    // Written with errors ignored: `calendar year … | head` is not a failure.
    let mut out = std::io::stdout().lock();
    if a.toml {
        let source = match &plan.source {
            YearSource::File { legal_source, .. } => legal_source.as_deref(),
            YearSource::Rules => None,
        };
        let _ = write!(out, "{}", year_file::render(a.year, source, &days));
        return ExitCode::SUCCESS;
    }
    match &plan.source {
        YearSource::File { path, legal_source } => {
            let _ = writeln!(out, "{}: approved year file {}", a.year, path.display());
            if let Some(s) = legal_source {
                let _ = writeln!(out, "source: {s}");
            }
        }
        YearSource::Rules => {
            let (y, dir) = (a.year, cal.settings().dir.display());
            let _ = writeln!(
                out,
                "{y}: by rule (provisional: no {y}.toml in {dir}; \
                 `--toml` prints these days as a year file to check and save)"
            );
        }
    }
    for d in &days {
        let _ = writeln!(
            out,
            "{} {} {:<4} {}",
            d.date.format("%Y-%m-%d"),
            weekday_vi(d.date.weekday()),
            d.kind.as_str(),
            d.reason
        );
    }
    let off = days.iter().filter(|d| d.kind == DayKind::Off).count();
    let _ = writeln!(
        out,
        "{off} day(s) off, {} extra working day(s); other days follow the weekly rest days",
        days.len() - off
    );
    ExitCode::SUCCESS
}
