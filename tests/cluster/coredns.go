package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CoreDNS (github.com/coredns/coredns, as a library: the plugins of kubeadm's Corefile that need
// nothing outside the lab) is the data plane's cluster DNS: the node agent runs it for every pod
// whose image is CoreDNS's, in that pod's network namespace, answering for cluster.local from the
// API server. `up --data-plane` creates the kube-dns Service (10.96.0.10, the address every pod's
// resolv.conf names) and one CoreDNS pod, as kubeadm does.

const (
	clusterDNS   = "10.96.0.10"
	corednsImage = "registry.k8s.io/coredns/coredns:v1.15.0"
)

// runCoreDNS is this binary's `coredns -conf FILE`.
func runCoreDNS(args []string) {
	dnsserver.Directives = []string{"errors", "health", "ready", "kubernetes", "cache"}
	os.Args = append([]string{"coredns"}, args...)
	coremain.Run()
}

// isCoreDNS says whether a container runs CoreDNS's image (any version).
func isCoreDNS(c corev1.Container) bool {
	img := c.Image
	if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
		img = img[:i] // the tag
	}
	return img == "registry.k8s.io/coredns/coredns" || img == "coredns/coredns" || img == "registry.k8s.io/coredns"
}

const corefile = `.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
}
`

// startCoreDNS runs CoreDNS for a pod's container in the pod's namespace (with the API server
// spliced in, as for kube-proxy).
func (a *nodeAgent) startCoreDNS(pod *corev1.Pod, c corev1.Container, podNs string, done func(code int)) error {
	if err := a.forwardAPIServer(podNs); err != nil {
		return err
	}
	conf := a.s.path("pods", string(pod.UID), "Corefile")
	if err := os.MkdirAll(a.s.path("pods", string(pod.UID)), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(corefile, a.s.path("coredns.kubeconfig"))), 0o644); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", "netns", "exec", podNs, self, "coredns", "-conf", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return a.run(pod, c.Name, cmd, done)
}

// installClusterDNS creates what kubeadm's CoreDNS addon does: the ClusterRole CoreDNS reads
// with, bound to its user, the kube-dns Service and one CoreDNS pod (on node-1).
func installClusterDNS(ctx context.Context, c *clients) error {
	k := c.kube
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "system:coredns"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "system:coredns"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:coredns"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "system:coredns"}},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: clusterDNS,
			Selector:  map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
			},
		},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns-lab", Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.PodSpec{
			NodeName:    defaultNode,
			DNSPolicy:   corev1.DNSDefault,
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name: "coredns", Image: corednsImage,
				Args: []string{"-conf", "/etc/coredns/Corefile"},
				Ports: []corev1.ContainerPort{
					{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
					{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8181)},
				}},
			}},
		},
	}
	// kube-network-policies reads what its install.yaml's ClusterRole grants.
	enforcerRole := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "system:kube-network-policies"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "nodes"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list", "watch"}},
		},
	}
	enforcerBinding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "system:kube-network-policies"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:kube-network-policies"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "system:kube-network-policies"}},
	}
	// kube-router's ClusterRole (daemonset/generic-kuberouter-only-advertise-routes.yaml and the
	// others) as far as its netpol controller reads: it gets its own Node at start.
	routerRole := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "system:kube-router"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "nodes"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list", "watch"}},
		},
	}
	routerBinding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "system:kube-router"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:kube-router"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "system:kube-router"}},
	}
	for _, r := range []*rbacv1.ClusterRole{role, enforcerRole, routerRole} {
		if _, err := k.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	for _, b := range []*rbacv1.ClusterRoleBinding{binding, enforcerBinding, routerBinding} {
		if _, err := k.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	if _, err := k.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if _, err := k.CoreV1().Pods("kube-system").Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
