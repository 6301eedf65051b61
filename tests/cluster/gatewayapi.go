package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayCRDs is the sigs.k8s.io/gateway-api module's config/crd directory, found by the
// wrapper script (go list -m) and stamped in at link time: the CRDs come from the same module
// release as the Go dependency, never from a download.
var gatewayCRDs = ""

// installGatewayAPI creates the CustomResourceDefinitions of one channel of the Gateway API
// (standard or experimental) and waits until each is Established. Other documents of the
// directory (the channel's ValidatingAdmissionPolicy, kustomization.yaml) are left out.
func installGatewayAPI(ctx context.Context, c *clients, channel string) error {
	if gatewayCRDs == "" {
		return fmt.Errorf("the cluster binary was built without the Gateway API CRDs' directory (build it through tests/cluster/cluster)")
	}
	dir := filepath.Join(gatewayCRDs, channel)
	files, err := filepath.Glob(filepath.Join(dir, gatewayv1.GroupName+"_*.yaml"))
	if err != nil {
		return err
	}
	more, _ := filepath.Glob(filepath.Join(dir, "gateway.networking.x-k8s.io_*.yaml"))
	files = append(files, more...)
	sort.Strings(files)
	if len(files) == 0 {
		return fmt.Errorf("no Gateway API CRDs in %s", dir)
	}
	names, err := installCRDs(ctx, c, files)
	if err != nil {
		return err
	}
	c.mapper.Reset()
	fmt.Fprintf(os.Stderr, "Gateway API (%s channel, %s): %s\n", channel, moduleVersion(gatewayCRDs), strings.Join(names, ", "))
	return nil
}

// installCRDs creates the CustomResourceDefinitions the files hold (other documents are left
// out) and waits until each is Established; it returns their names.
func installCRDs(ctx context.Context, c *clients, files []string) ([]string, error) {
	var names []string
	for _, f := range files {
		objs, err := readFile(f)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if o.u.GetKind() != "CustomResourceDefinition" {
				continue
			}
			if _, _, err := apply(ctx, c, o); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
			}
			names = append(names, o.u.GetName())
		}
	}
	for _, n := range names {
		if err := waitEstablished(ctx, c, n); err != nil {
			return nil, err
		}
	}
	return names, nil
}
