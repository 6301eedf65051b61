//! `reach [-n NS | -A] [-f PATH]`: gather pods and policies, decide every pair of groups
//! ([`crate::reach::analyse`]), and write each row as it is decided.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{OutputFormat, ReachArgs};
use crate::config::Settings;
use crate::error::Result;
use crate::reach::{Connection, Head, Sink, analyse};
use crate::report::API_VERSION;
use crate::source::live::Live;
use crate::source::manifests;
use crate::text::sanitize;

pub(crate) async fn run(settings: &Settings, args: &ReachArgs) -> Result<ExitCode> {
    let (input, scope) = if args.filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = live.namespace(settings);
        let scope = if args.all_namespaces { None } else { Some(ns) };
        let input = match live.reach_input(scope.as_deref()).await {
            Ok(input) => input,
            Err(e) => {
                // A server that answers 404 to everything is no Kubernetes API: say so.
                live.confirm_api_server().await?;
                return Err(e);
            }
        };
        (input, scope)
    } else {
        let loaded = manifests::load(&args.filenames, settings.verbose > 0)?;
        let scope = if args.all_namespaces {
            None
        } else {
            Some(crate::source::live::offline_namespace(settings))
        };
        let default_ns = scope
            .clone()
            .or_else(|| settings.namespace.clone())
            .unwrap_or_else(|| "default".into());
        (
            manifests::reach_input(&loaded, scope.as_deref(), &default_ns)?,
            scope,
        )
    };
    let all = scope.is_none();
    let scope = scope.map_or("all namespaces".to_string(), |n| format!("namespace {n}"));
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut sink: Box<dyn Sink> = match settings.output {
        OutputFormat::Json => Box::new(JsonSink { out, first: true }),
        OutputFormat::Csv => Box::new(CsvSink { out }),
        _ => Box::new(TableSink::new(out)),
    };
    // On a signal the watchdog cannot print for us (stdout is ours while rows stream): the rows
    // stop at the next one and the document closes, saying so.
    let _streaming = crate::interrupt::streaming();
    let counts = analyse(&input, all, &scope, sink.as_mut())?;
    if let Some(code) = counts.interrupted {
        let name = crate::interrupt::received().map_or("a signal", |s| s.name());
        eprintln!("error: interrupted by {name}");
        return Ok(ExitCode::from(code));
    }
    // Rows left undecided make the answer incomplete (exit 3), as a skipped check does.
    Ok(if counts.undecided_sources > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

struct JsonSink<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> Sink for JsonSink<W> {
    fn begin(&mut self, h: &Head) -> std::io::Result<()> {
        let field = |v: &dyn erased::Json| v.json();
        writeln!(self.out, "{{")?;
        writeln!(self.out, "  \"apiVersion\": {},", field(&API_VERSION))?;
        writeln!(self.out, "  \"kind\": \"ReachReport\",")?;
        writeln!(self.out, "  \"source\": {},", field(&h.source))?;
        writeln!(self.out, "  \"scope\": {},", field(&h.scope))?;
        writeln!(self.out, "  \"workloads\": {},", h.workloads)?;
        // The groups rows reference by id (`fromGroup`, `toGroup`): a program follows these,
        // never the display names.
        write!(self.out, "  \"groups\": [")?;
        for (i, g) in h.groups.iter().enumerate() {
            write!(self.out, "{}\n    ", if i == 0 { "" } else { "," })?;
            crate::render::escaped::json_line(&mut self.out, g)?;
        }
        writeln!(
            self.out,
            "{}],",
            if h.groups.is_empty() { "" } else { "\n  " }
        )?;
        write!(self.out, "  \"connections\": [")
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        let sep = if std::mem::take(&mut self.first) {
            ""
        } else {
            ","
        };
        write!(self.out, "{sep}\n    ")?;
        crate::render::escaped::json_line(&mut self.out, c)
    }
    fn end(&mut self, notes: &[String]) -> std::io::Result<()> {
        let close = if self.first { "]" } else { "\n  ]" };
        writeln!(self.out, "{close},")?;
        write!(self.out, "  \"notes\": ")?;
        crate::render::escaped::json_line(&mut self.out, notes)?;
        writeln!(self.out, "\n}}")?;
        self.out.flush()
    }
}

/// Serialises one value as JSON text (for the document's head).
mod erased {
    pub(super) trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            let mut out = Vec::new();
            match crate::render::escaped::json_line(&mut out, self) {
                Ok(()) => String::from_utf8(out).unwrap_or_else(|_| "null".into()),
                Err(_) => "null".into(),
            }
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

struct CsvSink<W: Write> {
    out: W,
}

impl<W: Write> Sink for CsvSink<W> {
    fn begin(&mut self, _: &Head) -> std::io::Result<()> {
        writeln!(self.out, "from,to,kind,ports,undecided,note")
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        let fields = [
            &c.from,
            &c.to,
            &c.kind.to_string(),
            &c.ports,
            &c.undecided,
            &c.note,
        ]
        .map(|f| csv_field(&sanitize(f)));
        writeln!(self.out, "{}", fields.join(","))
    }
    fn end(&mut self, _: &[String]) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Aligned columns, streamed: the group names are known before the first row, so their width is.
/// Rows of the exposure section name peers as the policies state them (longer than any group
/// name), so they are gathered and aligned among themselves, a screenful at a time. A note on a
/// row goes on its own lines under it, wrapped to the width; names are never broken.
struct TableSink<W: Write> {
    out: W,
    width: usize,
    exposure: bool,
    /// Exposure rows not yet printed.
    pending: Vec<[String; 3]>,
}

/// How many exposure rows are aligned together (the memory the table keeps).
const EXPOSURE_CHUNK: usize = 1_000;

impl<W: Write> TableSink<W> {
    fn new(out: W) -> Self {
        TableSink {
            out,
            width: 0,
            exposure: false,
            pending: Vec::new(),
        }
    }

    fn row(&mut self, widths: (usize, usize), a: &str, b: &str, rest: &str) -> std::io::Result<()> {
        let line = format!(
            "{:<wa$}  {:<wb$}  {rest}",
            sanitize(a),
            sanitize(b),
            wa = widths.0,
            wb = widths.1
        );
        writeln!(self.out, "{}", line.trim_end())
    }

    /// A note under a row, indented and wrapped.
    fn note(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(
            self.out,
            "{}",
            crate::render::wrap_plain("    ", &sanitize(text))
        )
    }

    fn flush_exposure(&mut self) -> std::io::Result<()> {
        let rows = std::mem::take(&mut self.pending);
        let width = |i: usize| {
            rows.iter()
                .map(|r| sanitize(&r[i]).chars().count())
                .max()
                .unwrap_or(0)
                .max(4)
        };
        let widths = (width(0), width(1));
        for [a, b, rest] in &rows {
            self.row(widths, a, b, rest)?;
        }
        Ok(())
    }
}

impl<W: Write> Sink for TableSink<W> {
    fn begin(&mut self, h: &Head) -> std::io::Result<()> {
        self.width = h.name_width.clamp(4, 60);
        let head = format!(
            "Who can talk to whom in {} ({} in {}). Pairs not listed are denied.",
            h.scope,
            crate::text::plural(h.groups.len(), "group"),
            crate::text::plural(h.workloads, "workload")
        );
        writeln!(self.out, "{}\n", crate::render::wrap_plain("", &head))?;
        self.row((self.width, self.width), "FROM", "TO", "PORTS")
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        if c.kind == "rule" {
            if !self.exposure {
                self.exposure = true;
                let head =
                    "Exposure as the policies state it (other namespaces, outside addresses):";
                writeln!(self.out, "\n{}\n", crate::render::wrap_plain("", head))?;
                self.pending
                    .push(["FROM".into(), "TO".into(), "PORTS".into()]);
            }
            self.pending
                .push([c.from.clone(), c.to.clone(), c.ports.clone()]);
            if self.pending.len() >= EXPOSURE_CHUNK {
                self.flush_exposure()?;
            }
            return Ok(());
        }
        self.row((self.width, self.width), &c.from, &c.to, &c.ports)?;
        if !c.undecided.is_empty() {
            self.note(&format!("undecided {}: {}", c.undecided, c.note))?;
        }
        Ok(())
    }
    fn end(&mut self, notes: &[String]) -> std::io::Result<()> {
        self.flush_exposure()?;
        if !notes.is_empty() {
            writeln!(self.out)?;
        }
        for n in notes {
            writeln!(
                self.out,
                "{}",
                crate::render::wrap_plain("note: ", &sanitize(n))
            )?;
        }
        self.out.flush()
    }
}
