package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// The Service network. The scenarios' ClusterIPs are allocated by the real allocator from it.
const (
	serviceCIDR = "10.96.0.0/16"
	serviceIP   = "10.96.0.1"
)

// The controllers kube-controller-manager runs: the ones that make a Service's data real, run
// Jobs and collect what a deleted owner leaves (a probe Job's pod). Off: deployment, replicaset,
// daemonset, statefulset (they would replace the scenarios' pods with their own), node-lifecycle
// (it would taint and evict pods of the lab's nodes), and the rest (nothing in the product reads
// what they write). The garbage collector runs because `load` creates every owner the files'
// pods name (missingReplicaSets in load.go).
var controllers = []string{
	"endpointslice-controller", "endpointslice-mirroring-controller", "job-controller",
	"namespace-controller", "serviceaccount-controller", "serviceaccount-token-controller",
	"ttl-after-finished-controller", "garbage-collector-controller",
}

// state is a cluster's state directory.
type state struct {
	dir    string
	Ports  ports
	exited []namedExit
}

type ports struct {
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	APIServer  int `json:"apiServer"`
	Kubelet    int `json:"kubelet"`
}

func (s *state) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

func (s *state) server() string { return fmt.Sprintf("https://127.0.0.1:%d", s.Ports.APIServer) }

func openState(dir string) (*state, error) {
	if dir == "" {
		return nil, errors.New("--state DIR is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &state{dir: abs}
	if b, err := os.ReadFile(s.path("ports.json")); err == nil {
		if err := json.Unmarshal(b, &s.Ports); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path("ports.json"), err)
		}
	}
	return s, nil
}

// runEtcd runs an embedded etcd member until SIGTERM.
func runEtcd(args []string) error {
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "")
	client := fs.Int("client-port", 0, "")
	peer := fs.Int("peer-port", 0, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := embed.NewConfig()
	cfg.Dir = *dataDir
	cfg.LogLevel = "warn"
	// A test cluster lives minutes: losing it on a power cut costs nothing, and fsync costs
	// seconds per scenario.
	cfg.UnsafeNoFsync = true
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", *client))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", *peer))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		return errors.New("etcd did not become ready in 60 s")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
		return nil
	case err := <-e.Err():
		return err
	}
}

// component is one process `up` starts.
type component struct {
	name string
	args []string
}

func (s *state) components(agentRoot string, podSecurity bool) []component {
	p := pki{s.dir}
	etcd := fmt.Sprintf("http://127.0.0.1:%d", s.Ports.EtcdClient)
	apiserverExtra := []string{}
	if podSecurity {
		apiserverExtra = append(apiserverExtra, "--admission-control-config-file="+s.path("admission.yaml"))
	}
	return []component{
		{"etcd", []string{"--data-dir", s.path("etcd"),
			"--client-port", strconv.Itoa(s.Ports.EtcdClient), "--peer-port", strconv.Itoa(s.Ports.EtcdPeer)}},
		{"kube-apiserver", append([]string{
			"--etcd-servers=" + etcd,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(s.Ports.APIServer),
			"--tls-cert-file=" + p.path("apiserver.crt"), "--tls-private-key-file=" + p.path("apiserver.key"),
			"--client-ca-file=" + p.path("ca.crt"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + p.path("sa.pub"),
			"--service-account-signing-key-file=" + p.path("sa.key"),
			"--service-cluster-ip-range=" + serviceCIDR,
			"--authorization-mode=Node,RBAC",
			// The default admission chain (PodSecurity, ServiceAccount, NamespaceLifecycle, …)
			// is on without naming it.
			"--kubelet-client-certificate=" + p.path("apiserver-kubelet-client.crt"),
			"--kubelet-client-key=" + p.path("apiserver-kubelet-client.key"),
			"--kubelet-certificate-authority=" + p.path("ca.crt"),
			// The node agent serves every node's kubelet API on 127.0.0.1 (see node.go).
			"--kubelet-preferred-address-types=Hostname",
			"--audit-log-path=" + s.path("logs", "audit.log"),
			"--audit-policy-file=" + s.path("audit-policy.yaml"),
			"--audit-log-maxsize=200",
			"--profiling=false",
			"--allow-privileged=true",
			"--endpoint-reconciler-type=none",
			"--v=1",
		}, apiserverExtra...)},
		{"kube-controller-manager", []string{
			"--kubeconfig=" + s.path("controller-manager.kubeconfig"),
			"--authentication-kubeconfig=" + s.path("controller-manager.kubeconfig"),
			"--authorization-kubeconfig=" + s.path("controller-manager.kubeconfig"),
			"--controllers=" + strings.Join(controllers, ","),
			"--service-account-private-key-file=" + p.path("sa.key"),
			"--root-ca-file=" + p.path("ca.crt"),
			"--use-service-account-credentials=true",
			"--leader-elect=false",
			"--secure-port=0",
			"--concurrent-service-endpoint-syncs=10",
			"--concurrent-job-syncs=10",
			"--v=1",
		}},
		{"kube-scheduler", []string{
			"--kubeconfig=" + s.path("scheduler.kubeconfig"),
			"--authentication-kubeconfig=" + s.path("scheduler.kubeconfig"),
			"--authorization-kubeconfig=" + s.path("scheduler.kubeconfig"),
			"--leader-elect=false",
			"--secure-port=0",
			"--v=1",
		}},
		{"node-agent", []string{"--state", s.dir, "--agent-root", agentRoot}},
	}
}

// auditPolicy records each request's verb and URL (no bodies): the benches count rounds and
// requests from it.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`

// admissionConfig sets PodSecurity's cluster-wide default (what a namespace without labels gets),
// as a platform team's AdmissionConfiguration does.
const admissionConfig = `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: %[1]q, enforce-version: latest, audit: %[1]q, warn: %[1]q}
    exemptions: {namespaces: [kube-system]}
`

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("state", "", "state directory")
	agentRoot := fs.String("agent-root", "", "root filesystem holding usr/local/bin/kubectl-netdoctor (the probe image's), for probe pods")
	podSecurity := fs.String("pod-security-default", "", "PodSecurity level enforced where a namespace has no label (privileged when empty, as upstream)")
	gatewayChannel := fs.String("gateway-api", "standard", "the Gateway API CRDs to install: standard, experimental (one release, from the sigs.k8s.io/gateway-api module) or none")
	proxyMode := fs.String("proxy-mode", "nftables", "with --data-plane: kube-proxy's mode in every node, nftables or iptables")
	enforcer := fs.String("enforcer", "", "with --data-plane: the NetworkPolicy enforcer to run in every node, kube-router (its iptables and ipset controller) or kube-network-policies (nftables queue: needs the kernel's nft_queue)")
	dataPlane := fs.Bool("data-plane", false, "real pod networking (CNI bridge, host-local, loopback, portmap): pods in their own network namespaces, the files' pods served by the netdoctor agent (needs --agent-root)")
	policyAPI := fs.String("policy-api", "all", "the cluster-wide policy CRDs to install (sigs.k8s.io/network-policy-api): all, v1alpha1 (AdminNetworkPolicy, BaselineAdminNetworkPolicy), clusternetworkpolicy or none")
	var loads multiFlag
	fs.Var(&loads, "load", "a folder of manifests to load once Ready (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := openState(*dir)
	if err != nil {
		return err
	}
	if s.running() {
		return fmt.Errorf("a cluster already runs from %s (cluster down --state %s)", s.dir, s.dir)
	}
	start := time.Now()
	for _, d := range []string{"logs", "podlogs", "given-status"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return err
		}
	}
	// A fresh cluster every time: etcd's data and what the last run loaded go.
	for _, d := range []string{"etcd", "podlogs", "given-status", "loaded.json", "data-plane", "enforcer", "cni", "underlay-bridge", "stopped"} {
		os.RemoveAll(s.path(d))
	}
	if *dataPlane {
		if *agentRoot == "" {
			return fmt.Errorf("--data-plane needs --agent-root: the pods run the netdoctor agent")
		}
		if *proxyMode != "nftables" && *proxyMode != "iptables" {
			return fmt.Errorf("--proxy-mode %q: want nftables or iptables", *proxyMode)
		}
		switch *enforcer {
		case "":
		case "kube-router", "kube-network-policies":
			// The file names the enforcer (see dataplane.go).
			if err := os.WriteFile(s.path("enforcer"), []byte(*enforcer), 0o644); err != nil {
				return err
			}
		default:
			return fmt.Errorf("--enforcer %q: want kube-router or kube-network-policies", *enforcer)
		}
		// The file holds kube-proxy's mode (see dataplane.go).
		if err := os.WriteFile(s.path("data-plane"), []byte(*proxyMode), 0o644); err != nil {
			return err
		}
	}
	os.MkdirAll(s.path("podlogs"), 0o755)
	os.MkdirAll(s.path("given-status"), 0o755)
	if err := (pki{s.dir}).ensure(); err != nil {
		return err
	}
	// The four ports are held open until all are chosen, so the kernel cannot hand one out
	// twice; clusters started side by side can still race for a port between its close here
	// and the component's bind (the tests retry an up that lost that race).
	var held []net.Listener
	for _, p := range []*int{&s.Ports.EtcdClient, &s.Ports.EtcdPeer, &s.Ports.APIServer, &s.Ports.Kubelet} {
		l, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			return lerr
		}
		held = append(held, l)
		*p = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range held {
		l.Close()
	}
	b, _ := json.MarshalIndent(s.Ports, "", "  ")
	if err := os.WriteFile(s.path("ports.json"), b, 0o644); err != nil {
		return err
	}
	p := pki{s.dir}
	for _, kc := range []struct{ file, cert string }{
		{"kubeconfig", "admin"}, {"controller-manager.kubeconfig", "controller-manager"},
		{"scheduler.kubeconfig", "scheduler"}, {"node-agent.kubeconfig", "node-agent"},
		{"kube-proxy.kubeconfig", "kube-proxy"}, {"coredns.kubeconfig", "coredns"},
		{"kube-network-policies.kubeconfig", "kube-network-policies"},
		{"kube-router.kubeconfig", "kube-router"},
	} {
		if err := os.WriteFile(s.path(kc.file), []byte(p.kubeconfig(s.server(), kc.cert)), 0o600); err != nil {
			return err
		}
	}
	if err := os.WriteFile(s.path("audit-policy.yaml"), []byte(auditPolicy), 0o644); err != nil {
		return err
	}
	if *podSecurity != "" {
		if err := os.WriteFile(s.path("admission.yaml"), []byte(fmt.Sprintf(admissionConfig, *podSecurity)), 0o644); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, c := range s.components(*agentRoot, *podSecurity != "") {
		if err := s.spawn(self, c); err != nil {
			s.stopAll()
			return err
		}
		var wait func(context.Context) error
		switch c.name {
		case "etcd":
			wait = func(ctx context.Context) error {
				return s.waitHTTP(ctx, c.name, fmt.Sprintf("http://127.0.0.1:%d/health", s.Ports.EtcdClient), nil)
			}
		case "kube-apiserver":
			wait = func(ctx context.Context) error {
				return s.waitHTTP(ctx, c.name, s.server()+"/readyz", s.adminTLS())
			}
		}
		if wait != nil {
			if err := wait(ctx); err != nil {
				s.stopAll()
				return err
			}
		}
	}
	client, err := s.client()
	if err != nil {
		s.stopAll()
		return err
	}
	if err := waitReady(ctx, s, client); err != nil {
		s.stopAll()
		return err
	}
	if *gatewayChannel != "none" {
		if err := installGatewayAPI(ctx, client, *gatewayChannel); err != nil {
			s.stopAll()
			return fmt.Errorf("installing the Gateway API CRDs: %w", err)
		}
	}
	if *dataPlane {
		if err := installClusterDNS(ctx, client); err != nil {
			s.stopAll()
			return fmt.Errorf("installing the cluster DNS: %w", err)
		}
	}
	if *policyAPI != "none" {
		if err := installPolicyAPI(ctx, client, *policyAPI); err != nil {
			s.stopAll()
			return fmt.Errorf("installing the network-policy-api CRDs: %w", err)
		}
	}
	for _, d := range loads {
		if err := load(ctx, s, client, d); err != nil {
			s.stopAll()
			return fmt.Errorf("loading %s: %w", d, err)
		}
	}
	fmt.Fprintf(os.Stderr, "cluster up in %.1f s (logs in %s)\n", time.Since(start).Seconds(), s.path("logs"))
	fmt.Println(s.path("kubeconfig"))
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// spawn starts a component in a session of its own (it outlives `up`), its output in
// logs/NAME.log and its pid in NAME.pid.
func (s *state) spawn(self string, c component) error {
	logf, err := os.Create(s.path("logs", c.name+".log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, append([]string{c.name}, c.args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.name, err)
	}
	pid := cmd.Process.Pid
	// Reap it if it dies while `up` still runs, so waitHTTP can tell a crash from slowness.
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.exited = append(s.exited, namedExit{c.name, exited})
	return os.WriteFile(s.path(c.name+".pid"), []byte(strconv.Itoa(pid)), 0o644)
}

type namedExit struct {
	name string
	ch   chan struct{}
}

// waitHTTP polls url until it answers 200; a component that exits meanwhile fails `up` with the
// last lines of its own log.
func (s *state) waitHTTP(ctx context.Context, name, u string, tlsConf *tls.Config) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}
	for {
		if err := s.crashed(); err != nil {
			return err
		}
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not become ready: %v\n%s", name, err, s.tail(name))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// crashed says which component has exited, with its own last words.
func (s *state) crashed() error {
	for _, e := range s.exited {
		select {
		case <-e.ch:
			return fmt.Errorf("%s exited:\n%s", e.name, s.tail(e.name))
		default:
		}
	}
	return nil
}

// tail is the end of a component's log.
func (s *state) tail(name string) string {
	b, _ := os.ReadFile(s.path("logs", name+".log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

func (s *state) adminTLS() *tls.Config {
	p := pki{s.dir}
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(p.path("ca.crt"))
	pool.AppendCertsFromPEM(ca)
	cert, _ := tls.LoadX509KeyPair(p.path("admin.crt"), p.path("admin.key"))
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
}

var componentNames = []string{"node-agent", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"}

func (s *state) pid(name string) int {
	b, err := os.ReadFile(s.path(name + ".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func (s *state) running() bool {
	for _, n := range componentNames {
		if alive(s.pid(n)) {
			return true
		}
	}
	return false
}

// stopAll stops the components in reverse order of start: SIGTERM, then SIGKILL after 10 s.
func (s *state) stopAll() {
	for _, n := range componentNames {
		pid := s.pid(n)
		if !alive(pid) {
			os.Remove(s.path(n + ".pid"))
			continue
		}
		syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			// The child of a finished `up` is reparented; poll until it is gone.
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.Remove(s.path(n + ".pid"))
	}
}

// stateArgs parses `--state DIR [ARGS...]` for a command that talks to a running cluster: its
// state, the other arguments, and a client with an admin's rights.
func stateArgs(name string, args []string) (*state, []string, *clients, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	dir := fs.String("state", "", "state directory")
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, err
	}
	s, err := openState(*dir)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := s.client()
	return s, fs.Args(), c, err
}

func down(args []string) error {
	s, _, _, err := stateArgs("down", args)
	if s == nil {
		return err // no state; a missing kubeconfig is no reason not to stop what runs
	}
	s.stopAll()
	return removeNetns(s)
}
