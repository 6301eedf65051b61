package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The data plane (`up --data-plane`): real pod networking with the CNI reference plugins
// (github.com/containernetworking/plugins: bridge with host-local IPAM, loopback, portmap), built
// by the wrapper script from their module into tests/cluster/.bin/cni.
//
//   - The nodes' network namespaces hang off one "underlay" namespace holding a bridge; each
//     node's eth0 carries its InternalIP (10.0.0.0/24), and each node routes every other node's
//     podCIDR via that node's IP, as an overlay-free cluster does.
//   - Every pod gets a network namespace of its own, attached by the bridge plugin (run inside
//     its node's namespace) to the node's cni0 bridge, with an address from the node's podCIDR.
//   - Pods of the files are not given their statuses: each container runs as the netdoctor
//     agent's stand-in server (`agent --serve`) on its declared containerPorts, and the pod is
//     Ready as a kubelet would say (no readinessProbe: once running; else once the probe's TCP
//     or HTTP GET answers from the node).

// cniBin is the directory of the CNI plugin binaries, stamped by the wrapper script.
var cniBin = ""

// dataPlaneOn says whether the cluster of this state directory runs the data plane.
func dataPlaneOn(s *state) bool {
	_, err := os.Stat(s.path("data-plane"))
	return err == nil
}

// underlayName is the namespace holding the bridge between the nodes.
func underlayName(s *state) string { return netnsName(s, "underlay") }

// ensureNetns creates a network namespace (recorded for `down`) with its loopback up.
func ensureNetns(s *state, name string) error {
	if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
		return nil
	}
	for _, argv := range [][]string{{"netns", "add", name}, {"-n", name, "link", "set", "lo", "up"}} {
		if out, err := exec.Command("ip", argv...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %s", strings.Join(argv, " "), out)
		}
	}
	return os.WriteFile(s.path("netns-"+name), nil, 0o644)
}

func ipCmds(cmds ...[]string) error {
	for _, argv := range cmds {
		if out, err := exec.Command("ip", argv...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %s", strings.Join(argv, " "), strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// nodeAddress is a node's InternalIP and podCIDR.
func nodeAddress(n *corev1.Node) (string, string) {
	ip := ""
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
		}
	}
	return ip, n.Spec.PodCIDR
}

// wireNode connects a node's namespace to the underlay (its InternalIP on eth0) and adds the
// routes between it and every node already wired.
func (a *nodeAgent) wireNode(ns string, node *corev1.Node) error {
	under := underlayName(a.s)
	if err := ensureNetns(a.s, under); err != nil {
		return err
	}
	if _, err := os.Stat(a.s.path("underlay-bridge")); err != nil {
		if err := ipCmds(
			[]string{"-n", under, "link", "add", "br0", "type", "bridge"},
			[]string{"-n", under, "link", "set", "br0", "up"},
		); err != nil {
			return err
		}
		os.WriteFile(a.s.path("underlay-bridge"), nil, 0o644)
	}
	ip, cidr := nodeAddress(node)
	if ip == "" || cidr == "" {
		return fmt.Errorf("node %s has no InternalIP or podCIDR", node.Name)
	}
	port := "u" + strings.ReplaceAll(ip, ".", "-")
	if err := ipCmds(
		[]string{"-n", under, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns},
		[]string{"-n", under, "link", "set", port, "master", "br0", "up"},
		[]string{"-n", ns, "addr", "add", ip + "/24", "dev", "eth0"},
		[]string{"-n", ns, "link", "set", "eth0", "up"},
	); err != nil {
		return err
	}
	if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		return fmt.Errorf("ip_forward in %s: %s", ns, out)
	}
	nodes, err := a.c.kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range nodes.Items {
		other := &nodes.Items[i]
		if other.Name == node.Name {
			continue
		}
		oip, ocidr := nodeAddress(other)
		ons := netnsName(a.s, other.Name)
		if _, err := os.Stat(filepath.Join("/run/netns", ons)); err != nil || oip == "" || ocidr == "" {
			continue // not wired yet: it adds both routes when it is
		}
		if err := ipCmds(
			[]string{"-n", ns, "route", "replace", ocidr, "via", oip},
			[]string{"-n", ons, "route", "replace", cidr, "via", ip},
		); err != nil {
			return err
		}
	}
	if err := a.forwardAPIServer(ns); err != nil {
		return err
	}
	if err := a.startProxy(node.Name, ns); err != nil {
		return err
	}
	return a.startEnforcer(node.Name, ns)
}

// nodeComponents are the processes the data plane runs per node (keyed component/node).
var nodeComponents = []string{"kube-proxy", "kube-router", "kube-network-policies"}

// wiredNode is a node object the data plane has connected (a node deleted and registered again
// under its name is another object, wired afresh).
type wiredNode struct {
	uid  types.UID
	cidr string
}

// unwireNode undoes wireNode when a node is deleted, as removing a machine would: its node
// processes stop (kube-proxy itself exits when it sees its Node deleted), its namespace and the
// other nodes' routes to its podCIDR go, so a node registered again under the name is wired
// afresh (a new podCIDR, new proxy and enforcer processes).
func (a *nodeAgent) unwireNode(node *corev1.Node) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.wired[node.Name]; ok && w.uid == node.UID {
		a.unwireLocked(node.Name, w)
	}
}

func (a *nodeAgent) unwireLocked(node string, w wiredNode) {
	delete(a.wired, node)
	for _, c := range nodeComponents {
		if cmd := a.running[c+"/"+node]; cmd != nil && cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			delete(a.running, c+"/"+node)
		}
		os.Remove(a.s.path("stopped", c+"-"+node)) // a node registered again starts them afresh
	}
	ns := netnsName(a.s, node)
	a.fwdMu.Lock()
	if l := a.forwarders[ns]; l != nil {
		l.Close()
		delete(a.forwarders, ns)
	}
	a.fwdMu.Unlock()
	if w.cidr != "" {
		for other := range a.wired {
			exec.Command("ip", "-n", netnsName(a.s, other), "route", "del", w.cidr).Run()
		}
	}
	exec.Command("ip", "netns", "delete", ns).Run()
	os.Remove(a.s.path("netns-" + ns))
}

// startEnforcer runs the NetworkPolicy enforcer `up --enforcer` named in the node's namespace, as
// its DaemonSet would; what it says is in logs/ENFORCER-NODE.log.
//   - kube-router (github.com/cloudnativelabs/kube-router/v2 v2.1.0, its netpol controller):
//     iptables chains per local pod and ipsets. Pods on one node talk across the cni0 bridge, so
//     the node's namespace hands bridged packets to iptables (br_netfilter's
//     bridge-nf-call-iptables, which kube-router's DaemonSet expects of the host).
//   - kube-network-policies (sigs.k8s.io/kube-network-policies v0.8.0): an nftables `queue`
//     rule and a userspace verdict; this kernel has no nft_queue, and it says so in its log.
func (a *nodeAgent) startEnforcer(node, ns string) error {
	b, err := os.ReadFile(a.s.path("enforcer"))
	if err != nil {
		return nil // no enforcer: NetworkPolicy is not enforced, as in a cluster without one
	}
	enforcer := strings.TrimSpace(string(b))
	if enforcer == "kube-router" {
		if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1").CombinedOutput(); err != nil {
			return fmt.Errorf("bridge-nf-call-iptables in %s: %s", ns, out)
		}
	}
	return a.startNodeProcess(node, ns, enforcer,
		"--kubeconfig="+a.s.path(enforcer+".kubeconfig"),
		"--hostname-override="+node,
	)
}

// proxyMode is kube-proxy's mode with the data plane (nftables or iptables).
func proxyMode(s *state) string {
	b, _ := os.ReadFile(s.path("data-plane"))
	if m := strings.TrimSpace(string(b)); m != "" {
		return m
	}
	return "nftables"
}

// forwardAPIServer makes the API server reachable from inside a node's namespace at the address
// the kubeconfigs name (127.0.0.1:PORT, the host's loopback): a listener made in the node's
// namespace whose connections the agent splices to the host's — nothing leaves loopback.
func (a *nodeAgent) forwardAPIServer(ns string) error {
	addr := fmt.Sprintf("127.0.0.1:%d", a.s.Ports.APIServer)
	l, err := listenIn(ns, addr)
	if err != nil {
		return fmt.Errorf("API server forwarder in %s: %w", ns, err)
	}
	a.fwdMu.Lock()
	a.forwarders[ns] = l
	a.fwdMu.Unlock()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					return
				}
				defer out.Close()
				go func() { io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				io.Copy(in, out)
			}()
		}
	}()
	return nil
}

// listenIn opens a TCP listener inside a network namespace (the socket stays there).
func listenIn(ns, addr string) (l net.Listener, err error) {
	err = inNamespace(ns, func() error {
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// inNamespace runs f on a thread switched into a network namespace (sockets f makes are made
// there), and switches back.
func inNamespace(ns string, f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return err
	}
	defer netns.Set(orig)
	return f()
}

// startProxy runs kube-proxy (k8s.io/kubernetes/cmd/kube-proxy, this binary's `kube-proxy`) in
// the node's namespace: it programs the node's Service rules from the real EndpointSlices.
// Conntrack limits are left as the kernel has them (they are not per namespace).
func (a *nodeAgent) startProxy(node, ns string) error {
	return a.startNodeProcess(node, ns, "kube-proxy",
		"--kubeconfig="+a.s.path("kube-proxy.kubeconfig"),
		"--hostname-override="+node,
		"--proxy-mode="+proxyMode(a.s),
		"--cluster-cidr=10.244.0.0/16",
		"--conntrack-max-per-core=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
		"--metrics-bind-address=127.0.0.1:10249",
		"--healthz-bind-address=0.0.0.0:10256",
		"--v=1",
	)
}

// startNodeProcess runs one of this binary's components in a node's namespace, as that node's
// DaemonSet pod would be, its output in logs/COMPONENT-NODE.log (ending with how it exited).
func (a *nodeAgent) startNodeProcess(node, ns, component string, args ...string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.Create(a.s.path("logs", component+"-"+node+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, self, component}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	a.running[component+"/"+node] = cmd
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(logf, "exited: %v\n", err)
		logf.Close()
	}()
	return nil
}

// inNetns runs the CNI plugins inside the node's namespace (the bridge plugin makes the bridge
// in its own namespace and moves the pod's end of the veth into CNI_NETNS).
type inNetns struct {
	*invoke.DefaultExec
	ns string
}

func (e inNetns) ExecPlugin(ctx context.Context, plugin string, stdin []byte, environ []string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", e.ns, plugin)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = environ, bytes.NewReader(stdin), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s %s", filepath.Base(plugin), err, strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// cniNetworks are the pod network's plugin chain and the loopback's, for a node.
func (a *nodeAgent) cniNetworks(node, cidr string) (*libcni.NetworkConfigList, *libcni.NetworkConfigList, error) {
	conf := map[string]interface{}{
		"cniVersion": "1.0.0",
		"name":       "lab",
		"plugins": []interface{}{
			map[string]interface{}{
				"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]interface{}{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": cidr}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": a.s.path("cni", "ipam", node),
				},
			},
			map[string]interface{}{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.Marshal(conf)
	if err != nil {
		return nil, nil, err
	}
	pods, err := libcni.ConfListFromBytes(b)
	if err != nil {
		return nil, nil, err
	}
	lo, err := libcni.ConfListFromBytes([]byte(`{"cniVersion":"1.0.0","name":"lo","plugins":[{"type":"loopback"}]}`))
	return pods, lo, err
}

func (a *nodeAgent) cni(nodeNs string) *libcni.CNIConfig {
	exec := inNetns{DefaultExec: &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}, PluginDecoder: version.PluginDecoder{}}, ns: nodeNs}
	return libcni.NewCNIConfigWithCacheDir([]string{cniBin}, a.s.path("cni", "cache"), exec)
}

// podNetnsName is a pod's own network namespace.
func podNetnsName(s *state, pod *corev1.Pod) string {
	return netnsName(s, "p-"+string(pod.UID)[:13])
}

// cniPodNetwork gives the pod its own namespace on its node's bridge: CNI ADD of loopback and
// of the pod network; the address comes from the bridge plugin's result.
func (a *nodeAgent) cniPodNetwork(pod *corev1.Pod) (string, string, error) {
	if cniBin == "" {
		return "", "", fmt.Errorf("the cluster binary was built without the CNI plugins (build it through tests/cluster/cluster)")
	}
	node, err := a.c.kube.CoreV1().Nodes().Get(context.Background(), pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	nodeNs, err := a.nodeNetns(pod.Spec.NodeName)
	if err != nil {
		return "", "", err
	}
	podNs := podNetnsName(a.s, pod)
	if err := ensureNetns(a.s, podNs); err != nil {
		return "", "", err
	}
	pods, lo, err := a.cniNetworks(node.Name, node.Spec.PodCIDR)
	if err != nil {
		return "", "", err
	}
	rt := &libcni.RuntimeConf{ContainerID: string(pod.UID), NetNS: filepath.Join("/run/netns", podNs), IfName: "eth0"}
	cni := a.cni(nodeNs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cni.AddNetworkList(ctx, lo, &libcni.RuntimeConf{ContainerID: string(pod.UID), NetNS: rt.NetNS, IfName: "lo"}); err != nil {
		return "", "", fmt.Errorf("CNI loopback: %w", err)
	}
	res, err := cni.AddNetworkList(ctx, pods, rt)
	if err != nil {
		return "", "", fmt.Errorf("CNI bridge: %w", err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return "", "", err
	}
	if len(r.IPs) == 0 {
		return "", "", fmt.Errorf("CNI bridge gave no address")
	}
	return podNs, r.IPs[0].Address.IP.String(), nil
}

// cniRelease is CNI DEL for a pod's network, then its namespace removed.
func (a *nodeAgent) cniRelease(pod *corev1.Pod) {
	podNs := podNetnsName(a.s, pod)
	if _, err := os.Stat(filepath.Join("/run/netns", podNs)); err != nil {
		return
	}
	if node, err := a.c.kube.CoreV1().Nodes().Get(context.Background(), pod.Spec.NodeName, metav1.GetOptions{}); err == nil {
		if pods, _, err := a.cniNetworks(node.Name, node.Spec.PodCIDR); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			rt := &libcni.RuntimeConf{ContainerID: string(pod.UID), NetNS: filepath.Join("/run/netns", podNs), IfName: "eth0"}
			if err := a.cni(netnsName(a.s, node.Name)).DelNetworkList(ctx, pods, rt); err != nil {
				fmt.Fprintf(os.Stderr, "pod %s/%s: CNI DEL: %v\n", pod.Namespace, pod.Name, err)
			}
			cancel()
		}
	}
	exec.Command("ip", "netns", "delete", podNs).Run()
	os.Remove(a.s.path("netns-" + podNs))
}

// serveAnnotation asks a file's pod for a failure the checks diagnose: "loopback" (its servers
// bind 127.0.0.1 only, a dev default), "other-port" (each listens one port above the declared),
// "reset-plaintext" (its TCP servers reset what is not HTTP, as a mesh proxy requiring mTLS
// treats a plaintext client on the wire: Istio's and Linkerd's proxies cannot be built here).
const serveAnnotation = "netdoctor.test/serve"

// serveArgs is the stand-in server of a container: its declared ports (TCP and UDP), as the
// pod's serveAnnotation bends them.
func serveArgs(pod *corev1.Pod, c corev1.Container) []string {
	args := []string{"agent"}
	how := pod.Annotations[serveAnnotation]
	for _, p := range c.Ports {
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" {
			continue
		}
		port := int(p.ContainerPort)
		addr := ""
		switch how {
		case "loopback":
			addr = "127.0.0.1:"
		case "other-port":
			port++
		case "reset-plaintext":
			if proto == "tcp" {
				proto = "tcp-reset"
			}
		}
		args = append(args, "--serve", proto+":"+addr+strconv.Itoa(port))
	}
	if len(args) == 1 {
		// A container without ports (a client) runs and serves nothing.
		args = append(args, "--serve", "none")
	}
	return args
}

// readinessPort is the port a container's readinessProbe asks (TCP connect or HTTP GET), named
// ports resolved on the container; 0 when it has none the lab can run.
func readinessPort(c corev1.Container) (int, string) {
	p := c.ReadinessProbe
	if p == nil {
		return 0, ""
	}
	var port intstr.IntOrString
	path := ""
	switch {
	case p.TCPSocket != nil:
		port = p.TCPSocket.Port
	case p.HTTPGet != nil:
		port, path = p.HTTPGet.Port, p.HTTPGet.Path
		if path == "" {
			path = "/"
		}
	default:
		return 0, ""
	}
	if port.Type == intstr.Int {
		return port.IntValue(), path
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), path
		}
	}
	return 0, ""
}

// probeFromNode is the kubelet's readiness probe: from the node's namespace, a TCP connect to
// the pod's port, and for an HTTP probe a GET whose status must be 2xx or 3xx.
func probeFromNode(nodeNs, ip string, port int, path string) error {
	var conn net.Conn
	err := inNamespace(nodeNs, func() (err error) {
		conn, err = net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), time.Second)
		return err
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	if path == "" {
		return nil
	}
	conn.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, ip)
	buf := make([]byte, 64)
	n, _ := conn.Read(buf)
	status := strings.Fields(string(buf[:n]))
	if len(status) < 2 || (status[1][0] != '2' && status[1][0] != '3') {
		return fmt.Errorf("HTTP probe answered %q", string(buf[:n]))
	}
	return nil
}

// serve runs a pod of the files as stand-in servers in its own network namespace and reports it
// Running; Ready once its containers' readiness probes pass (checked every second for a minute).
func (a *nodeAgent) serve(ctx context.Context, pod *corev1.Pod) error {
	if a.agentRoot == "" {
		return a.waiting(ctx, pod, "ErrImagePull", "the data plane needs --agent-root: its pods run the netdoctor agent's stand-in server")
	}
	podNs, ip, err := a.cniPodNetwork(pod)
	if err != nil {
		return a.waiting(ctx, pod, "CreateContainerError", err.Error())
	}
	started := metav1.Now()
	var statuses []corev1.ContainerStatus
	for _, c := range pod.Spec.Containers {
		c := c
		ns, name, uid := pod.Namespace, pod.Name, pod.UID
		done := func(code int) { a.finish(ns, name, uid, c, started, code) }
		var err error
		if isCoreDNS(c) {
			err = a.startCoreDNS(pod, c, podNs, done)
		} else {
			err = a.launch(pod, c.Name, serveArgs(pod, c), c.SecurityContext, podNs, ip, done)
		}
		if err != nil {
			return a.waiting(ctx, pod, "RunContainerError", err.Error())
		}
		statuses = append(statuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Started: boolPtr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		})
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	// The kubelet reports its node's address (kube-router finds its node's pods by it).
	if node, err := a.c.kube.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{}); err == nil {
		if hostIP, _ := nodeAddress(node); hostIP != "" {
			pod.Status.HostIP = hostIP
			pod.Status.HostIPs = []corev1.HostIP{{IP: hostIP}}
		}
	}
	pod.Status.StartTime = &started
	pod.Status.ContainerStatuses = statuses
	pod.Status.Conditions = podConditions(corev1.ConditionTrue, corev1.ConditionFalse)
	nodeNs := netnsName(a.s, pod.Spec.NodeName)
	ready := func() bool {
		for _, c := range pod.Spec.Containers {
			if port, path := readinessPort(c); port != 0 {
				if probeFromNode(nodeNs, ip, port, path) != nil {
					return false
				}
			}
		}
		return true
	}
	// No readinessProbe: Ready once running, as a kubelet says; the servers bind at once.
	time.Sleep(200 * time.Millisecond)
	if ready() {
		pod.Status.Conditions = podConditions(corev1.ConditionTrue, corev1.ConditionTrue)
		for i := range pod.Status.ContainerStatuses {
			pod.Status.ContainerStatuses[i].Ready = true
		}
	} else {
		go a.waitReady(pod.Namespace, pod.Name, ready)
	}
	if _, err := a.c.kube.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		a.kill(pod.UID)
		return err
	}
	return nil
}

// waitReady marks a pod Ready once its probes pass (a minute at most, as a failing probe would
// keep it).
func (a *nodeAgent) waitReady(ns, name string, ready func() bool) {
	for i := 0; i < 60; i++ {
		time.Sleep(time.Second)
		if !ready() {
			continue
		}
		pod, err := a.c.kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return
		}
		pod.Status.Conditions = podConditions(corev1.ConditionTrue, corev1.ConditionTrue)
		for j := range pod.Status.ContainerStatuses {
			pod.Status.ContainerStatuses[j].Ready = true
		}
		a.c.kube.CoreV1().Pods(ns).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
		return
	}
}

// podExecCmd is `cluster pod-exec --state DIR NAMESPACE/POD CMD ARGS...`: runs a command of the
// host in a data-plane pod's network namespace (its address, its routes, its node's enforcement
// on the way out), as `kubectl exec` into a debug container sharing the pod's network would. The
// tests measure connections from each pod with it.
func podExecCmd(args []string) error {
	s, rest, c, err := stateArgs("pod-exec", args)
	if err != nil {
		return err
	}
	if len(rest) < 2 {
		return fmt.Errorf("usage: cluster pod-exec --state DIR NAMESPACE/POD CMD [ARGS...]")
	}
	pod, err := podNamed(c, rest[0])
	if err != nil {
		return err
	}
	netnsPath := podNetnsName(s, pod)
	if pod.Spec.HostNetwork {
		netnsPath = netnsName(s, pod.Spec.NodeName)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", netnsPath)); err != nil {
		return fmt.Errorf("pod %s has no network namespace here (is the data plane on, and the pod running?)", rest[0])
	}
	return execIn(netnsPath, rest[1:])
}

// execIn runs a host command in a network namespace with this process's stdio, exiting with the
// command's own code when it fails.
func execIn(netns string, argv []string) error {
	cmd := exec.Command("ip", append([]string{"netns", "exec", netns}, argv...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			os.Exit(exit.ExitCode())
		}
		return err
	}
	return nil
}

// nodeExecCmd is `cluster node-exec --state DIR NODE CMD ARGS...`: runs a command of the host in
// a data-plane node's network namespace (its routes, its firewall, the traffic its pods send
// through it), as a shell on the node would. The tests break one node's network with it.
func nodeExecCmd(args []string) error {
	s, rest, _, err := stateArgs("node-exec", args)
	if err != nil {
		return err
	}
	if len(rest) < 2 {
		return fmt.Errorf("usage: cluster node-exec --state DIR NODE CMD [ARGS...]")
	}
	ns := netnsName(s, rest[0])
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
		return fmt.Errorf("node %s has no network namespace here (is the data plane on?)", rest[0])
	}
	return execIn(ns, rest[1:])
}

// stopCmd is `cluster stop --state DIR COMPONENT NODE`: stops one node's kube-proxy, kube-router
// or kube-network-policies, as a crashed or evicted DaemonSet pod leaves a node — what it
// programmed stays, what changes afterwards is not programmed there (a Service created next has
// no rules on that node). `load` then no longer waits for that node's kube-proxy.
func stopCmd(args []string) error {
	s, rest, _, err := stateArgs("stop", args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return fmt.Errorf("usage: cluster stop --state DIR COMPONENT NODE (COMPONENT: %s)", strings.Join(nodeComponents, ", "))
	}
	component, node := rest[0], rest[1]
	known := false
	for _, c := range nodeComponents {
		known = known || c == component
	}
	if !known {
		return fmt.Errorf("component %q: want one of %s", component, strings.Join(nodeComponents, ", "))
	}
	// The process runs `cluster COMPONENT --kubeconfig=DIR/COMPONENT.kubeconfig
	// --hostname-override=NODE …` (`ip netns exec` replaced itself with it).
	want := []string{component, "--kubeconfig=" + s.path(component+".kubeconfig"), "--hostname-override=" + node}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var stopped []int
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(argv) < 2 || argv[1] != component {
			continue
		}
		has := map[string]bool{}
		for _, a := range argv[1:] {
			has[a] = true
		}
		if !has[want[1]] || !has[want[2]] {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if syscall.Kill(pid, syscall.SIGTERM) == nil {
			stopped = append(stopped, pid)
		}
	}
	if len(stopped) == 0 {
		return fmt.Errorf("no %s runs for node %s in this cluster", component, node)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		alive := false
		for _, pid := range stopped {
			alive = alive || syscall.Kill(pid, 0) == nil
		}
		if !alive {
			break
		}
	}
	if err := os.MkdirAll(s.path("stopped"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(s.path("stopped", component+"-"+node), nil, 0o644)
}

// stoppedOn says whether `cluster stop` stopped a component on a node.
func stoppedOn(s *state, component, node string) bool {
	_, err := os.Stat(s.path("stopped", component+"-"+node))
	return err == nil
}

// freezeCmd is `cluster freeze --state DIR NAMESPACE/POD`: stops (SIGSTOP) every process of a
// data-plane pod's containers — a hung server: its sockets stay open and nothing answers. The
// lab's kubelet probes readiness when a container starts, not again, so the pod stays Ready,
// as it does in a real cluster until its readiness probe's failureThreshold has passed.
// `cluster freeze --thaw` sends SIGCONT.
func freezeCmd(args []string) error {
	sig := syscall.SIGSTOP
	var kept []string
	for _, a := range args {
		if a == "--thaw" {
			sig = syscall.SIGCONT
		} else {
			kept = append(kept, a)
		}
	}
	s, rest, c, err := stateArgs("freeze", kept)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("usage: cluster freeze [--thaw] --state DIR NAMESPACE/POD")
	}
	pod, err := podNamed(c, rest[0])
	if err != nil {
		return err
	}
	// A container's process names the pod's directory (CoreDNS's Corefile) or runs chrooted
	// into the pod's root (the agent's stand-in server).
	dir := s.path("pods", string(pod.UID))
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	n := 0
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		root, _ := os.Readlink(filepath.Join(filepath.Dir(p), "root"))
		if !strings.Contains(string(b), dir+"/") && root != filepath.Join(dir, "root") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if pid != os.Getpid() && syscall.Kill(pid, sig) == nil {
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("no process of pod %s runs here (is the data plane on?)", rest[0])
	}
	return nil
}

// podNamed reads the pod a NAMESPACE/POD argument names.
func podNamed(c *clients, arg string) (*corev1.Pod, error) {
	ns, name, ok := strings.Cut(arg, "/")
	if !ok {
		return nil, fmt.Errorf("pod %q: want NAMESPACE/POD", arg)
	}
	return c.kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
}
