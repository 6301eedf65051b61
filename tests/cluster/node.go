package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
)

// The node agent plays the kubelet for every node of the lab:
//   - nodes are registered (by `load`, for each node a pod is bound to, and "node-1" at `up`)
//     Ready, with an InternalIP, a podCIDR, capacity and the agent's kubelet endpoint;
//   - a pod bound to a node that has no status yet (the files' pods get theirs from `load`) is
//     run: the netdoctor agent (the probe Jobs' pods) from the probe image's root filesystem,
//     in the node's network namespace, which holds the pod's IP on a veth device whose peer leads nowhere and nothing
//     else, so no probe packet leaves the lab; any other image cannot be pulled here, and the
//     pod says so (ErrImagePull) as a kubelet would;
//   - the kubelet API's containerLogs endpoint serves what the containers printed (the API
//     server's pods/log proxies to it);
//   - a pod being deleted is confirmed at once (its process killed), as a kubelet does after the
//     grace period.

const defaultNode = "node-1"

func nodeIndex(ctx context.Context, c *clients) int {
	nodes, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 1
	}
	return len(nodes.Items) + 1
}

// registerNode creates a Ready node, as a kubelet registering itself would.
func registerNode(ctx context.Context, s *state, c *clients, name string) error {
	i := nodeIndex(ctx, c)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
			// Two zones, nodes alternating, as a cloud provider's labels would say.
			"topology.kubernetes.io/zone":   fmt.Sprintf("zone-%c", 'a'+(i+1)%2),
			"topology.kubernetes.io/region": "lab",
		}},
		Spec: corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.244.%d.0/24", i), PodCIDRs: []string{fmt.Sprintf("10.244.%d.0/24", i)}},
	}
	created, err := c.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("registering node %s: %w", name, err)
	}
	created.Status = nodeStatus(s, i)
	if _, err = c.kube.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return err
	}
	return liftNotReadyTaint(ctx, c, name)
}

// liftNotReadyTaint does for a Ready node what the node lifecycle controller (off here) does:
// the API server taints every new node node.kubernetes.io/not-ready:NoSchedule (the
// TaintNodesByCondition admission plugin), and the controller removes the taint once the node
// reports Ready. Without it the real scheduler places nothing ("had untolerated taint(s)").
func liftNotReadyTaint(ctx context.Context, c *clients, name string) error {
	for attempt := 0; ; attempt++ {
		node, err := c.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ready := false
		for _, cd := range node.Status.Conditions {
			if cd.Type == corev1.NodeReady && cd.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		var kept []corev1.Taint
		for _, t := range node.Spec.Taints {
			if t.Key != "node.kubernetes.io/not-ready" {
				kept = append(kept, t)
			}
		}
		if !ready || len(kept) == len(node.Spec.Taints) {
			return nil
		}
		node.Spec.Taints = kept
		_, err = c.kube.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		return err
	}
}

func nodeStatus(s *state, i int) corev1.NodeStatus {
	now := metav1.Now()
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	cond := func(t corev1.NodeConditionType, st corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: st, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return corev1.NodeStatus{
		Capacity: res, Allocatable: res,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.0.%d", 10+i)},
			// The API server reaches every node's kubelet API at the node agent (see
			// --kubelet-preferred-address-types in components.go).
			{Type: corev1.NodeHostName, Address: "localhost"},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(s.Ports.Kubelet)}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: "amd64",
			ContainerRuntimeVersion: "netdoctor-node-agent://1", KernelVersion: "lab",
		},
	}
}

// waitReady waits until the API server serves the default ServiceAccount machinery and node-1
// is registered Ready.
func waitReady(ctx context.Context, s *state, c *clients) error {
	if err := registerNode(ctx, s, c, defaultNode); err != nil {
		return err
	}
	for {
		sa, err := c.kube.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err == nil && sa != nil {
			return nil
		}
		if err := s.crashed(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the default ServiceAccount never appeared (is kube-controller-manager running?)\n%s", s.tail("kube-controller-manager"))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type nodeAgent struct {
	s         *state
	c         *clients
	agentRoot string
	mu        sync.Mutex
	running   map[string]*exec.Cmd // by pod uid/container name
	nextIP    map[string]int
	wired     map[string]wiredNode // nodes whose namespace the data plane has connected
	// The API server forwarders' listeners, by node namespace (closed when the node goes).
	forwarders map[string]net.Listener
	fwdMu      sync.Mutex
}

func runNodeAgent(args []string) error {
	fs := flag.NewFlagSet("node-agent", flag.ContinueOnError)
	dir := fs.String("state", "", "")
	root := fs.String("agent-root", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := openState(*dir)
	if err != nil {
		return err
	}
	c, err := s.clientAs("node-agent.kubeconfig")
	if err != nil {
		return err
	}
	a := &nodeAgent{s: s, c: c, agentRoot: *root, running: map[string]*exec.Cmd{}, nextIP: map[string]int{}, wired: map[string]wiredNode{}, forwarders: map[string]net.Listener{}}
	go a.serveKubeletAPI()
	ctx := context.Background()
	go a.heartbeat(ctx)

	// `down` stops the agent with SIGTERM: what it runs (pods' processes, kube-proxy) goes too.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		a.killAll()
		os.Exit(0)
	}()
	factory := informers.NewSharedInformerFactory(c.kube, 0)
	pods := factory.Core().V1().Pods()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	enqueue := func(obj interface{}) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o interface{}) { enqueue(o) }, DeleteFunc: enqueue,
	})
	if dataPlaneOn(s) {
		// Every node gets its namespace, routes and kube-proxy as it appears, pods or not
		// (a probe lands on any node).
		wire := func(obj interface{}) {
			if n, ok := obj.(*corev1.Node); ok {
				if ip, cidr := nodeAddress(n); ip != "" && cidr != "" {
					if _, err := a.nodeNetns(n.Name); err != nil {
						fmt.Fprintf(os.Stderr, "node %s: %v\n", n.Name, err)
					}
				}
			}
		}
		factory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: wire, UpdateFunc: func(_, o interface{}) { wire(o) },
			DeleteFunc: func(o interface{}) {
				if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
					o = t.Obj
				}
				if n, ok := o.(*corev1.Node); ok {
					a.unwireNode(n)
				}
			},
		})
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	fmt.Println("node agent ready")
	for i := 0; i < 4; i++ {
		go func() {
			for {
				key, quit := queue.Get()
				if quit {
					return
				}
				ns, name, _ := cache.SplitMetaNamespaceKey(key)
				pod, err := pods.Lister().Pods(ns).Get(name)
				if err == nil {
					err = a.sync(ctx, pod.DeepCopy())
				} else if apierrors.IsNotFound(err) {
					err = nil
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "pod %s: %v\n", key, err)
					queue.AddRateLimited(key)
				} else {
					queue.Forget(key)
				}
				queue.Done(key)
			}
		}()
	}
	select {}
}

func (a *nodeAgent) heartbeat(ctx context.Context) {
	for range time.Tick(20 * time.Second) {
		nodes, err := a.c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for i := range nodes.Items {
			n := &nodes.Items[i]
			if n.Status.NodeInfo.ContainerRuntimeVersion != "netdoctor-node-agent://1" {
				continue // a file's node: its status stays as the file wrote it
			}
			for j := range n.Status.Conditions {
				n.Status.Conditions[j].LastHeartbeatTime = metav1.Now()
			}
			a.c.kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		}
	}
}

func (a *nodeAgent) sync(ctx context.Context, pod *corev1.Pod) error {
	if pod.Spec.NodeName == "" {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		a.kill(pod.UID)
		if dataPlaneOn(a.s) {
			a.cniRelease(pod)
		}
		os.RemoveAll(a.s.path("pods", string(pod.UID)))
		zero := int64(0)
		err := a.c.kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	for _, ec := range pod.Spec.EphemeralContainers {
		if err := a.syncEphemeral(ctx, pod, ec); err != nil {
			return err
		}
	}
	if _, err := os.Stat(a.s.path("given-status", pod.Namespace+"_"+pod.Name)); err == nil {
		return nil
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || len(pod.Status.ContainerStatuses) > 0 {
		return nil
	}
	if a.busy(pod.UID, "") {
		return nil
	}
	return a.start(ctx, pod)
}

func runKey(uid types.UID, container string) string { return string(uid) + "/" + container }

// busy says whether a container of the pod runs (any, when container is "").
func (a *nodeAgent) busy(uid types.UID, container string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.running {
		if k == runKey(uid, container) || (container == "" && strings.HasPrefix(k, string(uid)+"/")) {
			return true
		}
	}
	return false
}

// killAll kills every process the agent started, each in its own process group.
func (a *nodeAgent) killAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, cmd := range a.running {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

func (a *nodeAgent) kill(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, cmd := range a.running {
		if strings.HasPrefix(k, string(uid)+"/") && cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

// isAgent says whether the container runs the netdoctor agent, the one program this node agent
// can run.
func isAgent(command, args []string) bool {
	return len(command) > 0 && command[0] == "kubectl-netdoctor" && len(args) > 0 && args[0] == "agent"
}

// launch starts a container's process: the agent from the pod's root filesystem, in netns, its
// output in the container's log (what containerLogs serves). done is called with its exit code.
func (a *nodeAgent) launch(pod *corev1.Pod, name string, args []string, sc *corev1.SecurityContext, netns, ip string, done func(code int)) error {
	root, err := a.podRoot(pod, ip)
	if err != nil {
		return err
	}
	// A container has /proc, as a runtime mounts it: a procfs in a mount namespace of the
	// process's own (gone with it), so /proc/net shows the pod's sockets (`agent --sockets`).
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o555); err != nil {
		return err
	}
	argv := []string{"netns", "exec", netns, "unshare", "--mount-proc=" + filepath.Join(root, "proc"), "chroot"}
	argv = append(argv, chrootUser(pod, sc)...)
	argv = append(argv, root, "/usr/local/bin/kubectl-netdoctor")
	argv = append(argv, args...)
	cmd := exec.Command("ip", argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return a.run(pod, name, cmd, done)
}

// run starts a container's process, its output in the container's log (what containerLogs
// serves), tracked for kill; done is called with its exit code.
func (a *nodeAgent) run(pod *corev1.Pod, name string, cmd *exec.Cmd, done func(code int)) error {
	logf, err := os.Create(a.s.path("podlogs", pod.Namespace+"_"+pod.Name+"_"+name+".log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	key := runKey(pod.UID, name)
	a.mu.Lock()
	a.running[key] = cmd
	a.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			if code = ee.ExitCode(); code < 0 {
				code = 137 // killed
			}
		} else if err != nil {
			code = 128
		}
		done(code)
		a.mu.Lock()
		delete(a.running, key)
		a.mu.Unlock()
	}()
	return nil
}

func (a *nodeAgent) start(ctx context.Context, pod *corev1.Pod) error {
	agent := len(pod.Spec.Containers) == 1 && isAgent(pod.Spec.Containers[0].Command, pod.Spec.Containers[0].Args)
	if dataPlaneOn(a.s) && !agent {
		return a.serve(ctx, pod)
	}
	if len(pod.Spec.Containers) != 1 || !isAgent(pod.Spec.Containers[0].Command, pod.Spec.Containers[0].Args) || a.agentRoot == "" {
		why := "the test cluster's node agent runs only the netdoctor agent (kubectl-netdoctor agent …)"
		if a.agentRoot == "" {
			why = "the test cluster was started without --agent-root: no image can be run"
		}
		return a.waiting(ctx, pod, "ErrImagePull", why)
	}
	c := pod.Spec.Containers[0]
	netns, ip, err := a.podNetwork(pod)
	if err != nil {
		return a.waiting(ctx, pod, "CreateContainerError", err.Error())
	}
	started := metav1.Now()
	ns, name, uid := pod.Namespace, pod.Name, pod.UID
	err = a.launch(pod, c.Name, c.Args, c.SecurityContext, netns, ip, func(code int) {
		a.finish(ns, name, uid, c, started, code)
	})
	if err != nil {
		return a.waiting(ctx, pod, "RunContainerError", err.Error())
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	pod.Status.StartTime = &started
	pod.Status.Conditions = podConditions(corev1.ConditionTrue, corev1.ConditionFalse)
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: c.Name, Image: c.Image, ImageID: c.Image, Started: boolPtr(true),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
	}}
	if _, err := a.c.kube.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		a.kill(pod.UID)
		return err
	}
	return nil
}

// syncEphemeral runs an ephemeral container the pod's spec gained (capture's) and has no
// status for yet, in the pod's network namespace — the node's, in this lab — and reports its
// state in ephemeralContainerStatuses, as a kubelet does.
func (a *nodeAgent) syncEphemeral(ctx context.Context, pod *corev1.Pod, ec corev1.EphemeralContainer) error {
	for _, st := range pod.Status.EphemeralContainerStatuses {
		if st.Name == ec.Name {
			return nil
		}
	}
	if a.busy(pod.UID, ec.Name) {
		return nil
	}
	state := func(s corev1.ContainerState) error {
		return a.ephemeralStatus(ctx, pod.Namespace, pod.Name, pod.UID, corev1.ContainerStatus{
			Name: ec.Name, Image: ec.Image, ImageID: ec.Image, State: s,
		})
	}
	if !isAgent(ec.Command, ec.Args) || a.agentRoot == "" {
		return state(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "ErrImagePull", Message: "the test cluster's node agent runs only the netdoctor agent",
		}})
	}
	netns, err := a.nodeNetns(pod.Spec.NodeName)
	if dataPlaneOn(a.s) {
		netns = podNetnsName(a.s, pod) // the pod's own, as its containers'
	}
	if err != nil {
		return state(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: err.Error()}})
	}
	started := metav1.Now()
	ns, name, uid := pod.Namespace, pod.Name, pod.UID
	err = a.launch(pod, ec.Name, ec.Args, ec.SecurityContext, netns, pod.Status.PodIP, func(code int) {
		reason := "Completed"
		if code != 0 {
			reason = "Error"
		}
		a.ephemeralStatus(context.Background(), ns, name, uid, corev1.ContainerStatus{
			Name: ec.Name, Image: ec.Image, ImageID: ec.Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: metav1.Now(),
			}},
		})
	})
	if err != nil {
		return state(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}})
	}
	return state(corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}})
}

// ephemeralStatus sets one ephemeral container's status on the pod.
func (a *nodeAgent) ephemeralStatus(ctx context.Context, ns, name string, uid types.UID, st corev1.ContainerStatus) error {
	for attempt := 0; ; attempt++ {
		pod, err := a.c.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || pod.UID != uid {
			return nil
		}
		kept := []corev1.ContainerStatus{st}
		for _, old := range pod.Status.EphemeralContainerStatuses {
			if old.Name != st.Name {
				kept = append(kept, old)
			}
		}
		pod.Status.EphemeralContainerStatuses = kept
		_, err = a.c.kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && attempt < 10 {
			continue
		}
		return err
	}
}

func boolPtr(b bool) *bool { return &b }

func podConditions(initialized, ready corev1.ConditionStatus) []corev1.PodCondition {
	now := metav1.Now()
	return []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: initialized, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: ready, LastTransitionTime: now},
	}
}

// finish writes the terminated container's status, as a kubelet does when it exits.
func (a *nodeAgent) finish(ns, name string, uid types.UID, c corev1.Container, started metav1.Time, code int) {
	ctx := context.Background()
	for attempt := 0; attempt < 10; attempt++ {
		pod, err := a.c.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || pod.UID != uid {
			return
		}
		reason, phase := "Completed", corev1.PodSucceeded
		if code != 0 {
			reason, phase = "Error", corev1.PodFailed
		}
		if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
			phase = corev1.PodRunning
		}
		pod.Status.Phase = phase
		pod.Status.Conditions = podConditions(corev1.ConditionTrue, corev1.ConditionFalse)
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Started: boolPtr(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: metav1.Now(),
			}},
		}}
		_, err = a.c.kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) {
			return
		}
	}
}

// waiting reports a container that cannot start.
func (a *nodeAgent) waiting(ctx context.Context, pod *corev1.Pod, reason, message string) error {
	pod.Status.Phase = corev1.PodPending
	pod.Status.Conditions = podConditions(corev1.ConditionTrue, corev1.ConditionFalse)
	var statuses []corev1.ContainerStatus
	for _, c := range pod.Spec.Containers {
		statuses = append(statuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Started: boolPtr(false),
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}},
		})
	}
	pod.Status.ContainerStatuses = statuses
	_, err := a.c.kube.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

// podRoot is the container's root filesystem: the probe image's files (hard links, as a
// snapshotter would share them) plus the /etc/resolv.conf and /etc/hosts a kubelet writes for
// dnsPolicy ClusterFirst (the cluster DNS Service at 10.96.0.10, the pod's search path).
func (a *nodeAgent) podRoot(pod *corev1.Pod, ip string) (string, error) {
	root := a.s.path("pods", string(pod.UID), "root")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		return "", err
	}
	err := filepath.Walk(a.agentRoot, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.agentRoot, p)
		dst := filepath.Join(root, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, info.Mode().Perm()|0o111)
		}
		if err := os.Link(p, dst); err != nil && !os.IsExist(err) {
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				return rerr
			}
			return os.WriteFile(dst, b, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("preparing the container's root filesystem: %w", err)
	}
	resolv := fmt.Sprintf("search %s.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n", pod.Namespace)
	if pod.Spec.DNSPolicy == corev1.DNSDefault || (pod.Spec.HostNetwork && pod.Spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet) {
		resolv = "nameserver 127.0.0.53\n"
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), []byte(resolv), 0o644); err != nil {
		return "", err
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n%s\t%s\n", ip, pod.Name)
	return root, os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte(hosts), 0o644)
}

// chrootUser is chroot's --userspec for the container's runAsUser (the probe's restricted rung
// runs non-root).
func chrootUser(pod *corev1.Pod, sc *corev1.SecurityContext) []string {
	var uid *int64
	if pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.RunAsUser != nil {
		uid = pod.Spec.SecurityContext.RunAsUser
	}
	if sc != nil && sc.RunAsUser != nil {
		uid = sc.RunAsUser
	}
	if uid == nil || *uid == 0 {
		return nil
	}
	u := strconv.FormatInt(*uid, 10)
	return []string{"--userspec=" + u + ":" + u}
}

// netnsName is the node's network namespace, unique to this state directory.
func netnsName(s *state, node string) string {
	h := sha256.Sum256([]byte(s.dir))
	n := "ndc-" + hex.EncodeToString(h[:3]) + "-" + node
	if len(n) > 60 {
		n = n[:60]
	}
	return n
}

// podNetwork gives the pod an IP from its node's podCIDR on a veth device in the node's
// network namespace (created on first use): packets to other pod IPs go nowhere, packets
// elsewhere find no route, none leaves the machine.
func (a *nodeAgent) podNetwork(pod *corev1.Pod) (string, string, error) {
	if dataPlaneOn(a.s) {
		return a.cniPodNetwork(pod)
	}
	node, err := a.c.kube.CoreV1().Nodes().Get(context.Background(), pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	cidr := node.Spec.PodCIDR
	if cidr == "" {
		cidr = "10.244.250.0/24"
	}
	ns, err := a.nodeNetns(pod.Spec.NodeName)
	if err != nil {
		return "", "", err
	}
	a.mu.Lock()
	a.nextIP[ns]++
	ip := fmt.Sprintf("%s%d", strings.TrimSuffix(cidr, "0/24"), 1+a.nextIP[ns])
	a.mu.Unlock()
	if out, err := exec.Command("ip", "-n", ns, "addr", "add", ip+"/24", "dev", "eth0").CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("ip addr add %s: %s", ip, out)
	}
	return ns, ip, nil
}

// nodeNetns is the node's network namespace, made on first use: loopback, and an eth0 (a veth
// pair whose both ends stay in the namespace) for the pods' addresses — what is sent to a
// neighbour finds nobody on the other end, and nothing has a route off the machine.
func (a *nodeAgent) nodeNetns(node string) (string, error) {
	ns := netnsName(a.s, node)
	a.mu.Lock()
	defer a.mu.Unlock()
	if dataPlaneOn(a.s) {
		n, err := a.c.kube.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if w, ok := a.wired[node]; ok {
			if w.uid == n.UID {
				return ns, nil
			}
			// Deleted and registered again (its delete event may not have been handled yet).
			a.unwireLocked(node, w)
		}
		if ip, cidr := nodeAddress(n); ip == "" || cidr == "" {
			// Registered, its status not written yet: wired at its next update.
			return "", fmt.Errorf("node %s has no InternalIP or podCIDR yet", node)
		}
		if err := ensureNetns(a.s, ns); err != nil {
			return "", err
		}
		if err := a.wireNode(ns, n); err != nil {
			return "", err
		}
		_, cidr := nodeAddress(n)
		a.wired[node] = wiredNode{uid: n.UID, cidr: cidr}
		return ns, nil
	}
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
		return ns, nil
	}
	for _, argv := range [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "nowhere0"},
		{"-n", ns, "link", "set", "nowhere0", "up"},
		{"-n", ns, "link", "set", "eth0", "up"},
	} {
		if out, err := exec.Command("ip", argv...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("ip %s: %s", strings.Join(argv, " "), out)
		}
	}
	return ns, os.WriteFile(a.s.path("netns-"+ns), nil, 0o644)
}

func removeNetns(s *state) error {
	matches, _ := filepath.Glob(s.path("netns-*"))
	for _, m := range matches {
		ns := strings.TrimPrefix(filepath.Base(m), "netns-")
		exec.Command("ip", "netns", "delete", ns).Run()
		os.Remove(m)
	}
	return nil
}

// serveKubeletAPI answers the API server's pods/log requests from the containers' output.
func (a *nodeAgent) serveKubeletAPI() {
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
		if len(parts) != 3 {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(a.s.path("podlogs", parts[0]+"_"+parts[1]+"_"+parts[2]+".log"))
		if err != nil {
			http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start", parts[2], parts[1]), http.StatusBadRequest)
			return
		}
		if lb := r.URL.Query().Get("limitBytes"); lb != "" {
			if n, err := strconv.Atoi(lb); err == nil && n < len(b) {
				b = b[:n]
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(b)
	})
	p := pki{a.s.dir}
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", a.s.Ports.Kubelet), Handler: mux}
	if err := srv.ListenAndServeTLS(p.path("kubelet.crt"), p.path("kubelet.key")); err != nil {
		fmt.Fprintln(os.Stderr, "kubelet API:", err)
		os.Exit(1)
	}
}

// kubectlCmd runs the real kubectl of this Kubernetes release against the cluster.
func kubectlCmd(args []string) error {
	if len(args) < 2 || args[0] != "--state" {
		return fmt.Errorf("usage: cluster kubectl --state DIR ARGS...")
	}
	s, err := openState(args[1])
	if err != nil {
		return err
	}
	os.Setenv("KUBECONFIG", s.path("kubeconfig"))
	cmd := kubectlcmd.NewDefaultKubectlCommand()
	cmd.SetArgs(args[2:])
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
	return nil
}
