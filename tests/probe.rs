//! The probe agent against real packets: namespaces, veth, iptables, dnsmasq, tcpdump (root).
//!
//! Every expectation below is what the kernel does for that rule (PLATFORM-NOTES "Packets"):
//! a listener answers SYN-ACK; no listener, RST; DROP, nothing; REJECT, ICMP port unreachable;
//! `--reject-with tcp-reset`, RST; a router without a route, ICMP network unreachable.

use crate::support::netns::{CLIENT_IP, Lab, NODE_CLIENT_SIDE, SERVER_IP};

/// The server's ports, one per behaviour.
fn tcp_server(lab: &mut Lab) {
    lab.listen_tcp(8080);
    let s = lab.server.clone();
    lab.iptables(&s, "-A INPUT -p tcp --dport 8082 -j DROP");
    lab.iptables(
        &s,
        "-A INPUT -p tcp --dport 8083 -j REJECT --reject-with tcp-reset",
    );
    lab.iptables(&s, "-A INPUT -p tcp --dport 8084 -j REJECT");
    lab.iptables(
        &s,
        "-A INPUT -p tcp --dport 8085 -j REJECT --reject-with icmp-host-unreachable",
    );
}

fn tcp(ip: &str, port: u16) -> String {
    format!("tcp:{ip}:{port}")
}

#[test]
fn tcp_verdicts_come_from_the_packets() {
    let Some(mut lab) = Lab::routed("tcp_verdicts_come_from_the_packets", &["nc", "ss"]) else {
        return;
    };
    tcp_server(&mut lab);
    let (c, n) = (lab.client.clone(), lab.node.clone());
    // A "ClusterIP" resolved inside the client, as socket-level load balancing does: the wire only
    // ever shows the pod's address.
    lab.iptables(
        &c,
        "-t nat -A OUTPUT -d 10.96.0.10 -p tcp --dport 80 -j DNAT --to-destination 10.1.2.2:8080",
    );
    // kube-proxy on the node: a ClusterIP DNAT'd to a port where nothing listens, and a Service
    // with no endpoints (its REJECT rule).
    lab.iptables(&n, "-t nat -A PREROUTING -d 10.96.0.20 -p tcp --dport 80 -j DNAT --to-destination 10.1.2.2:8081");
    lab.iptables(&n, "-A FORWARD -d 10.96.0.30 -p tcp --dport 80 -j REJECT");
    // Nodes route the service range somewhere (their default route); only 10.1.99.0/24 is lost.
    lab.exec(&n, &["ip", "route", "add", "10.96.0.0/12", "dev", "eth2"]);

    let targets = [
        tcp(SERVER_IP, 8080),
        tcp(SERVER_IP, 8081),
        tcp(SERVER_IP, 8082),
        tcp(SERVER_IP, 8083),
        tcp(SERVER_IP, 8084),
        tcp(SERVER_IP, 8085),
        tcp("10.1.99.9", 80),
        tcp("10.96.0.10", 80),
        tcp("10.96.0.20", 80),
        tcp("10.96.0.30", 80),
        "tcp:[fd00::1]:80".to_string(),
    ];
    let mut args: Vec<&str> = targets.iter().map(String::as_str).collect();
    args.extend(["--timeout", "1.5s"]);
    let run = lab.agent(&c, &args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);

    let expect = |target: &str, verdict: &str, reply: Option<&str>, from: Option<&str>| {
        let line = run.line(target);
        assert_eq!(line["verdict"], verdict, "{target}: {line}");
        assert_eq!(line["reply"].as_str(), reply, "{target}: {line}");
        assert_eq!(line["reply_from"].as_str(), from, "{target}: {line}");
        line
    };
    let open = expect(&targets[0], "open", Some("syn-ack"), Some(SERVER_IP));
    assert_eq!(open["evidence"], "packets");
    assert_eq!(open["sent"], 1);
    assert_eq!(open["iface"], "eth0");
    assert!(
        open["local"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{CLIENT_IP}:"))
    );
    expect(&targets[1], "refused", Some("rst"), Some(SERVER_IP));
    let dropped = expect(&targets[2], "dropped", None, None);
    assert_eq!(dropped["evidence"], "packets", "{dropped}");
    assert!(dropped["sent"].as_u64().unwrap() >= 1, "{dropped}");
    // A reject with tcp-reset is an RST on the wire: indistinguishable from no listener.
    expect(&targets[3], "refused", Some("rst"), Some(SERVER_IP));
    expect(
        &targets[4],
        "rejected",
        Some("icmp-port-unreachable"),
        Some(SERVER_IP),
    );
    expect(
        &targets[5],
        "unreachable",
        Some("icmp-host-unreachable"),
        Some(SERVER_IP),
    );
    // The node has no route to 10.1.99.0/24 and says so.
    expect(
        &targets[6],
        "unreachable",
        Some("icmp-net-unreachable"),
        Some(NODE_CLIENT_SIDE),
    );
    // Matched by local port: the answer comes from the pod, not from the address connected to.
    expect(&targets[7], "open", Some("syn-ack"), Some(SERVER_IP));
    expect(&targets[8], "refused", Some("rst"), Some("10.96.0.20"));
    expect(
        &targets[9],
        "rejected",
        Some("icmp-port-unreachable"),
        Some(NODE_CLIENT_SIDE),
    );
    let no_route = expect(&targets[10], "unreachable", None, None);
    assert_eq!(no_route["sent"], 0);
    assert_eq!(no_route["evidence"], "connect");

    let summary = run.summary();
    assert_eq!(summary["targets"], 11);
    assert_eq!(summary["verdicts"]["open"], 2);
    assert_eq!(summary["verdicts"]["refused"], 3);
    assert_eq!(summary["verdicts"]["rejected"], 2);
    assert_eq!(summary["verdicts"]["unreachable"], 3);
    assert_eq!(summary["verdicts"]["dropped"], 1);
    assert_eq!(summary["capture"]["enabled"], true);
    assert_eq!(
        summary["capture"]["interfaces"],
        serde_json::json!(["eth0"])
    );
    assert_eq!(summary["uid"], 0);
    assert!(
        summary["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "NET_RAW")
    );
    // Probes run side by side and a drop ends at the deadline, not at the kernel's connect
    // timeout (minutes): the whole run is a few seconds at most.
    assert!(run.took.as_secs() < 10, "took {:?}", run.took);
}

#[test]
fn without_capture_verdicts_come_from_connect_and_say_so() {
    let Some(mut lab) = Lab::routed("without_capture_verdicts_come_from_connect", &["nc", "ss"])
    else {
        return;
    };
    tcp_server(&mut lab);
    let c = lab.client.clone();
    let targets = [
        tcp(SERVER_IP, 8080),
        tcp(SERVER_IP, 8081),
        tcp(SERVER_IP, 8082),
        tcp(SERVER_IP, 8084),
        tcp("10.1.99.9", 80),
    ];
    let mut args: Vec<&str> = targets.iter().map(String::as_str).collect();
    args.extend(["--timeout", "1s", "--no-capture"]);
    let run = lab.agent(&c, &args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for target in &targets {
        assert_eq!(run.line(target)["evidence"], "connect", "{target}");
        assert_eq!(run.line(target)["sent"], 0, "{target}");
    }
    assert_eq!(run.verdict(&targets[0]), "open");
    assert_eq!(run.verdict(&targets[1]), "refused");
    assert_eq!(run.verdict(&targets[2]), "dropped");
    // Linux returns ECONNREFUSED for an ICMP port unreachable too: without packets a REJECT
    // cannot be told from an RST, and the line says the evidence is weaker.
    assert_eq!(run.verdict(&targets[3]), "refused");
    assert!(
        run.line(&targets[3])["detail"]
            .as_str()
            .unwrap()
            .contains("no packet capture")
    );
    assert_eq!(run.verdict(&targets[4]), "unreachable");
    let summary = run.summary();
    assert_eq!(summary["capture"]["enabled"], false);
    assert_eq!(summary["capture"]["reason"], "--no-capture");
}

#[test]
fn an_unprivileged_agent_reports_its_identity_and_falls_back() {
    let Some(mut lab) = Lab::routed("an_unprivileged_agent_falls_back", &["nc", "ss", "setpriv"])
    else {
        return;
    };
    tcp_server(&mut lab);
    let c = lab.client.clone();
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ];
    let open = tcp(SERVER_IP, 8080);
    let refused = tcp(SERVER_IP, 8081);
    let run = lab.agent_as(&c, &nobody, &[&open, &refused, "--timeout", "1s"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let summary = run.summary();
    assert_eq!(summary["uid"], 65534);
    assert_eq!(summary["euid"], 65534);
    assert_eq!(summary["capabilities"], serde_json::json!([]));
    assert_eq!(summary["capture"]["enabled"], false);
    let reason = summary["capture"]["reason"].as_str().unwrap();
    assert!(reason.contains("CAP_NET_RAW"), "{reason}");
    assert_eq!(run.verdict(&open), "open");
    assert_eq!(run.verdict(&refused), "refused");
    assert_eq!(run.line(&open)["evidence"], "connect");
}

#[test]
fn udp_verdicts_open_closed_silent_unreachable() {
    let Some(mut lab) = Lab::routed("udp_verdicts", &["dnsmasq", "ss"]) else {
        return;
    };
    lab.dns_server("", &[]);
    let (c, s) = (lab.client.clone(), lab.server.clone());
    lab.iptables(&s, "-A INPUT -p udp --dport 9998 -j DROP");
    let dns = format!("udp:{SERVER_IP}:53");
    let closed = format!("udp:{SERVER_IP}:9999");
    let silent = format!("udp:{SERVER_IP}:9998");
    let lost = "udp:10.1.99.9:53".to_string();
    let run = lab.agent(&c, &[&dns, &closed, &silent, &lost, "--timeout", "1s"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.verdict(&dns), "open", "{}", run.line(&dns));
    assert_eq!(run.line(&dns)["reply"], "udp");
    assert_eq!(run.verdict(&closed), "closed");
    assert_eq!(run.line(&closed)["reply"], "icmp-port-unreachable");
    assert_eq!(run.verdict(&silent), "no-answer");
    assert_eq!(run.line(&silent)["sent"], 1);
    assert_eq!(run.verdict(&lost), "unreachable");
    assert_eq!(run.line(&lost)["reply_from"], NODE_CLIENT_SIDE);
}

#[test]
fn dns_through_a_server_and_through_the_search_path() {
    let Some(mut lab) = Lab::routed("dns_lookups", &["dnsmasq", "ss"]) else {
        return;
    };
    lab.dns_server(
        "10.96.0.10 cart.shop.svc.cluster.local\n",
        &["_http._tcp.cart.shop.svc.cluster.local,cart.shop.svc.cluster.local,80,0,100"],
    );
    let (c, s) = (lab.client.clone(), lab.server.clone());
    // A second address on the server where DNS is black-holed.
    lab.exec(&s, &["ip", "addr", "add", "10.1.2.3/24", "dev", "eth0"]);
    lab.iptables(&s, "-A INPUT -d 10.1.2.3 -p udp --dport 53 -j DROP");
    lab.iptables(&s, "-A INPUT -d 10.1.2.3 -p tcp --dport 53 -j DROP");
    let resolv = lab.path("resolv.conf");
    std::fs::write(
        &resolv,
        format!(
            "nameserver {SERVER_IP}\nsearch shop.svc.cluster.local svc.cluster.local \
             cluster.local\noptions ndots:5\n"
        ),
    )
    .unwrap();
    let a = format!("dns:cart.shop.svc.cluster.local@{SERVER_IP}");
    let srv = format!("dns:_http._tcp.cart.shop.svc.cluster.local/SRV@{SERVER_IP}");
    let missing = format!("dns:missing.shop.svc.cluster.local@{SERVER_IP}");
    let blackhole = "dns:cart.shop.svc.cluster.local@10.1.2.3".to_string();
    // Nothing listens on this port: ICMP port unreachable, not a timeout.
    let closed = format!("dns:cart.shop.svc.cluster.local@{SERVER_IP}:5353");
    let short = "dns:cart".to_string();
    let namespaced = "dns:cart.shop".to_string();
    let run = lab.agent(
        &c,
        &[
            &a,
            &srv,
            &missing,
            &blackhole,
            &closed,
            &short,
            &namespaced,
            "--timeout",
            "1s",
            "--resolv-conf",
            resolv.to_str().unwrap(),
            "--repeat",
            "2",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let line = run.line(&a);
    assert_eq!(line["verdict"], "resolved", "{line}");
    assert_eq!(line["rcode"], "NOERROR");
    assert_eq!(line["answers"], serde_json::json!(["10.96.0.10"]));
    assert_eq!(
        (line["tries"].as_u64(), line["resolved"].as_u64()),
        (Some(2), Some(2))
    );
    let line = run.line(&srv);
    assert_eq!(line["verdict"], "resolved", "{line}");
    let answer = line["answers"][0].as_str().unwrap();
    assert!(
        answer.contains(" 80 ") && answer.contains("cart.shop.svc.cluster.local"),
        "{answer}"
    );
    let line = run.line(&missing);
    assert_eq!(
        (line["verdict"].as_str(), line["rcode"].as_str()),
        (Some("nxdomain"), Some("NXDOMAIN")),
        "{line}"
    );
    let line = run.line(&blackhole);
    assert_eq!(line["verdict"], "timeout", "{line}");
    assert_eq!(line["rcode"], serde_json::Value::Null);
    let line = run.line(&closed);
    assert_eq!(line["verdict"], "rejected", "{line}");
    assert!(
        line["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{SERVER_IP}:5353 answered ICMP port unreachable")),
        "{line}"
    );
    // ndots:5: the search list comes first, and the name that answered is the full one.
    for target in [&short, &namespaced] {
        let line = run.line(target);
        assert_eq!(line["verdict"], "resolved", "{line}");
        assert_eq!(line["via"], "resolv.conf");
        assert_eq!(line["answered_name"], "cart.shop.svc.cluster.local.");
        assert_eq!(line["answers"], serde_json::json!(["10.96.0.10"]));
        assert_eq!(line["ndots"], 5, "{line}");
    }
    // The walk, as the pod's resolver makes it: `cart` (0 dots < ndots 5) is tried under each
    // search domain first and answers on the first; `cart.shop` under shop.svc.cluster.local
    // does not exist (NXDOMAIN), then answers under svc.cluster.local.
    let walk = |target: &str| -> Vec<(String, String)> {
        run.line(target)["walk"]
            .as_array()
            .unwrap_or_else(|| panic!("no walk: {}", run.line(target)))
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["verdict"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let step = |n: &str, v: &str| (n.to_string(), v.to_string());
    assert_eq!(
        walk(&short),
        [step("cart.shop.svc.cluster.local.", "resolved")]
    );
    assert_eq!(
        walk(&namespaced),
        [
            step("cart.shop.shop.svc.cluster.local.", "nxdomain"),
            step("cart.shop.svc.cluster.local.", "resolved"),
        ]
    );
    // Asked of one server, a name is not walked.
    assert!(run.line(&a).get("walk").is_none(), "{}", run.line(&a));
}

#[test]
fn pcap_files_open_in_tcpdump() {
    let Some(mut lab) = Lab::routed("pcap_files_open_in_tcpdump", &["nc", "ss", "tcpdump"]) else {
        return;
    };
    tcp_server(&mut lab);
    let c = lab.client.clone();
    let file = lab.path("probe.pcap");
    let open = tcp(SERVER_IP, 8080);
    let refused = tcp(SERVER_IP, 8081);
    let run = lab.agent(
        &c,
        &[
            &open,
            &refused,
            "--pcap",
            file.to_str().unwrap(),
            "--filter",
            "tcp and port 8080",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let written = run.summary()["capture"]["pcap"]["packets"]
        .as_u64()
        .unwrap();
    let read = std::process::Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let text = String::from_utf8_lossy(&read.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, written, "{text}");
    assert!(
        lines.iter().any(|l| l.contains(&format!("{CLIENT_IP}."))
            && l.contains(&format!("> {SERVER_IP}.8080: Flags [S]"))),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{SERVER_IP}.8080 > {CLIENT_IP}."))
                && l.contains("Flags [S.]")),
        "{text}"
    );
    assert!(
        !text.contains(".8081"),
        "the filter keeps port 8080 only: {text}"
    );
    assert!(String::from_utf8_lossy(&read.stderr).contains("EN10MB"));
}

#[test]
fn pcap_streams_to_stdout_with_the_lines_on_stderr() {
    let Some(mut lab) = Lab::routed("pcap_streams_to_stdout", &["nc", "ss", "tcpdump"]) else {
        return;
    };
    tcp_server(&mut lab);
    let c = lab.client.clone();
    let file = lab.path("stream.pcap");
    let script = format!(
        "{} agent {} --pcap - --filter tcp --max-packets 2 > {}",
        env!("CARGO_BIN_EXE_kubectl-netdoctor"),
        tcp(SERVER_IP, 8080),
        file.display()
    );
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &c, "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["capture"]["pcap"]["path"], "-");
    assert_eq!(summary["capture"]["pcap"]["packets"], 2);
    let read = std::process::Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&read.stdout);
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains("Flags [S]") && text.contains("Flags [S.]"),
        "{text}"
    );
}

#[test]
fn agent_usage_errors_are_one_line_and_exit_2() {
    for (args, says) in [
        (vec!["agent"], "give targets"),
        (vec!["agent", "tcp:10.0.0.1"], "is not IP:PORT"),
        (vec!["agent", "icmp:10.0.0.1:1"], "unknown kind \"icmp\""),
        (
            vec!["agent", "tcp:127.0.0.1:9", "--filter", "tcp"],
            "--filter applies to --pcap",
        ),
        (
            vec!["agent", "--pcap", "-", "--filter", "port x"],
            "\"x\" is not a port number",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netdoctor"))
            .args(&args)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn the_agent_ends_by_its_hard_deadline_whatever_it_was_doing() {
    let Some(lab) = Lab::routed("agent_hard_deadline", &[]) else {
        return;
    };
    let c = lab.client.clone();
    let file = lab.path("endless.pcap");
    // Capture-only without --duration runs until a signal: the deadline ends it.
    let run = lab.agent(
        &c,
        &["--pcap", file.to_str().unwrap(), "--hard-deadline", "1s"],
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr.contains("hard deadline of 1 s reached"),
        "{}",
        run.stderr
    );
    assert!(run.took.as_secs() < 10, "{:?}", run.took);
}

#[test]
fn ipv6_verdicts_come_from_icmpv6_and_tcp_over_ipv6() {
    use crate::support::netns::{CLIENT_IP6, NODE_CLIENT_SIDE6, SERVER_IP6};
    let Some(lab) = Lab::routed("ipv6_verdicts", &["nc", "ss", "ip6tables"]) else {
        return;
    };
    let mut lab = lab.with_ipv6();
    let s = lab.server.clone();
    lab.spawn(&s, &["nc", "-6", "-lk", "-s", SERVER_IP6, "-p", "8080"]);
    lab.exec(
        &s,
        &[
            "sh",
            "-c",
            "until ss -Hltn | grep -q ':8080 '; do sleep 0.02; done",
        ],
    );
    for rule in [
        "-A INPUT -p tcp --dport 8082 -j DROP",
        "-A INPUT -p tcp --dport 8084 -j REJECT",
    ] {
        let mut args = vec!["ip6tables", "-w"];
        args.extend(rule.split_whitespace());
        lab.exec(&s, &args);
    }
    let t = |port: u16| format!("tcp:[{SERVER_IP6}]:{port}");
    let lost = "tcp:[fd00:99::9]:80".to_string();
    let (open, refused, dropped, rejected) = (t(8080), t(8081), t(8082), t(8084));
    let c = lab.client.clone();
    let run = lab.agent(
        &c,
        &[
            &open,
            &refused,
            &dropped,
            &rejected,
            &lost,
            "--timeout",
            "1s",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let line = run.line(&open);
    assert_eq!(
        (line["verdict"].as_str(), line["reply"].as_str()),
        (Some("open"), Some("syn-ack")),
        "{line}"
    );
    assert!(
        line["local"]
            .as_str()
            .unwrap()
            .starts_with(&format!("[{CLIENT_IP6}]:")),
        "{line}"
    );
    assert_eq!(run.verdict(&refused), "refused");
    assert_eq!(run.verdict(&dropped), "dropped");
    assert_eq!(run.line(&dropped)["evidence"], "packets");
    // ip6tables' REJECT answers ICMPv6 port unreachable (type 1, code 4).
    assert_eq!(run.verdict(&rejected), "rejected");
    assert_eq!(run.line(&rejected)["reply"], "icmp-port-unreachable");
    // The node has no route to fd00:99::/64: ICMPv6 no route (type 1, code 0) from the node.
    let line = run.line(&lost);
    assert_eq!(line["verdict"], "unreachable", "{line}");
    assert_eq!(line["reply_from"], NODE_CLIENT_SIDE6, "{line}");
}

/// The path MTU from the client to the server through the node (`mtu:IP`), with the node's
/// server-side link at 1,400 bytes: a router that says so (ICMP fragmentation-needed) is path
/// MTU discovery working; one whose ICMP is dropped is a black hole — 1,400 bytes arrive, 1,450
/// and 1,500 vanish — and the agent says which; an untouched path carries every size up to the
/// interface's MTU.
#[test]
fn path_mtu_announced_black_holed_and_clear() {
    for case in ["mtu_clear", "mtu_announced", "mtu_black_hole"] {
        let Some(lab) = Lab::routed(case, &[]) else {
            return;
        };
        let (c, n) = (lab.client.clone(), lab.node.clone());
        if case != "mtu_clear" {
            lab.exec(&n, &["ip", "link", "set", "eth2", "mtu", "1400"]);
        }
        if case == "mtu_black_hole" {
            lab.iptables(
                &n,
                "-A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP",
            );
        }
        let target = format!("mtu:{SERVER_IP}:33434");
        let run = lab.agent(&c, &[&target, "--timeout", "1s"]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let line = run.line(&target);
        let steps: Vec<(u64, &str)> = line["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["size"].as_u64().unwrap(), s["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(line["iface_mtu"], 1500, "{line}");
        match case {
            "mtu_clear" => {
                assert_eq!(line["verdict"], "open", "{line}");
                assert_eq!(line["path_mtu"], 1500, "{line}");
                assert!(steps.iter().all(|(_, o)| *o == "reached"), "{line}");
            }
            "mtu_announced" => {
                assert_eq!(line["verdict"], "rejected", "{line}");
                assert_eq!(line["path_mtu"], 1400, "{line}");
                assert_eq!(
                    steps,
                    [(1280, "reached"), (1400, "reached"), (1450, "frag-needed")],
                    "{line}"
                );
            }
            _ => {
                assert_eq!(line["verdict"], "dropped", "{line}");
                assert_eq!(line["path_mtu"], 1400, "{line}");
                assert_eq!(
                    steps,
                    [
                        (1280, "reached"),
                        (1400, "reached"),
                        (1450, "silent"),
                        (1500, "silent")
                    ],
                    "{line}"
                );
                assert!(
                    line["detail"].as_str().unwrap().contains("black hole"),
                    "{line}"
                );
            }
        }
    }
}
