package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// clients are what the loader, the reset and the node agent talk to the API server with.
type clients struct {
	kube    kubernetes.Interface
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	config  *rest.Config
}

func (s *state) clientAs(kubeconfig string) (*clients, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.path(kubeconfig))
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 500, 1000
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return &clients{kube, dyn, mapper, cfg}, nil
}

func (s *state) client() (*clients, error) { return s.clientAs("kubeconfig") }

// object is one manifest document and where it came from.
type object struct {
	u      *unstructured.Unstructured
	status map[string]interface{}
	from   string
}

func (o object) key() string {
	return o.u.GetKind() + " " + o.u.GetNamespace() + "/" + o.u.GetName()
}

// readFolder reads every YAML and JSON document under dir (files directly in it, sorted). Files
// without a Kubernetes object (expect.yaml beside a scenario's manifests) are skipped; `kind: List`
// is unrolled.
func readFolder(dir string) ([]object, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []object
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")) {
			continue
		}
		docs, err := readFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	return out, nil
}

// readFile reads the documents of one file; none when it holds no Kubernetes object (a
// document without a kind).
func readFile(path string) ([]object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var docs []object
	for i := 1; ; i++ {
		var m map[string]interface{}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s (document %d): %w", path, i, err)
		}
		if m == nil {
			continue
		}
		if _, ok := m["kind"]; !ok {
			return nil, nil
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("%s (document %d): %w", path, i, err)
			}
			for j := range list.Items {
				docs = append(docs, split(&list.Items[j], fmt.Sprintf("%s#%d.%d", path, i, j)))
			}
			continue
		}
		docs = append(docs, split(u, fmt.Sprintf("%s#%d", path, i)))
	}
	return docs, nil
}

// split takes the status off an object: the spec goes through apply, the status through the
// status subresource afterwards, as the object's controller or kubelet would write it.
func split(u *unstructured.Unstructured, from string) object {
	st, _, _ := unstructured.NestedMap(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "status")
	// What the server owns.
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	return object{u: u, status: st, from: from}
}

// rank orders objects so that what others need exists first: namespaces and CRDs, then
// cluster-wide objects, then owners before what they own. Within a rank the files' order holds
// (files by name, documents in order): that is how a folder says what was created first where
// admission makes it matter — an Ingress created before its IngressClass was marked default
// keeps no class (the DefaultIngressClass admission plugin fills it on create only), so
// IngressClasses take the files' order too.
func rank(o object) int {
	switch o.u.GetKind() {
	case "Namespace", "CustomResourceDefinition":
		return 0
	case "Node", "ClusterRole", "ClusterRoleBinding", "PriorityClass":
		return 1
	case "ServiceAccount", "ConfigMap", "Secret", "Role", "RoleBinding":
		return 2
	case "Deployment", "StatefulSet", "DaemonSet", "CronJob":
		return 3
	case "ReplicaSet", "Job":
		return 4
	case "Service":
		return 5
	case "Pod":
		return 7
	case "EndpointSlice", "Event":
		return 8
	}
	return 6
}

// loaded is what `load` created, for `reset`.
type loaded struct {
	Namespaces []string    `json:"namespaces"`
	Objects    []loadedObj `json:"objects"`
}

type loadedObj struct {
	Group, Version, Resource, Namespace, Name string
}

func loadCmd(args []string) error {
	s, dirs, c, err := stateArgs("load", args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return errors.New("name a folder of manifests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, d := range dirs {
		if err := load(ctx, s, c, d); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	return nil
}

// systemNamespaces exist in every cluster; load never creates or deletes them.
var systemNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}

// load applies a folder of manifests as `kubectl apply --server-side` does, then writes each
// object's status from the file, then waits until the EndpointSlice controller has caught up with
// the pods.
func load(ctx context.Context, s *state, c *clients, dir string) error {
	objs, err := readFolder(dir)
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		return fmt.Errorf("no Kubernetes objects in %s", dir)
	}
	objs = append(objs, missingReplicaSets(objs)...)
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
	var rec loaded
	readLoaded(s, &rec)
	defer writeLoaded(s, &rec)

	// Namespaces the objects live in, created when no file declares them (as a person would
	// before applying).
	declared := map[string]bool{}
	for _, o := range objs {
		if o.u.GetKind() == "Namespace" {
			declared[o.u.GetName()] = true
		}
	}
	for _, o := range objs {
		ns := o.u.GetNamespace()
		if ns == "" || declared[ns] || systemNamespaces[ns] {
			continue
		}
		declared[ns] = true
		nsObj := &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]interface{}{"name": ns},
		}}
		objs = append([]object{{u: nsObj, from: "(namespace of " + o.from + ")"}}, objs...)
	}

	// The nodes pods are bound to, registered as their kubelets would have.
	nodes := map[string]bool{}
	for _, o := range objs {
		if o.u.GetKind() == "Node" {
			nodes[o.u.GetName()] = true
		}
	}
	for _, o := range objs {
		if o.u.GetKind() != "Pod" {
			continue
		}
		if n, _, _ := unstructured.NestedString(o.u.Object, "spec", "nodeName"); n != "" && !nodes[n] {
			nodes[n] = true
			if err := registerNode(ctx, s, c, n); err != nil {
				return err
			}
			rec.Objects = append(rec.Objects, loadedObj{"", "v1", "nodes", "", n})
		}
	}

	// Services with a selector get their EndpointSlices from the controller, not the file.
	selectorServices := map[string]bool{}
	for _, o := range objs {
		if o.u.GetKind() == "Service" {
			if sel, _, _ := unstructured.NestedStringMap(o.u.Object, "spec", "selector"); len(sel) > 0 {
				selectorServices[o.u.GetNamespace()+"/"+o.u.GetName()] = true
			}
		}
	}

	l := &loader{s: s, c: c, rec: &rec, uids: map[string]types.UID{}}
	crdCreated := false
	for i := 0; i < len(objs); i++ {
		o := objs[i]
		if o.u.GetKind() == "EndpointSlice" {
			svc := o.u.GetLabels()["kubernetes.io/service-name"]
			if selectorServices[o.u.GetNamespace()+"/"+svc] {
				continue
			}
		}
		if rank(o) > 0 && crdCreated {
			c.mapper.Reset()
			crdCreated = false
		}
		if o.u.GetKind() == "Pod" {
			// Pods need nothing of each other: applied sixteen at a time (a scale fixture
			// holds thousands).
			j := i
			for j < len(objs) && objs[j].u.GetKind() == "Pod" {
				j++
			}
			if err := l.parallel(ctx, objs[i:j], 16); err != nil {
				return err
			}
			i = j - 1
			continue
		}
		if err := l.one(ctx, o); err != nil {
			return err
		}
		crdCreated = crdCreated || o.u.GetKind() == "CustomResourceDefinition"
	}
	if dataPlaneOn(s) {
		if err := waitPodsStarted(ctx, c, objs); err != nil {
			return err
		}
	}
	if err := waitEndpointSlices(ctx, c, objs, selectorServices); err != nil {
		return err
	}
	if dataPlaneOn(s) {
		return waitProxyRules(ctx, s, c, objs)
	}
	return nil
}

// waitProxyRules waits, with the data plane, until kube-proxy on every node has programmed a
// rule for each loaded Service's ClusterIP (it syncs asynchronously after the EndpointSlices
// settle): a run right after `load` meets the proxy rules a settled cluster has.
func waitProxyRules(ctx context.Context, s *state, c *clients, objs []object) error {
	var ips []string
	for _, o := range objs {
		if o.u.GetKind() != "Service" {
			continue
		}
		svc, err := c.kube.CoreV1().Services(o.u.GetNamespace()).Get(ctx, o.u.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
			ips = append(ips, ip)
		}
	}
	nodes, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	rules := func(ns string) string {
		var out []byte
		if proxyMode(s) == "iptables" {
			// Every table: a Service without endpoints is a REJECT in filter, not a DNAT in nat.
			out, _ = exec.Command("ip", "netns", "exec", ns, "iptables-save").Output()
		} else {
			out, _ = exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "ip", "kube-proxy").Output()
		}
		return string(out)
	}
	for {
		var pending []string
		for _, n := range nodes.Items {
			ns := netnsName(s, n.Name)
			if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
				continue // a file's node the agent does not run
			}
			if stoppedOn(s, "kube-proxy", n.Name) {
				continue // `cluster stop` stopped it: nothing will program this node
			}
			have := rules(ns)
			for _, ip := range ips {
				if !strings.Contains(have, ip) {
					pending = append(pending, n.Name+": "+ip)
				}
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-proxy has not programmed: %s", strings.Join(pending, ", "))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitPodsStarted waits, with the data plane, until the node agent has started every pod the
// files bind to a node (an address, or a container that says why it is waiting): the
// EndpointSlices to wait for are then the ones those pods make.
func waitPodsStarted(ctx context.Context, c *clients, objs []object) error {
	for {
		var pending []string
		for _, o := range objs {
			if o.u.GetKind() != "Pod" {
				continue
			}
			if n, _, _ := unstructured.NestedString(o.u.Object, "spec", "nodeName"); n == "" {
				continue
			}
			p, err := c.kube.CoreV1().Pods(o.u.GetNamespace()).Get(ctx, o.u.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.PodIP == "" && len(p.Status.ContainerStatuses) == 0 {
				pending = append(pending, o.key())
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pods not started by the node agent: %s", strings.Join(pending, ", "))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// loader applies objects and keeps what they became.
type loader struct {
	s    *state
	c    *clients
	mu   sync.Mutex
	rec  *loaded
	uids map[string]types.UID // "Kind ns/name" → uid of what was created
}

func (l *loader) parallel(ctx context.Context, objs []object, workers int) error {
	work := make(chan object)
	errs := make(chan error, len(objs))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				if err := l.one(ctx, o); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs // the first error, or nil
}

// one applies an object, records it, and writes its status from the file.
func (l *loader) one(ctx context.Context, o object) error {
	s, c := l.s, l.c
	l.mu.Lock()
	rewriteOwners(o.u, l.uids)
	l.mu.Unlock()
	if o.u.GetKind() == "Pod" && dataPlaneOn(s) {
		// With the data plane, pods run for real: their status is the node agent's.
		o.status = nil
	}
	if o.u.GetKind() == "Pod" && o.status != nil {
		// Tell the node agent this pod's status comes from the file, before it can see it.
		marker := s.path("given-status", o.u.GetNamespace()+"_"+o.u.GetName())
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return err
		}
	}
	applied, gvr, err := apply(ctx, c, o)
	if err != nil {
		return fmt.Errorf("%s (%s): %w", o.key(), o.from, err)
	}
	l.mu.Lock()
	l.uids[o.key()] = applied.GetUID()
	if o.u.GetKind() == "Namespace" && !systemNamespaces[o.u.GetName()] {
		l.rec.Namespaces = append(l.rec.Namespaces, o.u.GetName())
	}
	if (o.u.GetNamespace() == "" || systemNamespaces[o.u.GetNamespace()]) && o.u.GetKind() != "Namespace" {
		l.rec.Objects = append(l.rec.Objects, loadedObj{gvr.Group, gvr.Version, gvr.Resource, o.u.GetNamespace(), o.u.GetName()})
	}
	l.mu.Unlock()
	if o.u.GetKind() == "CustomResourceDefinition" {
		if err := waitEstablished(ctx, c, o.u.GetName()); err != nil {
			return err
		}
	}
	if o.status != nil {
		if err := writeStatus(ctx, c, gvr, applied, o.status); err != nil {
			return fmt.Errorf("%s (%s): status: %w", o.key(), o.from, err)
		}
	}
	if o.u.GetKind() == "Node" {
		if err := liftNotReadyTaint(ctx, c, o.u.GetName()); err != nil {
			return fmt.Errorf("%s: %w", o.key(), err)
		}
	}
	return nil
}

// missingReplicaSets are the ReplicaSets the files' pods name as their controller but the files
// do not hold (a scenario shows a Deployment's pods, not the ReplicaSet between them): each is
// created as the Deployment controller would have made it — selecting its pods' labels, its
// template their first container, owned by the Deployment whose name it extends — so every
// ownerReference points at an object that exists and the garbage collector, which runs, leaves
// the pods alone (it deletes dependents whose owners are gone).
func missingReplicaSets(objs []object) []object {
	have := map[string]bool{}
	deployments := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		have[o.key()] = true
		if o.u.GetKind() == "Deployment" {
			deployments[o.u.GetNamespace()+"/"+o.u.GetName()] = o.u
		}
	}
	var out []object
	made := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.u.GetKind() != "Pod" {
			continue
		}
		for _, r := range o.u.GetOwnerReferences() {
			key := "ReplicaSet " + o.u.GetNamespace() + "/" + r.Name
			if r.Kind != "ReplicaSet" || have[key] {
				continue
			}
			if rs, ok := made[key]; ok {
				n, _, _ := unstructured.NestedInt64(rs.Object, "spec", "replicas")
				unstructured.SetNestedField(rs.Object, n+1, "spec", "replicas")
				continue
			}
			labels := map[string]interface{}{}
			for k, v := range o.u.GetLabels() {
				labels[k] = v
			}
			containers, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "containers")
			var first []interface{}
			if len(containers) > 0 {
				c, _ := containers[0].(map[string]interface{})
				first = []interface{}{map[string]interface{}{"name": c["name"], "image": c["image"]}}
			}
			rs := &unstructured.Unstructured{Object: map[string]interface{}{
				"apiVersion": "apps/v1", "kind": "ReplicaSet",
				"metadata": map[string]interface{}{"name": r.Name, "namespace": o.u.GetNamespace(), "labels": labels},
				"spec": map[string]interface{}{
					"replicas": int64(1),
					"selector": map[string]interface{}{"matchLabels": labels},
					"template": map[string]interface{}{
						"metadata": map[string]interface{}{"labels": labels},
						"spec":     map[string]interface{}{"containers": first},
					},
				},
			}}
			for name, d := range deployments {
				ns, dn, _ := strings.Cut(name, "/")
				if ns == o.u.GetNamespace() && strings.HasPrefix(r.Name, dn+"-") {
					rs.SetOwnerReferences([]metav1.OwnerReference{{
						APIVersion: "apps/v1", Kind: "Deployment", Name: d.GetName(), UID: "to-be-rewritten",
						Controller: boolPtr(true), BlockOwnerDeletion: boolPtr(true),
					}})
				}
			}
			made[key] = rs
			out = append(out, object{u: rs, from: "(the ReplicaSet " + o.from + " names)"})
		}
	}
	return out
}

// rewriteOwners points ownerReferences at the uids of the owners this load created; owners the
// files do not hold keep the file's uid (the garbage collector is off, see components.go).
func rewriteOwners(u *unstructured.Unstructured, uids map[string]types.UID) {
	refs := u.GetOwnerReferences()
	for i, r := range refs {
		if uid, ok := uids[r.Kind+" "+u.GetNamespace()+"/"+r.Name]; ok {
			refs[i].UID = uid
		}
	}
	if len(refs) > 0 {
		u.SetOwnerReferences(refs)
	}
}

func apply(ctx context.Context, c *clients, o object) (*unstructured.Unstructured, schema.GroupVersionResource, error) {
	gvk := o.u.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, schema.GroupVersionResource{}, err
	}
	var ri dynamic.ResourceInterface = c.dynamic.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.u.GetNamespace()
		if ns == "" {
			ns = "default"
			o.u.SetNamespace(ns)
		}
		ri = c.dynamic.Resource(m.Resource).Namespace(ns)
	}
	body, err := json.Marshal(o.u.Object)
	if err != nil {
		return nil, m.Resource, err
	}
	force := true
	out, err := ri.Patch(ctx, o.u.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: "netdoctor-cluster-load", Force: &force})
	return out, m.Resource, err
}

// writeStatus writes the file's status through the status subresource.
func writeStatus(ctx context.Context, c *clients, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, st map[string]interface{}) error {
	var ri dynamic.ResourceInterface = c.dynamic.Resource(gvr)
	if obj.GetNamespace() != "" {
		ri = c.dynamic.Resource(gvr).Namespace(obj.GetNamespace())
	}
	cur := obj.DeepCopy() // as applied: its resourceVersion is current unless a controller wrote since
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if cur, err = ri.Get(ctx, obj.GetName(), metav1.GetOptions{}); err != nil {
				return err
			}
		}
		merged, _, _ := unstructured.NestedMap(cur.Object, "status")
		if merged == nil {
			merged = map[string]interface{}{}
		}
		for k, v := range st {
			merged[k] = v
		}
		if err := unstructured.SetNestedMap(cur.Object, merged, "status"); err != nil {
			return err
		}
		_, err := ri.UpdateStatus(ctx, cur, metav1.UpdateOptions{FieldManager: "netdoctor-cluster-load"})
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		return err
	}
}

func waitEstablished(ctx context.Context, c *clients, name string) error {
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for {
		crd, err := c.dynamic.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, cd := range conds {
				m, _ := cd.(map[string]interface{})
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not Established: %v", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitEndpointSlices waits until, for every Service with a selector, the controller's
// EndpointSlices list exactly the matching pods that have an IP on an existing node, each ready as
// the pod's Ready condition says (or ready regardless with publishNotReadyAddresses) — so a run
// right after `load` sees what a settled cluster shows. Each look reads nodes, pods and slices
// once, whatever the number of Services.
func waitEndpointSlices(ctx context.Context, c *clients, objs []object, services map[string]bool) error {
	for {
		w, err := readWorld(ctx, c)
		if err != nil {
			return err
		}
		var pending []string
		for _, o := range objs {
			key := o.u.GetNamespace() + "/" + o.u.GetName()
			if o.u.GetKind() != "Service" || !services[key] {
				continue
			}
			if why := w.settled(o.u); why != "" {
				pending = append(pending, "Service "+key+": "+why)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if len(pending) > 10 {
				pending = append(pending[:10], fmt.Sprintf("… and %d more", len(pending)-10))
			}
			return fmt.Errorf("EndpointSlices not settled:\n  %s", strings.Join(pending, "\n  "))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// world is one look at what the EndpointSlice controller works from and what it wrote.
type world struct {
	nodes  map[string]bool
	pods   map[string][]corev1.Pod                // by namespace
	slices map[string][]discoveryv1.EndpointSlice // by namespace/service
}

func readWorld(ctx context.Context, c *clients) (*world, error) {
	w := &world{nodes: map[string]bool{}, pods: map[string][]corev1.Pod{}, slices: map[string][]discoveryv1.EndpointSlice{}}
	nodes, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, n := range nodes.Items {
		w.nodes[n.Name] = true
	}
	pods, err := c.kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, p := range pods.Items {
		w.pods[p.Namespace] = append(w.pods[p.Namespace], p)
	}
	slices, err := c.kube.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{
		LabelSelector: "endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io",
	})
	if err != nil {
		return nil, err
	}
	for _, sl := range slices.Items {
		key := sl.Namespace + "/" + sl.Labels["kubernetes.io/service-name"]
		w.slices[key] = append(w.slices[key], sl)
	}
	return w, nil
}

// settled says what the controller has not caught up with for svc, or "".
func (w *world) settled(svc *unstructured.Unstructured) string {
	ns := svc.GetNamespace()
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	publish, _, _ := unstructured.NestedBool(svc.Object, "spec", "publishNotReadyAddresses")
	selector := labels.SelectorFromSet(sel)
	want := map[string]bool{}
	for _, p := range w.pods[ns] {
		if !selector.Matches(labels.Set(p.Labels)) || p.Status.PodIP == "" || !w.nodes[p.Spec.NodeName] ||
			p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil {
			continue
		}
		ready := publish
		for _, cd := range p.Status.Conditions {
			if cd.Type == corev1.PodReady && cd.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		want[p.Name] = ready
	}
	slices := w.slices[ns+"/"+svc.GetName()]
	if len(slices) == 0 {
		return "no EndpointSlice yet"
	}
	got := map[string]bool{}
	for _, sl := range slices {
		for _, ep := range sl.Endpoints {
			if ep.TargetRef != nil {
				got[ep.TargetRef.Name] = ep.Conditions.Ready == nil || *ep.Conditions.Ready
			}
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d endpoints, want %d", len(got), len(want))
	}
	for name, ready := range want {
		if r, ok := got[name]; !ok || r != ready {
			return fmt.Sprintf("pod %s not yet as its status says", name)
		}
	}
	return ""
}

func readLoaded(s *state, rec *loaded) {
	if b, err := os.ReadFile(s.path("loaded.json")); err == nil {
		json.Unmarshal(b, rec)
	}
}

func writeLoaded(s *state, rec *loaded) {
	b, _ := json.MarshalIndent(rec, "", "  ")
	os.WriteFile(s.path("loaded.json"), b, 0o644)
}

func resetCmd(args []string) error {
	s, _, c, err := stateArgs("reset", args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return reset(ctx, s, c)
}

// reset deletes what `load` created: its namespaces (pods first, at once, as a kubelet confirms
// them) and the objects it put in system namespaces or the cluster scope, then waits until the
// namespaces are gone, so the next load starts from the cluster `up` made.
func reset(ctx context.Context, s *state, c *clients) error {
	var rec loaded
	readLoaded(s, &rec)
	zero := int64(0)
	for _, ns := range rec.Namespaces {
		c.kube.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
		err := c.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	for i := len(rec.Objects) - 1; i >= 0; i-- {
		o := rec.Objects[i]
		gvr := schema.GroupVersionResource{Group: o.Group, Version: o.Version, Resource: o.Resource}
		var ri dynamic.ResourceInterface = c.dynamic.Resource(gvr)
		if o.Namespace != "" {
			ri = c.dynamic.Resource(gvr).Namespace(o.Namespace)
		}
		err := ri.Delete(ctx, o.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s %s/%s: %w", o.Resource, o.Namespace, o.Name, err)
		}
	}
	for _, ns := range rec.Namespaces {
		for {
			_, err := c.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("namespace %s still terminating: %v", ns, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	os.RemoveAll(s.path("given-status"))
	os.MkdirAll(s.path("given-status"), 0o755)
	writeLoaded(s, &loaded{})
	return nil
}
