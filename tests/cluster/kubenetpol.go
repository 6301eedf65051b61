package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

// runKubeNetworkPolicies is this binary's `kube-network-policies`: the SIG's reference
// NetworkPolicy enforcer (sigs.k8s.io/kube-network-policies, pkg/networkpolicy as its own
// cmd/main.go wires it, NetworkPolicy only), run by the node agent in each node's namespace
// (up --data-plane --enforcer). It sends the first packet of each connection to an nfqueue
// through an nftables `queue` rule and decides in userspace.
func runKubeNetworkPolicies(args []string) error {
	fs := flag.NewFlagSet("kube-network-policies", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "")
	node := fs.String("hostname-override", "", "")
	queue := fs.Int("nfqueue-id", 100, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	clientset, err := clientsetFor(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	factory := informers.NewSharedInformerFactory(clientset, 0)
	c, err := networkpolicy.NewController(
		clientset,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil,
		networkpolicy.Config{QueueID: *queue, NodeName: *node, NRIdisabled: true},
	)
	if err != nil {
		return fmt.Errorf("can not start the network policy controller: %w", err)
	}
	errs := make(chan error, 1)
	go func() { errs <- c.Run(ctx) }()
	factory.Start(ctx.Done())
	select {
	case err := <-errs:
		if err != nil {
			fmt.Fprintf(os.Stderr, "kube-network-policies: %v\n", err)
		}
		return err
	case <-ctx.Done():
		return nil
	}
}

// clientsetFor is a node component's client from its kubeconfig file.
func clientsetFor(kubeconfig string) (*kubernetes.Clientset, error) {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(config)
}
