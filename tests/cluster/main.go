// Command cluster is kubectl-netdoctor's test cluster: a real control plane built from
// Kubernetes' own Go modules (etcd embedded, kube-apiserver, kube-controller-manager with the
// controllers that make a Service's data real, kube-scheduler) and a node agent that plays the
// kubelet for the lab's nodes. It is one binary; `up` starts each component as a process of its
// own (this binary again, with the component's name as the first argument), so every component
// parses its real flags and owns its process-wide state, as in a real cluster.
//
//	cluster up   --state DIR [--load MANIFESTS_DIR]...   start, wait until Ready, print DIR/kubeconfig
//	cluster load --state DIR MANIFESTS_DIR...            add a folder of manifests
//	cluster reset --state DIR                            delete what `load` created
//	cluster down --state DIR                             stop everything `up` started
//	cluster pod-exec --state DIR NS/POD CMD...           run CMD in a pod's network namespace
//	cluster node-exec --state DIR NODE CMD...            run CMD in a node's network namespace
//	cluster stop --state DIR COMPONENT NODE              stop one node's kube-proxy or enforcer
//	cluster freeze [--thaw] --state DIR NS/POD           hang (SIGSTOP) a data-plane pod
//
// Nothing here ships: it exists for the product's tests.
package main

import (
	"fmt"
	"os"

	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

const usage = `usage:
  cluster up    --state DIR [--load MANIFESTS_DIR]... [--agent-root DIR]
                [--data-plane [--proxy-mode nftables|iptables]
                              [--enforcer kube-router|kube-network-policies]]
  cluster load  --state DIR MANIFESTS_DIR...
  cluster reset --state DIR
  cluster down  --state DIR
  cluster kubectl --state DIR ARGS...   (the real kubectl of this release, on DIR/kubeconfig)
  cluster pod-exec --state DIR NAMESPACE/POD CMD [ARGS...]   (in the pod's network namespace)
  cluster node-exec --state DIR NODE CMD [ARGS...]   (in the node's network namespace)
  cluster stop  --state DIR kube-proxy|kube-router|kube-network-policies NODE   (one node's, as a crashed DaemonSet pod)
  cluster freeze [--thaw] --state DIR NAMESPACE/POD   (SIGSTOP a data-plane pod's processes: a hung server)`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	// The components, run by `up` as processes of their own.
	case "etcd":
		err = runEtcd(args)
	case "kube-apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-controller-manager":
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-scheduler":
		cmd := scheduler.NewSchedulerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-proxy":
		// Run by the node agent in each node's network namespace (up --data-plane).
		cmd := proxy.NewProxyCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-network-policies":
		// Run by the node agent in each node's namespace (up --data-plane --enforcer=kube-network-policies).
		err = runKubeNetworkPolicies(args)
	case "kube-router":
		// Run by the node agent in each node's namespace (up --data-plane --enforcer=kube-router).
		err = runKubeRouter(args)
	case "coredns":
		// Run by the node agent for CoreDNS's pods (up --data-plane).
		runCoreDNS(args)
	case "node-agent":
		err = runNodeAgent(args)
	// What people and tests call.
	case "up":
		err = up(args)
	case "down":
		err = down(args)
	case "load":
		err = loadCmd(args)
	case "reset":
		err = resetCmd(args)
	case "kubectl":
		err = kubectlCmd(args)
	case "pod-exec":
		err = podExecCmd(args)
	case "node-exec":
		err = nodeExecCmd(args)
	case "stop":
		err = stopCmd(args)
	case "freeze":
		err = freezeCmd(args)
	case "-h", "--help", "help":
		fmt.Println(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "cluster: unknown command %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
