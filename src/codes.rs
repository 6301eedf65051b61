//! Finding codes: every distinct problem a check (or a scan) can report has a stable code —
//! `ND` and four digits, grouped by where it is found — with a severity, a one-line title and a
//! section of its own in a runbook page (`explain ND1108` prints it). Codes are what CI keys on
//! (thresholds, suppression, SARIF rules), so a code is never reused for another finding and never
//! renumbered; a retired finding keeps its number out of use.
//!
//! Groups: ND1xxx the Service (service.exists, service.selector), ND2xxx endpoints, ND3xxx ports,
//! ND4xxx the probe (pods.listening, service.clusterip), ND5xxx DNS, ND6xxx Ingress, ND7xxx
//! Gateway API, ND8xxx NetworkPolicy, ND9xxx scan-wide.

/// How bad a finding is at most: `Error` findings fail a check, `Warning` ones warn. (A few
/// findings are softened in context — a selector-less Service without endpoints warns in a scan —
/// and the report says the status each one had.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
}

/// One finding code.
#[derive(Debug)]
pub(crate) struct Code {
    pub id: &'static str,
    /// The check whose page documents it (`scan` for the scan-wide findings).
    pub check: &'static str,
    pub severity: Severity,
    pub title: &'static str,
}

const fn code(
    id: &'static str,
    check: &'static str,
    severity: Severity,
    title: &'static str,
) -> Code {
    Code {
        id,
        check,
        severity,
        title,
    }
}

use Severity::{Error as E, Warning as W};

/// Every code, in number order.
pub(crate) const CODES: &[Code] = &[
    code("ND1001", "service.exists", E, "The Service does not exist"),
    code(
        "ND1002",
        "service.exists",
        W,
        "The Service is defined more than once in the manifests",
    ),
    code(
        "ND1003",
        "service.exists",
        W,
        "A LoadBalancer Service has no external address yet",
    ),
    code(
        "ND1101",
        "service.selector",
        E,
        "An ExternalName Service has no externalName",
    ),
    code(
        "ND1102",
        "service.selector",
        E,
        "The externalName is not a DNS name",
    ),
    code(
        "ND1103",
        "service.selector",
        E,
        "The externalName is an IP address",
    ),
    code(
        "ND1104",
        "service.selector",
        E,
        "The ExternalName target Service does not exist",
    ),
    code(
        "ND1105",
        "service.selector",
        E,
        "An EndpointSlice lacks the kubernetes.io/service-name label",
    ),
    code(
        "ND1106",
        "service.selector",
        E,
        "A selector-less Service has no EndpointSlice",
    ),
    code(
        "ND1107",
        "service.selector",
        W,
        "The selected workload is scaled to zero",
    ),
    code(
        "ND1108",
        "service.selector",
        E,
        "The selector matches no pods",
    ),
    code(
        "ND2001",
        "endpoints.ready",
        E,
        "No EndpointSlice although pods match the selector",
    ),
    code(
        "ND2002",
        "endpoints.ready",
        E,
        "A Service port has no ready endpoints",
    ),
    code(
        "ND2003",
        "endpoints.ready",
        W,
        "Only terminating endpoints remain",
    ),
    code(
        "ND2004",
        "endpoints.ready",
        W,
        "A backend pod is crash-looping",
    ),
    code(
        "ND3001",
        "ports.target",
        E,
        "A named targetPort does not resolve on some pods",
    ),
    code(
        "ND3002",
        "ports.target",
        W,
        "No container declares the numeric targetPort",
    ),
    code(
        "ND3003",
        "ports.target",
        W,
        "The container port has another protocol than the Service port",
    ),
    code(
        "ND3004",
        "ports.target",
        W,
        "Several containers of a pod declare the port name",
    ),
    code(
        "ND4001",
        "pods.listening",
        E,
        "Nothing listens on the target port",
    ),
    code(
        "ND4002",
        "pods.listening",
        E,
        "Connections are dropped outside NetworkPolicy",
    ),
    code(
        "ND4003",
        "pods.listening",
        E,
        "Connections are dropped or rejected by NetworkPolicy",
    ),
    code(
        "ND4004",
        "pods.listening",
        E,
        "A firewall rejects the connection",
    ),
    code("ND4005", "pods.listening", E, "No route to the pod"),
    code(
        "ND4006",
        "pods.listening",
        W,
        "UDP endpoints did not answer",
    ),
    code(
        "ND4007",
        "pods.listening",
        W,
        "NetworkPolicy is not enforced",
    ),
    code(
        "ND4008",
        "pods.listening",
        W,
        "A path MTU black hole: large packets to the pods vanish",
    ),
    code(
        "ND4009",
        "pods.listening",
        W,
        "Refused by the mesh: the pods' proxy requires mTLS or an authorization",
    ),
    code(
        "ND4101",
        "service.clusterip",
        E,
        "Some connections through the ClusterIP fail",
    ),
    code(
        "ND4102",
        "service.clusterip",
        E,
        "The ClusterIP does not answer while the pods do",
    ),
    code(
        "ND4103",
        "service.clusterip",
        E,
        "The NodePort does not answer on some nodes",
    ),
    code(
        "ND4104",
        "service.clusterip",
        E,
        "The LoadBalancer IP does not answer from inside the cluster",
    ),
    code(
        "ND4105",
        "service.clusterip",
        E,
        "A node's health check disagrees with where the endpoints are",
    ),
    code(
        "ND5001",
        "dns.resolves",
        E,
        "NodeLocal DNSCache does not answer",
    ),
    code(
        "ND5002",
        "dns.resolves",
        E,
        "The name does not exist (NXDOMAIN)",
    ),
    code("ND5003", "dns.resolves", E, "The lookup fails"),
    code(
        "ND5004",
        "dns.resolves",
        E,
        "The name resolves to other addresses",
    ),
    code(
        "ND5005",
        "dns.resolves",
        W,
        "The name resolves only some of the time",
    ),
    code(
        "ND5006",
        "dns.resolves",
        E,
        "NetworkPolicy denies the lookups' DNS egress",
    ),
    code("ND5101", "dns.resolves", W, "A cluster DNS pod restarts"),
    code("ND6001", "ingress.routes", W, "The Ingress has no address"),
    code(
        "ND6002",
        "ingress.routes",
        W,
        "Another Ingress claims the same host and path",
    ),
    code(
        "ND6003",
        "ingress.routes",
        E,
        "The IngressClass does not exist",
    ),
    code(
        "ND6004",
        "ingress.routes",
        W,
        "Several IngressClasses are marked default",
    ),
    code(
        "ND6005",
        "ingress.routes",
        W,
        "The legacy class annotation names no known controller",
    ),
    code("ND6006", "ingress.routes", W, "The Ingress has no class"),
    code(
        "ND6007",
        "ingress.routes",
        W,
        "The IngressClass names an unknown controller",
    ),
    code(
        "ND6008",
        "ingress.routes",
        W,
        "The controller runs outside the cluster",
    ),
    code(
        "ND6009",
        "ingress.routes",
        E,
        "No pod of the controller runs",
    ),
    code(
        "ND6010",
        "ingress.routes",
        E,
        "No pod of the controller is ready",
    ),
    code(
        "ND6011",
        "ingress.routes",
        E,
        "The backend port is not a port of the Service",
    ),
    code(
        "ND6012",
        "ingress.routes",
        W,
        "The backend protocol disagrees with the Service port",
    ),
    code(
        "ND6013",
        "ingress.routes",
        W,
        "The TLS secret is left for cert-manager to create",
    ),
    code(
        "ND6014",
        "ingress.routes",
        E,
        "The TLS secret does not exist",
    ),
    code(
        "ND6015",
        "ingress.routes",
        W,
        "The TLS secret is not of type kubernetes.io/tls",
    ),
    code(
        "ND6016",
        "ingress.routes",
        E,
        "The TLS secret lacks tls.crt or tls.key",
    ),
    code(
        "ND6017",
        "ingress.routes",
        E,
        "The TLS certificate cannot be read",
    ),
    code(
        "ND6018",
        "ingress.routes",
        E,
        "The TLS certificate has expired or is not valid yet",
    ),
    code(
        "ND6019",
        "ingress.routes",
        E,
        "The TLS certificate does not name the host",
    ),
    code(
        "ND6020",
        "ingress.routes",
        E,
        "The backend Service does not exist",
    ),
    code(
        "ND7001",
        "gateway.routes",
        E,
        "The route's Gateway does not exist",
    ),
    code(
        "ND7002",
        "gateway.routes",
        E,
        "The Gateway's GatewayClass does not exist",
    ),
    code(
        "ND7003",
        "gateway.routes",
        E,
        "No controller accepted the GatewayClass",
    ),
    code(
        "ND7004",
        "gateway.routes",
        W,
        "The GatewayClass names an unknown controller",
    ),
    code(
        "ND7005",
        "gateway.routes",
        W,
        "The Gateway controller runs outside the cluster",
    ),
    code(
        "ND7006",
        "gateway.routes",
        E,
        "No Gateway controller pods run",
    ),
    code(
        "ND7007",
        "gateway.routes",
        E,
        "The Gateway controller's pods are not ready",
    ),
    code(
        "ND7008",
        "gateway.routes",
        E,
        "The parentRef matches no listener (NoMatchingParent)",
    ),
    code(
        "ND7009",
        "gateway.routes",
        E,
        "The listener does not admit the route's namespace (NotAllowedByListeners)",
    ),
    code(
        "ND7010",
        "gateway.routes",
        E,
        "The listener does not admit the route's kind (NotAllowedByListeners)",
    ),
    code(
        "ND7011",
        "gateway.routes",
        E,
        "No hostname intersects the listener's (NoMatchingListenerHostname)",
    ),
    code(
        "ND7012",
        "gateway.routes",
        E,
        "A backendRef crosses namespaces without a ReferenceGrant (RefNotPermitted)",
    ),
    code(
        "ND7013",
        "gateway.routes",
        E,
        "A backendRef to a Service has no port",
    ),
    code(
        "ND7014",
        "gateway.routes",
        E,
        "A backendRef's port is not a port of the Service",
    ),
    code(
        "ND7015",
        "gateway.routes",
        W,
        "Every backendRef to the Service has weight 0",
    ),
    code(
        "ND7016",
        "gateway.routes",
        E,
        "A listener's certificate Secret does not exist",
    ),
    code(
        "ND7017",
        "gateway.routes",
        E,
        "A listener's certificate crosses namespaces without a ReferenceGrant",
    ),
    code(
        "ND7018",
        "gateway.routes",
        E,
        "A listener's certificate is unusable",
    ),
    code(
        "ND7019",
        "gateway.routes",
        E,
        "A listener's certificate does not name its hostname",
    ),
    code("ND7020", "gateway.routes", W, "The Gateway has no address"),
    code(
        "ND7021",
        "gateway.routes",
        W,
        "The Gateway is not Programmed",
    ),
    code(
        "ND7022",
        "gateway.routes",
        W,
        "The controller's status disagrees with the spec",
    ),
    code("ND7023", "gateway.routes", W, "The route's status is stale"),
    code(
        "ND7024",
        "gateway.routes",
        W,
        "No controller wrote status for the route's parent",
    ),
    code(
        "ND7025",
        "gateway.routes",
        W,
        "A listener's certificate Secret is not of type kubernetes.io/tls",
    ),
    code(
        "ND7030",
        "gateway.routes",
        W,
        "A route attaches to no Gateway",
    ),
    code(
        "ND7031",
        "gateway.routes",
        E,
        "A route sends to a Service that does not exist",
    ),
    code(
        "ND7032",
        "gateway.routes",
        W,
        "Listeners of a Gateway conflict",
    ),
    code(
        "ND7033",
        "gateway.routes",
        E,
        "A Gateway names a GatewayClass that does not exist",
    ),
    code(
        "ND8001",
        "netpol.allows",
        E,
        "A NetworkPolicy the API server would refuse",
    ),
    code(
        "ND8002",
        "netpol.allows",
        W,
        "Policies of another engine apply and are not evaluated",
    ),
    code(
        "ND8003",
        "netpol.allows",
        E,
        "The policies admit no source on a port",
    ),
    code(
        "ND8004",
        "netpol.allows",
        W,
        "The ingress controller's path is implementation-defined",
    ),
    code(
        "ND8005",
        "netpol.allows",
        E,
        "The ingress controller is denied",
    ),
    code("ND8006", "netpol.allows", W, "A deny that nothing enforces"),
    code(
        "ND8007",
        "netpol.allows",
        W,
        "The client's path is undecided",
    ),
    code(
        "ND8008",
        "netpol.allows",
        W,
        "The client's DNS egress allows UDP only",
    ),
    code("ND8009", "netpol.allows", E, "The client is denied"),
    code(
        "ND8010",
        "netpol.allows",
        E,
        "The client's DNS egress is denied",
    ),
    code(
        "ND8011",
        "netpol.allows",
        W,
        "A NetworkPolicy selects no pods",
    ),
    code("ND8012", "netpol.allows", W, "A policy peer matches no pod"),
    code(
        "ND8013",
        "netpol.allows",
        W,
        "No selected pod declares the named port",
    ),
    code(
        "ND8014",
        "netpol.allows",
        E,
        "An Admin-tier cluster policy denies the client",
    ),
    code(
        "ND8015",
        "netpol.allows",
        E,
        "The Baseline tier denies the client",
    ),
    code(
        "ND8016",
        "netpol.allows",
        W,
        "A cluster-wide Deny decides before NetworkPolicy",
    ),
    code(
        "ND9001",
        "scan",
        W,
        "An object is defined more than once in the manifests",
    ),
    code("ND9002", "scan", W, "A kind could not be read"),
    code("ND9003", "scan", E, "The change takes a connection away"),
    code(
        "ND9004",
        "scan",
        E,
        "The change narrows a connection's ports",
    ),
];

/// The code `id` names (`ND1108`, case-insensitive).
pub(crate) fn find(id: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.id.eq_ignore_ascii_case(id))
}

/// Whether `s` has the shape of a code (`ND` and four digits), known or not.
pub(crate) fn looks_like(s: &str) -> bool {
    s.len() == 6 && s[..2].eq_ignore_ascii_case("ND") && s[2..].bytes().all(|b| b.is_ascii_digit())
}

/// `--ignore`'s values: a known code, any case, surrounding spaces allowed.
pub(crate) fn parse_code(s: &str) -> Result<&'static str, String> {
    let s = s.trim();
    find(s).map(|c| c.id).ok_or_else(|| {
        let what = crate::text::sanitize(s);
        if looks_like(s) {
            format!(
                "unknown finding code {what} (the codes run {}–{}; `kubectl netdoctor explain CHECK` lists each check's)",
                CODES[0].id,
                CODES[CODES.len() - 1].id
            )
        } else {
            format!("{what} is not a finding code (ND and four digits, as ND1108)")
        }
    })
}

/// The page of the findings that belong to no check (ND9xxx: scan-wide).
pub(crate) const SCAN_PAGE: &str = include_str!("../checks/scan-findings.md");

/// The Markdown page that documents `code`.
pub(crate) fn page_of(code: &Code) -> &'static str {
    match crate::checks::find(code.check) {
        Some(def) => def.page,
        None => SCAN_PAGE,
    }
}

/// The section of `code`'s page about it: from its `### NDxxxx` heading to the next heading.
pub(crate) fn section(code: &Code) -> Option<String> {
    let page = page_of(code);
    let heading = format!("### {} ", code.id);
    let start = page.find(&heading)?;
    let rest = &page[start..];
    let end = rest[heading.len()..]
        .find("\n#")
        .map_or(rest.len(), |i| i + heading.len() + 1);
    Some(rest[..end].trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_well_formed_and_grouped_by_check() {
        let mut seen = std::collections::BTreeSet::new();
        let mut last = "";
        for c in CODES {
            assert!(looks_like(c.id) && c.id.starts_with("ND"), "{}", c.id);
            assert!(seen.insert(c.id), "{} twice", c.id);
            assert!(c.id > last, "{} out of order", c.id);
            last = c.id;
            let group = match c.check {
                "service.exists" | "service.selector" => '1',
                "endpoints.ready" => '2',
                "ports.target" => '3',
                "pods.listening" | "service.clusterip" => '4',
                "dns.resolves" => '5',
                "ingress.routes" => '6',
                "gateway.routes" => '7',
                "netpol.allows" => '8',
                "scan" => '9',
                other => panic!("{}: unknown check {other}", c.id),
            };
            assert_eq!(c.id.as_bytes()[2] as char, group, "{}", c.id);
        }
    }

    /// Code ↔ page: every code has its section, titled as the registry titles it, and every
    /// `### ND` section of a page is a code of that page.
    #[test]
    fn every_code_has_its_section_and_every_section_its_code() {
        for c in CODES {
            let section = section(c).unwrap_or_else(|| panic!("{}: no section", c.id));
            let first = section.lines().next().unwrap();
            assert_eq!(
                first,
                format!("### {} — {}", c.id, c.title),
                "{}: heading",
                c.id
            );
            assert!(section.lines().count() > 2, "{}: an empty section", c.id);
        }
        let pages = crate::checks::REGISTRY
            .iter()
            .map(|d| (d.id, d.page))
            .chain([("scan", SCAN_PAGE)]);
        for (check, page) in pages {
            for line in page.lines().filter(|l| l.starts_with("### ND")) {
                let id = &line[4..10];
                let code = find(id).unwrap_or_else(|| panic!("{check}: {id} is no code"));
                assert_eq!(code.check, check, "{id} documented on the wrong page");
            }
        }
    }

    /// Code ↔ emitter: every code is written by the code that finds it (a `"NDxxxx"` literal
    /// outside this registry), and every such literal is a registered code.
    #[test]
    fn every_code_is_emitted_and_every_emitted_code_registered() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut used = std::collections::BTreeSet::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.file_name().is_some_and(|n| n == "codes.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // A test's literal is no emitter (a file's unit tests are its `mod tests`).
                let text = text
                    .split("#[cfg(test)]\nmod tests {")
                    .next()
                    .unwrap_or_default();
                for (i, _) in text.match_indices("\"ND") {
                    let lit = &text[i + 1..];
                    if lit.len() > 7 && looks_like(&lit[..6]) && lit.as_bytes()[6] == b'"' {
                        let id = &lit[..6];
                        assert!(
                            find(id).is_some(),
                            "{}: {id} is not registered",
                            path.display()
                        );
                        used.insert(id.to_string());
                    }
                }
            }
        }
        for c in CODES {
            assert!(used.contains(c.id), "{} is emitted nowhere", c.id);
        }
    }
}
