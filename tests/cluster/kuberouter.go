package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol"
	"github.com/cloudnativelabs/kube-router/v2/pkg/healthcheck"
	"github.com/cloudnativelabs/kube-router/v2/pkg/options"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// runKubeRouter is this binary's `kube-router`: the NetworkPolicy controller of kube-router
// (github.com/cloudnativelabs/kube-router/v2, pkg/controllers/netpol — the enforcer k3s embeds),
// wired as kube-router's own pkg/cmd wires it with --run-firewall alone, run by the node agent in
// each node's namespace (up --data-plane --enforcer=kube-router). It programs iptables filter
// chains per local pod and ipsets of the pods and CIDRs a policy names (the iptables, ipset and
// iptables-save/-restore commands, on this kernel's xt_set, physdev and conntrack matches).
//
// Only the netpol package and what it imports are built: the advisory on v2.1.0
// (GHSA-phqm-jgc3-qf8g) concerns the proxy module's externalIPs, which is not compiled in.
func runKubeRouter(args []string) error {
	fs := flag.NewFlagSet("kube-router", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "")
	node := fs.String("hostname-override", "", "")
	serviceRange := fs.String("service-cluster-ip-range", serviceCIDR, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	clientset, err := clientsetFor(*kubeconfig)
	if err != nil {
		return err
	}
	config := options.NewKubeRouterConfig()
	config.HostnameOverride = *node
	config.ClusterIPCIDRs = []string{*serviceRange}
	config.EnableIPv4, config.EnableIPv6 = true, false
	config.RunFirewall = true
	// kube-router resyncs on every pod, namespace and policy event; the period is its safety net.
	config.IPTablesSyncPeriod = time.Minute

	stop := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sigs; close(stop) }()

	// The controller reports heartbeats; kube-router's health controller drains them.
	health := make(chan *healthcheck.ControllerHeartbeat, 10)
	go func() {
		for range health {
		}
	}()

	factory := informers.NewSharedInformerFactory(clientset, 0)
	pods := factory.Core().V1().Pods().Informer()
	namespaces := factory.Core().V1().Namespaces().Informer()
	policies := factory.Networking().V1().NetworkPolicies().Informer()
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, pods.HasSynced, namespaces.HasSynced, policies.HasSynced) {
		return fmt.Errorf("informer caches did not sync")
	}

	iptablesHandlers, ipsetHandlers, err := netpol.NewIPTablesHandlers(config)
	if err != nil {
		return err
	}
	var ipsetMutex sync.Mutex
	npc, err := netpol.NewNetworkPolicyController(clientset, config, pods, policies, namespaces,
		&ipsetMutex, iptablesHandlers, ipsetHandlers)
	if err != nil {
		return fmt.Errorf("can not start the network policy controller: %w", err)
	}
	for _, h := range []struct {
		informer cache.SharedIndexInformer
		handler  cache.ResourceEventHandler
	}{
		{pods, npc.PodEventHandler}, {namespaces, npc.NamespaceEventHandler}, {policies, npc.NetworkPolicyEventHandler},
	} {
		if _, err := h.informer.AddEventHandler(h.handler); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go npc.Run(health, stop, &wg)
	wg.Wait()
	return nil
}
