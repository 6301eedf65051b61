//! The binary's surface: help, usage errors, formats, explain.

use crate::support::{Run, repo, server_with};

#[test]
fn help_lists_the_commands_and_exit_codes() {
    let out = Run::new(["--help"]).run();
    assert_eq!(out.code, 0);
    for word in [
        "svc",
        "explain",
        "--kubeconfig",
        "--context",
        "--namespace",
        "--request-timeout",
        "Exit codes",
    ] {
        assert!(
            out.stdout.contains(word),
            "help lacks {word}:\n{}",
            out.stdout
        );
    }
    let svc = Run::new(["svc", "--help"]).run();
    assert!(
        svc.stdout.contains("--filename") && svc.stdout.contains("--strict"),
        "{}",
        svc.stdout
    );
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [
        vec!["svc"],
        vec!["svc", "x", "--bogus"],
        vec!["svc", "x", "-o", "xml"],
        vec!["svc", "x", "-o", "csv", "-f", "examples/broken-shop"],
        vec![
            "svc",
            "x",
            "--request-timeout",
            "soon",
            "-f",
            "examples/broken-shop",
        ],
        vec!["svc", "Not_A_Name", "-f", "examples/broken-shop"],
        vec!["svc", "x", "-n", "bad/ns", "-f", "examples/broken-shop"],
        vec!["explain", "service.selectr"],
    ] {
        let out = Run::new(&args).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
    }
    let out = Run::new(["svc", "x", "-o", "csv", "-f", "examples/broken-shop"]).run();
    assert_eq!(
        out.stderr.trim(),
        "error: svc does not support -o csv (supported: table, json, yaml, junit, markdown, sarif)"
    );
}

#[test]
fn explain_lists_checks_in_flow_order_and_prints_pages() {
    let list = Run::new(["explain"]).run();
    assert_eq!(list.code, 0);
    let order: Vec<usize> = [
        "service.exists",
        "service.selector",
        "endpoints.ready",
        "ports.target",
    ]
    .iter()
    .map(|id| {
        list.stdout
            .find(id)
            .unwrap_or_else(|| panic!("{id} not listed"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", list.stdout);
    // The page's Markdown itself (rendered for the terminal without --raw: issue 12).
    let page = Run::new(["explain", "ports.target", "--raw"]).run();
    assert_eq!(page.code, 0);
    assert!(page.stdout.starts_with("# ports.target"), "{}", page.stdout);
    assert!(page.stdout.contains("## Check by hand"));
    let bad = Run::new(["explain", "service.selectr"]).run();
    assert!(
        bad.stderr.contains("did you mean service.selector"),
        "{}",
        bad.stderr
    );
}

#[test]
fn svc_prefix_and_yaml_output() {
    let f = repo().join("examples/broken-shop");
    let out = Run::new(["svc", "svc/frontend", "-n", "shop", "-o", "yaml", "-f"])
        .arg(f.display().to_string())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_saphyr::from_str(&out.stdout).expect("YAML output parses");
    assert_eq!(v["kind"], "Diagnosis");
    assert_eq!(v["target"]["name"], "frontend");
    assert_eq!(v["source"], "manifests");
}

#[test]
fn cluster_strings_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[31mred\r";
    let fixture = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[
{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"web","namespace":"shop"}},"spec":{{"selector":{{"app":"web"}},"ports":[{{"port":80}}]}}}},
{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"web-1","namespace":"shop","labels":{{"app":"web"}}}},
  "spec":{{"containers":[{{"name":"web","image":"x","ports":[{{"containerPort":80}}]}}]}},
  "status":{{"phase":"Running","podIP":"10.0.0.9","conditions":[{{"type":"Ready","status":"False","reason":"X","message":{msg}}}]}}}},
{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{{"name":"web-a","namespace":"shop","labels":{{"kubernetes.io/service-name":"web"}}}},
  "addressType":"IPv4","ports":[{{"port":80,"protocol":"TCP"}}],"endpoints":[{{"addresses":["10.0.0.9"],"conditions":{{"ready":false}},"targetRef":{{"kind":"Pod","name":"web-1"}}}}]}},
{{"apiVersion":"v1","kind":"Event","metadata":{{"name":"e","namespace":"shop"}},"involvedObject":{{"kind":"Pod","name":"web-1","namespace":"shop"}},"type":"Warning","reason":"Unhealthy","message":{msg}}}
]}}"#,
        msg = serde_json::to_string(evil).unwrap()
    );
    let path = dir.path().join("evil.json");
    std::fs::write(&path, &fixture).unwrap();
    let server = server_with(&[&path]);
    let out = Run::new(["svc", "web", "-n", "shop"])
        .kubeconfig(&server, None)
        .env("TERM", "xterm-256color")
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("owned") && out.stdout.contains("red"),
        "the text itself stays:\n{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains('\u{1b}')
            && !out.stdout.contains('\u{7}')
            && !out.stdout.contains('\r'),
        "{:?}",
        out.stdout
    );
    // JSON escapes them instead: the value survives for machines.
    let json = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert!(json.stdout.contains("\\u001b") && !json.stdout.contains('\u{1b}'));
}

/// Runs the binary on a pseudo-terminal (util-linux `script`), where colours are allowed.
pub(crate) fn on_tty(args: &str, env: &[(&str, &str)]) -> Option<String> {
    let bin = crate::support::BIN;
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Err(_) => {
            eprintln!("no `script` command: skipping the terminal colour test");
            None
        }
    }
}

#[test]
fn colours_only_on_a_terminal_and_never_under_no_color() {
    let f = repo().join("examples/broken-shop").display().to_string();
    let args = format!("svc postgres -n shop -f {f}");
    let Some(tty) = on_tty(&args, &[]) else {
        return;
    };
    assert!(tty.contains("\u{1b}["), "a terminal gets colours:\n{tty}");
    assert!(tty.contains("VERDICT"), "{tty}");
    let no_color = on_tty(&args, &[("NO_COLOR", "1")]).unwrap();
    assert!(!no_color.contains("\u{1b}["), "NO_COLOR:\n{no_color}");
    let flag = on_tty(&format!("{args} --no-color"), &[]).unwrap();
    assert!(!flag.contains("\u{1b}["), "--no-color:\n{flag}");
    let dumb = on_tty(&args, &[("TERM", "dumb")]).unwrap();
    assert!(!dumb.contains("\u{1b}["), "TERM=dumb:\n{dumb}");
    // A pipe gets none (every other test reads a pipe).
    let piped = Run::new(["svc", "postgres", "-n", "shop", "-f", &f]).run();
    assert!(!piped.stdout.contains('\u{1b}'));
}

#[test]
fn verbose_logs_each_request_to_stderr() {
    let dir = repo().join("tests/scenarios/healthy");
    let server = server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")]);
    let out = Run::new(["svc", "frontend", "-n", "shop", "-v"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .contains("netdoctor: get service shop/frontend: ok in"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("netdoctor: list pods in shop -l app=frontend: ok in"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("netdoctor:"), "logs go to stderr only");
}

// kubectl habits: -A on a one-Service command is explained, -v=N is a log level.
#[test]
fn kubectl_habits_are_understood() {
    let out = Run::new(["svc", "web", "-A"]).run();
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.trim(),
        "error: svc diagnoses one Service in one namespace (-n NS); for every Service of every namespace use: kubectl netdoctor scan -A"
    );
    let dir = repo().join("examples/broken-shop").display().to_string();
    for v in ["-v=6", "-v", "--v=2"] {
        let out = Run::new([v, "svc", "postgres", "-n", "shop", "-f", &dir]).run();
        assert_eq!(out.code, 1, "{v}: {}", out.stderr);
        assert!(out.stdout.contains("VERDICT: FAIL"), "{v}");
    }
}

/// A man page as groff sets it for an 80-column terminal, without preconv (`groff -ww`: every
/// warning on); `None` without groff outside CI.
fn groff(page: &std::path::Path) -> Option<(String, String)> {
    let out = match std::process::Command::new("groff")
        .args(["-ww", "-t", "-man", "-Tutf8", "-rLL=80n"])
        .arg(page)
        .env("GROFF_NO_SGR", "1")
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "groff is needed in CI: {e}"
            );
            return None;
        }
    };
    assert!(out.status.success(), "{}", page.display());
    // Overstrike (bold as c\bc, underline as _\bc) read back as the letters.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&out.stdout).chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    Some((text, String::from_utf8_lossy(&out.stderr).into_owned()))
}

// Every page in man/ renders through `groff -ww` (issue 17 item 12) with no warning; names only
// pages that exist; has a header whose three parts stand apart at 80 columns and a footer with
// the version; the checks page shows no Markdown; each command's page lists its own formats.
#[test]
fn man_pages_render_without_warnings() {
    let dir = repo().join("man");
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    for cmd in [
        "svc", "scan", "explain", "reach", "path", "ingress", "dns", "capture", "cleanup",
    ] {
        assert!(
            pages.contains(&format!("kubectl-netdoctor-{cmd}.1")),
            "{pages:?}"
        );
    }
    assert!(pages.contains(&"kubectl-netdoctor-checks.7".to_string()));
    let version = env!("CARGO_PKG_VERSION");
    let mut text_of = std::collections::BTreeMap::new();
    for page in &pages {
        let Some((text, warnings)) = groff(&dir.join(page)) else {
            return;
        };
        assert_eq!(warnings, "", "{page}");
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let (header, footer) = (lines[0], lines[lines.len() - 1]);
        for edge in [header, footer] {
            assert!(edge.chars().count() <= 80, "{page}: {edge}");
        }
        // Three parts, each apart from the next: "NAME(1)   kubectl netdoctor   NAME(1)".
        assert_eq!(
            header.split("  ").filter(|p| !p.trim().is_empty()).count(),
            3,
            "{page}: {header}"
        );
        assert!(
            footer.contains(&format!("kubectl-netdoctor {version}")),
            "{page}: {footer}"
        );
        assert!(
            footer.split("  ").filter(|p| !p.trim().is_empty()).count() >= 2,
            "{page}: {footer}"
        );
        // Every page it names exists (clap_mangen named kubectl-netdoctor-help(1)).
        for (i, _) in text.match_indices("kubectl-netdoctor") {
            let rest = &text[i..];
            let Some(end) = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) else {
                continue;
            };
            if let Some(section) = rest[end..].strip_prefix('(').and_then(|r| r.get(..1)) {
                let named = format!("{}.{section}", &rest[..end]);
                assert!(
                    pages.contains(&named),
                    "{page} names {named}, which does not exist"
                );
            }
        }
        text_of.insert(page.clone(), text);
    }
    let checks = &text_of["kubectl-netdoctor-checks.7"];
    assert!(
        !checks.contains("**") && !checks.contains('`'),
        "raw Markdown:\n{checks}"
    );
    assert!(checks.contains("kubectl get endpointslices") || checks.contains("endpointslice"));
    // -o lists the formats the command prints: svc has no csv, reach no junit.
    let svc = &text_of["kubectl-netdoctor-svc.1"];
    assert!(
        svc.contains("table, json, yaml, junit, markdown or sarif"),
        "{svc}"
    );
    assert!(!svc.contains("csv"), "{svc}");
    let reach = &text_of["kubectl-netdoctor-reach.1"];
    assert!(reach.contains("table, json or csv"), "{reach}");
    // path runs no checks: its --no-probe speaks of its own probe.
    let path = &text_of["kubectl-netdoctor-path.1"];
    assert!(!path.contains("checks 5"), "{path}");
    let main = &text_of["kubectl-netdoctor.1"];
    assert!(main.contains("kubectl-netdoctor-svc(1)"), "{main}");
    assert!(svc.contains("EXAMPLES"), "{svc}");
}

// Skips that follow from one failure collapse into one line, so the verdict stays on a small
// screen; --show-skipped (or -v) lists each.
#[test]
fn dependency_skips_collapse_into_one_line() {
    let dir = repo().join("examples/broken-shop").display().to_string();
    let base = ["svc", "postgres", "-n", "shop", "-f", &dir];
    let out = Run::new(base).run();
    assert_eq!(out.code, 1);
    let skipped: Vec<&str> = out.stdout.lines().filter(|l| l.contains("SKIP")).collect();
    assert!(
        skipped.contains(
            &"○ SKIP  not run: 5 checks need service.selector (fail) (--show-skipped lists them)"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("depends on"), "{}", out.stdout);
    // A skip of its own (offline) is still its own line.
    assert!(out.stdout.contains("dns.resolves"), "{}", out.stdout);
    for flag in ["--show-skipped", "-v"] {
        let out = Run::new(base).arg(flag).run();
        for id in [
            "endpoints.ready",
            "ports.target",
            "pods.listening",
            "service.clusterip",
            "netpol.allows",
        ] {
            assert!(
                out.stdout
                    .lines()
                    .any(|l| l.contains(id) && l.contains("depends on")),
                "{flag}: {id}\n{}",
                out.stdout
            );
        }
    }
}

// The command's own flags first, kubectl's global and connection flags under their own
// headings, then the formats this command prints and examples.
#[test]
fn help_separates_command_and_global_flags_and_ends_with_examples() {
    let out = Run::new(["svc", "--help"]).run();
    assert_eq!(out.code, 0);
    let headings: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .collect();
    assert_eq!(
        headings,
        [
            "Arguments:",
            "Options:",
            "Global options:",
            "Connection:",
            "Examples:"
        ],
        "{}",
        out.stdout
    );
    let own = out.stdout.split("Global options:").next().unwrap();
    assert!(
        own.contains("--from") && !own.contains("--kubeconfig"),
        "{own}"
    );
    // -o names the formats svc prints (csv is reach's).
    assert!(
        out.stdout
            .contains("Output format: table, json, yaml, junit, markdown or sarif"),
        "{}",
        out.stdout
    );
}

// Issue 17 item 8: clap wraps help to the terminal, and wrapped an example command across two
// lines (two commands when pasted). At 60 columns, through -h, --help and `help CMD`, every
// example of every command stands whole on one line.
#[test]
fn help_examples_are_never_wrapped() {
    let examples = [
        (
            "capture",
            "kubectl netdoctor capture web-7d9f-abcde -n shop -w web.pcap --filter 'tcp and port 8080' --duration 20s",
        ),
        (
            "path",
            "kubectl netdoctor path --from pod/frontend-7d9f-abcde --to svc/cart:80 -n shop",
        ),
        (
            "svc",
            "kubectl netdoctor svc cart -n shop --from pod/frontend-7d9f-abcde",
        ),
    ];
    for (command, example) in examples {
        for args in [
            vec![command, "-h"],
            vec![command, "--help"],
            vec!["help", command],
        ] {
            let out = Run::new(&args).env("COLUMNS", "60").run();
            assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
            assert!(
                out.stdout.lines().any(|l| l.trim() == example),
                "{args:?}: {example}\n{}",
                out.stdout
            );
            assert!(
                !out.stdout.contains('@'),
                "{args:?}: the mark shows\n{}",
                out.stdout
            );
        }
    }
    // The top level: each command's first example, whole.
    let out = Run::new(["--help"]).env("COLUMNS", "60").run();
    assert!(
        out.stdout.lines().any(|l| l.trim() == examples[1].1),
        "{}",
        out.stdout
    );
}

/// Every line fits `columns`, but commands (never broken: a pasted command must work).
fn assert_fits(text: &str, columns: usize) {
    for line in text.lines() {
        let width = line.chars().count();
        let is_command = line.trim_start().starts_with("kubectl ");
        assert!(
            width <= columns || is_command,
            "{columns} columns: {width}: {line}\n{text}"
        );
    }
}

// At 60, 80 and 120 columns (COLUMNS, as a terminal sets it) the checklist wraps with a hanging
// indent; commands in fixes are never broken: each stands whole on a line of its own.
#[test]
fn human_output_fits_the_terminal_width_and_commands_stay_whole() {
    let d = repo().join("tests/scenarios/selector-mismatch");
    let server = server_with(&[&d.join("manifests.yaml"), &d.join("cluster.yaml")]);
    let expect = std::fs::read_to_string(d.join("expect.yaml")).unwrap();
    let service = expect
        .lines()
        .find_map(|l| l.strip_prefix("service: "))
        .unwrap()
        .to_string();
    let json = Run::new(["svc", &service, "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run()
        .json();
    let commands = crate::support::fix_commands(&json["verdict"]["fix"]);
    assert!(!commands.is_empty());
    for columns in [60, 80, 120] {
        let out = Run::new(["svc", &service, "-n", "shop"])
            .env("COLUMNS", &columns.to_string())
            .kubeconfig(&server, None)
            .run();
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_fits(&out.stdout, columns);
        // Kubernetes names are hyphenated: "kube-system" never breaks after "kube-".
        for line in out.stdout.lines() {
            let is_command = line.trim_start().starts_with("kubectl ");
            assert!(
                is_command || !line.trim_end().ends_with('-'),
                "{columns} columns: broken at a hyphen: {line}\n{}",
                out.stdout
            );
        }
        for c in &commands {
            // Each run has its own kubeconfig: compare what the commands do.
            let c = crate::support::unflagged(c);
            assert!(
                out.stdout
                    .lines()
                    .any(|l| crate::support::unflagged(l) == c),
                "{columns} columns: the command is broken: {c}\n{}",
                out.stdout
            );
        }
        // A wrapped summary continues under its first word (a hanging indent).
        let lines: Vec<&str> = out.stdout.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.contains("FAIL  service.selector"))
            .unwrap();
        let column = lines[i].find("selector app=").unwrap_or(0);
        if lines[i].chars().count() >= columns - 10 {
            assert_eq!(
                lines[i + 1].len() - lines[i + 1].trim_start().len(),
                column - "✘".len() + 1
            );
        }
    }
}

// scan's table fits the width too: names, statuses and check ids whole, the finding wrapped; the
// fixes under it wrap their prose and keep their commands whole.
#[test]
fn scan_fits_the_terminal_width() {
    let shop = repo().join("examples/broken-shop");
    for columns in [60, 80, 120] {
        let out = Run::new(["scan", "-A", "-f", shop.to_str().unwrap()])
            .env("COLUMNS", &columns.to_string())
            .run();
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_fits(&out.stdout, columns);
        for whole in ["service.selector", "shop/postgres", "ports.target"] {
            assert!(
                out.stdout.lines().any(|l| l.contains(whole)),
                "{columns} columns: {whole} broken\n{}",
                out.stdout
            );
        }
    }
}

/// `id` stands whole on a line of `text`, or shortened in its middle with `…` (a start and an end
/// of it around the mark) — never broken across lines.
fn whole_or_shortened(text: &str, id: &str) -> bool {
    text.lines().any(|l| l.contains(id))
        || text
            .split(|c: char| c.is_whitespace() || c == '│' || c == '┆')
            .filter_map(|w| w.split_once('…'))
            .any(|(head, tail)| {
                head.len() >= 3 && id.starts_with(head) && !tail.is_empty() && id.ends_with(tail)
            })
}

// path's tables (issue 17 item 9): names never broken at 60/80/120 columns — whole, or
// shortened with … when the columns cannot hold them; prose cells wrap; the table fits.
#[test]
fn path_fits_the_terminal_width_and_keeps_names_whole() {
    let d = repo().join("tests/scenarios/netpol-default-deny");
    for columns in [60, 80, 120] {
        let out = Run::new([
            "path",
            "-n",
            "shop",
            "--from",
            "pod/frontend",
            "--to",
            "svc/cart:80",
        ])
        .args(["-f", d.join("cluster.yaml").to_str().unwrap()])
        .args(["-f", d.join("manifests.yaml").to_str().unwrap()])
        .env("COLUMNS", &columns.to_string())
        .run();
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_fits(&out.stdout, columns);
        for id in [
            "shop/frontend",
            "shop/default-deny;",
            "8080/TCP",
            "shop/cart-5c6d-aaaaa",
        ] {
            assert!(
                whole_or_shortened(&out.stdout, id),
                "{columns} columns: {id} broken\n{}",
                out.stdout
            );
        }
    }
}

// reach's table (issue 17 item 9): group names whole at every width, a row's note on its own
// wrapped lines, and the exposure section aligned among its own rows (its peers are longer than
// any group name).
#[test]
fn reach_keeps_names_whole_and_aligns_the_exposure_table() {
    let shop = repo().join("tests/reach/shop");
    for columns in [60, 80, 120] {
        let out = Run::new(["reach", "-n", "shop", "-f", shop.to_str().unwrap()])
            .env("COLUMNS", &columns.to_string())
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = &out.stdout;
        for id in [
            "deployment/shop/frontend",
            "statefulset/shop/db",
            "deployment/shop/cart",
        ] {
            assert!(
                text.lines().any(|l| l.contains(id)),
                "{columns}: {id}\n{text}"
            );
        }
        // Prose (notes, undecided reasons, headings) wraps to the width.
        for line in text.lines().filter(|l| !l.contains("  ")) {
            assert!(line.chars().count() <= columns, "{columns}: {line}\n{text}");
        }
        let undecided = text
            .lines()
            .position(|l| l.trim_start().starts_with("undecided "));
        let undecided = undecided.expect("an undecided row");
        assert!(
            text.lines().nth(undecided).unwrap().starts_with("    "),
            "{text}"
        );
        // Exposure: the TO column starts at the same place on every row of the section.
        let exposure_head = text
            .lines()
            .filter(|l| l.starts_with("FROM"))
            .nth(1)
            .expect("an exposure table");
        let to = exposure_head.find("TO").unwrap();
        let rows: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != exposure_head)
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert!(rows.len() >= 3, "{text}");
        for row in rows {
            assert_eq!(
                &row[to - 2..to],
                "  ",
                "{columns}: misaligned: {row}\n{text}"
            );
            assert_ne!(&row[to..=to], " ", "{columns}: misaligned: {row}\n{text}");
        }
    }
}

// explain renders the runbook page for the terminal: no Markdown syntax, prose wrapped to the
// width, commands whole, tables fitted; --raw and -o markdown give the Markdown; on a terminal
// the page goes through $PAGER.
#[test]
fn explain_renders_pages_for_the_terminal() {
    for id in ["ports.target", "pods.listening"] {
        let out = Run::new(["explain", id]).env("COLUMNS", "80").run();
        assert_eq!(out.code, 0);
        assert!(
            !out.stdout.contains("```") && !out.stdout.contains("\n## "),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("WHAT IT CHECKS"), "{}", out.stdout);
        for line in out.stdout.lines() {
            let command = line.starts_with("    ");
            assert!(line.chars().count() <= 80 || command, "{id}: {line}");
        }
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("    kubectl ") && l.chars().count() > 20),
            "the page's commands, indented and whole"
        );
    }
    let table = Run::new(["explain", "pods.listening"])
        .env("COLUMNS", "80")
        .run();
    assert!(table.stdout.contains("┆ on the wire"), "{}", table.stdout);
    for raw in [
        &["explain", "ports.target", "--raw"][..],
        &["explain", "ports.target", "-o", "markdown"],
    ] {
        let out = Run::new(raw).run();
        assert!(out.stdout.contains("## What it checks"), "{raw:?}");
    }
    let Some(tty) = on_tty("explain ports.target", &[("PAGER", "sed s/^/PAGED:/")]) else {
        return;
    };
    // Every line of the page came through the pager.
    let paged = tty.lines().filter(|l| l.starts_with("PAGED:")).count();
    assert!(paged > 10, "{tty}");
}

// The README's examples are the binary's output at 100 columns (what a pipe gets), regenerated
// when the output changes: a live one against the scenario it names, an offline one as it is.
#[test]
fn readme_examples_are_the_binarys_output() {
    let d = repo().join("tests/scenarios/selector-mismatch");
    let server = server_with(&[&d.join("manifests.yaml"), &d.join("cluster.yaml")]);
    // As a person runs it: the probe allowed (and not needed, an API check failed first).
    let live = Run::new(["svc", "postgres", "-n", "shop"])
        .probe()
        .env("COLUMNS", "100")
        .kubeconfig(&server, None)
        .run();
    assert_eq!(live.code, 1, "{}", live.stderr);
    crate::support::assert_readme_example("live-selector", &live.stdout, &crate::support::as_prod);
    let offline = Run::new([
        "svc",
        "postgres",
        "-n",
        "shop",
        "-f",
        "examples/broken-shop",
    ])
    .env("COLUMNS", "100")
    .run();
    assert_eq!(offline.code, 1, "{}", offline.stderr);
    crate::support::assert_readme_example("offline", &offline.stdout, &|l| l.to_string());
}

/// A reader that stops early (`… | head -1`) does not change the exit code: it is the
/// diagnosis' (issue 18 item 22: a broken pipe turned exit 1 into 0, and `reach -o json` into 3).
#[test]
fn a_closed_pipe_keeps_the_diagnosis_exit_code() {
    let shop = repo().join("examples/broken-shop");
    let shop = shop.to_str().unwrap();
    for (args, want) in [
        (vec!["svc", "postgres", "-n", "shop", "-f", shop], 1),
        (
            vec!["svc", "postgres", "-n", "shop", "-f", shop, "-o", "json"],
            1,
        ),
        (vec!["scan", "-A", "-f", shop], 1),
        (vec!["reach", "-A", "-f", shop, "-o", "json"], 0),
    ] {
        let mut child = std::process::Command::new(crate::support::BIN)
            .args(&args)
            .env("HOME", tempfile::tempdir().unwrap().path())
            .env_remove("KUBECONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(want),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// kubectl habits (issue 17 item 8): `-v 6` is read as kubectl reads it (as `-v=6`: requests
/// logged), a bare `-v` still works before a subcommand, and `explain 4` is the fourth check.
#[test]
fn kubectl_verbosity_and_check_numbers_are_understood() {
    let d = repo().join("tests/scenarios/selector-mismatch");
    let server = server_with(&[&d.join("manifests.yaml"), &d.join("cluster.yaml")]);
    for v in [vec!["-v", "6"], vec!["-v=6"], vec!["--v", "6"]] {
        let out = Run::new(["svc", "postgres", "-n", "shop"])
            .args(&v)
            .kubeconfig(&server, None)
            .run();
        assert_eq!(out.code, 1, "{v:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("netdoctor: get service shop/postgres: ok"),
            "{v:?}: {}",
            out.stderr
        );
    }
    let bare = Run::new(["-v", "svc", "postgres", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(bare.code, 1, "{}", bare.stderr);
    let by_number = Run::new(["explain", "4", "--raw"]).run();
    let by_id = Run::new(["explain", "ports.target", "--raw"]).run();
    assert_eq!(by_number.code, 0, "{}", by_number.stderr);
    assert_eq!(by_number.stdout, by_id.stdout);
    let none = Run::new(["explain", "12"]).run();
    assert_eq!(none.code, 2, "{}", none.stderr);
}

/// Issue 17 item 10: where the locale is not UTF-8 (`LC_ALL=C`, a serial console, some CI
/// runners) the terminal views print ASCII marks and table lines; a UTF-8 locale keeps ✔ ✘.
#[test]
fn a_non_utf8_locale_gets_ascii_marks() {
    let shop = repo().join("examples/broken-shop").display().to_string();
    for args in [
        vec!["svc", "postgres", "-n", "shop", "-f", &shop],
        vec!["scan", "-A", "-f", &shop],
    ] {
        let c = Run::new(&args).env("LC_ALL", "C").run();
        assert_eq!(c.code, 1, "{}", c.stderr);
        assert!(c.stdout.is_ascii(), "{args:?}:\n{}", c.stdout);
        assert!(
            c.stdout.contains("x FAIL") || c.stdout.contains("| FAIL"),
            "{}",
            c.stdout
        );
        let utf8 = Run::new(&args)
            .env("LC_ALL", "")
            .env("LANG", "en_US.UTF-8")
            .run();
        assert!(!utf8.stdout.is_ascii(), "{args:?}:\n{}", utf8.stdout);
    }
}

/// Issue 17 item 8: the top-level help ends as each command's does, with examples (each
/// command's first) and then the exit codes; `-h` and `--help` agree on them.
#[test]
fn top_level_help_ends_with_examples() {
    for flag in ["--help", "-h"] {
        let out = Run::new([flag]).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let tail = out.stdout.split("Examples:\n").nth(1).unwrap_or_else(|| {
            panic!("{flag}: no examples:\n{}", out.stdout);
        });
        for command in ["svc cart -n shop", "scan -n shop -o junit", "explain"] {
            assert!(
                tail.contains(&format!("  kubectl netdoctor {command}\n")),
                "{flag}: {command}\n{tail}"
            );
        }
        assert!(tail.contains("Exit codes: 0 healthy"), "{flag}: {tail}");
    }
}

// Issue 17 item 13: the README's Usage lines say the formats each command prints, as its own
// help does (svc said table|json|yaml; it prints junit and markdown too).
#[test]
fn readme_usage_names_each_commands_formats() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let usage = readme
        .split("## Usage\n\n```\n")
        .nth(1)
        .and_then(|u| u.split("```").next())
        .expect("a Usage block");
    for line in usage.lines() {
        let command = line.split_whitespace().nth(2).unwrap();
        let help = Run::new([command, "-h"]).run();
        let formats: Vec<String> = help
            .stdout
            .lines()
            .find_map(|l| l.split("Output format: ").nth(1))
            .expect("an -o line")
            .split(" [default")
            .next()
            .unwrap()
            .replace(" or ", ", ")
            .split(", ")
            .map(str::to_string)
            .collect();
        let said: Vec<String> = line
            .split("[-o ")
            .nth(1)
            .map(|o| {
                o.split(']')
                    .next()
                    .unwrap()
                    .split('|')
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_else(|| vec!["table".to_string()]);
        assert_eq!(said, formats, "{line}");
    }
}
