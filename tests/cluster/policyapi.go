package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// policyCRDs lists the config/crd directories of two releases of the sigs.k8s.io/network-policy-api
// module, separated by a colon: v0.1.x, whose CRDs serve AdminNetworkPolicy and
// BaselineAdminNetworkPolicy at v1alpha1, and v0.3.x, whose CRD serves ClusterNetworkPolicy at
// v1alpha2 and v1beta1. The wrapper script downloads both from the module proxy (`go mod
// download`) and stamps them in at link time; no Go package of them is built.
var policyCRDs = ""

// installPolicyAPI creates the cluster-wide policy CRDs (standard channel): "all" both
// releases' (the kinds do not overlap), "v1alpha1" AdminNetworkPolicy and
// BaselineAdminNetworkPolicy only, "clusternetworkpolicy" ClusterNetworkPolicy only.
func installPolicyAPI(ctx context.Context, c *clients, which string) error {
	dirs := strings.Split(policyCRDs, ":")
	if policyCRDs == "" || len(dirs) != 2 {
		return fmt.Errorf("the cluster binary was built without the network-policy-api CRDs' directories (build it through tests/cluster/cluster)")
	}
	var pick []string
	switch which {
	case "all":
		pick = dirs
	case "v1alpha1":
		pick = dirs[:1]
	case "clusternetworkpolicy":
		pick = dirs[1:]
	default:
		return fmt.Errorf("--policy-api %q: want all, v1alpha1, clusternetworkpolicy or none", which)
	}
	var files []string
	for _, d := range pick {
		found, err := filepath.Glob(filepath.Join(d, "standard", "policy.networking.k8s.io_*.yaml"))
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("no policy CRDs in %s/standard", d)
		}
		files = append(files, found...)
	}
	sort.Strings(files)
	names, err := installCRDs(ctx, c, files)
	if err != nil {
		return err
	}
	c.mapper.Reset()
	var releases []string
	for _, d := range pick {
		releases = append(releases, moduleVersion(d))
	}
	fmt.Fprintf(os.Stderr, "network-policy-api (%s): %s\n", strings.Join(releases, ", "), strings.Join(names, ", "))
	return nil
}

// moduleVersion is the release of a module's config/crd directory (the directory's @version).
func moduleVersion(crdDir string) string {
	base := filepath.Base(filepath.Dir(filepath.Dir(filepath.Clean(crdDir))))
	if i := strings.LastIndex(base, "@"); i >= 0 {
		return base[i+1:]
	}
	return "?"
}
