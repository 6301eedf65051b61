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
        _ => Box::new(TableSink {
            out,
            width: 0,
            exposure: false,
        }),
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
        writeln!(self.out, "  \"groups\": {},", h.groups)?;
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
struct TableSink<W: Write> {
    out: W,
    width: usize,
    exposure: bool,
}

impl<W: Write> TableSink<W> {
    fn row(&mut self, a: &str, b: &str, rest: &str) -> std::io::Result<()> {
        let line = format!(
            "{:<w$}  {:<w$}  {rest}",
            sanitize(a),
            sanitize(b),
            w = self.width
        );
        writeln!(self.out, "{}", line.trim_end())
    }
}

impl<W: Write> Sink for TableSink<W> {
    fn begin(&mut self, h: &Head) -> std::io::Result<()> {
        self.width = h.name_width.clamp(4, 60);
        writeln!(
            self.out,
            "Who can talk to whom in {} ({} in {}). Pairs not listed are denied.\n",
            h.scope,
            crate::text::plural(h.groups, "group"),
            crate::text::plural(h.workloads, "workload")
        )?;
        self.row("FROM", "TO", "PORTS")
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        if c.kind == "rule" {
            if !self.exposure {
                self.exposure = true;
                writeln!(
                    self.out,
                    "\nExposure as the policies state it (other namespaces, outside addresses):\n"
                )?;
                self.row("FROM", "TO", "PORTS")?;
            }
            return self.row(&c.from, &c.to, &c.ports);
        }
        let rest = if c.undecided.is_empty() {
            c.ports.clone()
        } else {
            format!(
                "{}  (undecided {}: {})",
                c.ports,
                c.undecided,
                sanitize(&c.note)
            )
        };
        self.row(&c.from, &c.to, &rest)
    }
    fn end(&mut self, notes: &[String]) -> std::io::Result<()> {
        if !notes.is_empty() {
            writeln!(self.out)?;
        }
        for n in notes {
            writeln!(self.out, "note: {}", sanitize(n))?;
        }
        self.out.flush()
    }
}
