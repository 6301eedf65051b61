# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_netdoctor_global_optspecs
    string join \n kubeconfig= context= n/namespace= o/output= request-timeout= no-color v/verbose= cluster= user= s/server= token= as= as-group= certificate-authority= insecure-skip-tls-verify h/help V/version
end

function __fish_kubectl_netdoctor_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_netdoctor_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_netdoctor_using_subcommand
    set -l cmd (__fish_kubectl_netdoctor_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -s o -l output -d 'Output format' -r -f -a "table\t'Ordered checklist and verdict, for people'
json\t'The Diagnosis document (schema netdoctor.io/v1)'
yaml\t'The Diagnosis document as YAML'
junit\t'JUnit XML, one testcase per check'
markdown\t'Markdown, for tickets and runbooks'
csv\t'Comma-separated values (reach)'"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "svc" -d 'Diagnose one Service: the ordered flow (Service, endpoints, ports, then a probe pod\'s packets and DNS, Ingress, NetworkPolicy)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "service" -d 'Diagnose one Service: the ordered flow (Service, endpoints, ports, then a probe pod\'s packets and DNS, Ingress, NetworkPolicy)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "ingress" -d 'Start from an Ingress: each backend Service\'s flow (class, controller, TLS included)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "ing" -d 'Start from an Ingress: each backend Service\'s flow (class, controller, TLS included)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "dns" -d 'Cluster DNS health: the DNS Service\'s flow (a probe resolves through every replica from a client\'s namespace), its pods, NodeLocal DNSCache, the cluster domain'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "scan" -d 'Every Service in scope through the API-level checks, for CI (exit 1 on any failure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "path" -d 'Can this client reach that target? NetworkPolicy decisions both ways, per backend pod'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "reach" -d 'Who can talk to whom: every allowed workload → workload connection, with ports'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "explain" -d 'Print the runbook page of a check, or list the checks'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "capture" -d 'Capture packets in a pod\'s network namespace into a pcap file (an ephemeral container)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "cleanup" -d 'Delete leftover probe Jobs and pods (label app.kubernetes.io/managed-by=kubectl-netdoctor)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -s f -l filename -d 'Diagnose manifests instead of a live cluster: files, directories (recursively) or "-" for stdin; multi-document YAML, JSON, `kind: List`' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l probe-image -d 'The probe\'s image: a release pins the one it published by digest; mirror it for clusters that cannot pull from the internet (skopeo copy, then this flag or NETDOCTOR_PROBE_IMAGE)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l probe-timeout -d 'How long the probe may take, pod start included; its Job\'s deadline follows' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l from -d 'The client whose traffic to judge: pod/NAME (a real pod in the namespace; pod/NS/NAME elsewhere; offline also a workload\'s name), deploy/NAME, sts/NAME or ds/NAME (a ready pod of it, named in the report), or ns/NAMESPACE (a would-be client there, with --labels). Without it, policies are summarised for any source' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l labels -d 'Labels of a would-be client (--from ns/NAMESPACE): k=v,k2=v2' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''
junit\t''
markdown\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l no-probe -d 'API reads only: create no probe pod (checks 5–7 are skipped; nothing is written)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l strict -d 'Treat warnings as failures (exit 1)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l inside -d 'Run the probe inside the --from pod, as an ephemeral container: its exact network identity (the container stays in the pod\'s spec; ephemeral containers cannot be removed)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l inspect -d 'When a backend refuses, read its socket table from inside it (an ephemeral container, which stays in the pod\'s spec): "127.0.0.1 only", "8081, not 8080", "UDP, not TCP"'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l show-skipped -d 'List every check skipped because an earlier one failed (by default one line says how many)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -s A -l all-namespaces -d 'kubectl\'s -A: svc diagnoses one Service, so this only explains where to go (scan -A)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand svc" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -s f -l filename -d 'Diagnose manifests instead of a live cluster: files, directories (recursively) or "-" for stdin; multi-document YAML, JSON, `kind: List`' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l probe-image -d 'The probe\'s image: a release pins the one it published by digest; mirror it for clusters that cannot pull from the internet (skopeo copy, then this flag or NETDOCTOR_PROBE_IMAGE)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l probe-timeout -d 'How long the probe may take, pod start included; its Job\'s deadline follows' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l from -d 'The client whose traffic to judge: pod/NAME (a real pod in the namespace; pod/NS/NAME elsewhere; offline also a workload\'s name), deploy/NAME, sts/NAME or ds/NAME (a ready pod of it, named in the report), or ns/NAMESPACE (a would-be client there, with --labels). Without it, policies are summarised for any source' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l labels -d 'Labels of a would-be client (--from ns/NAMESPACE): k=v,k2=v2' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''
junit\t''
markdown\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l no-probe -d 'API reads only: create no probe pod (checks 5–7 are skipped; nothing is written)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l strict -d 'Treat warnings as failures (exit 1)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l inside -d 'Run the probe inside the --from pod, as an ephemeral container: its exact network identity (the container stays in the pod\'s spec; ephemeral containers cannot be removed)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l inspect -d 'When a backend refuses, read its socket table from inside it (an ephemeral container, which stays in the pod\'s spec): "127.0.0.1 only", "8081, not 8080", "UDP, not TCP"'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l show-skipped -d 'List every check skipped because an earlier one failed (by default one line says how many)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -s A -l all-namespaces -d 'kubectl\'s -A: svc diagnoses one Service, so this only explains where to go (scan -A)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand service" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -s f -l filename -d 'Diagnose manifests instead of a live cluster' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l probe-image -d 'The probe\'s image: a release pins the one it published by digest; mirror it for clusters that cannot pull from the internet (skopeo copy, then this flag or NETDOCTOR_PROBE_IMAGE)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l probe-timeout -d 'How long the probe may take, pod start included; its Job\'s deadline follows' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''
junit\t''
markdown\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l strict -d 'Treat warnings as failures (exit 1)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l no-probe -d 'API reads only: create no probe pod (checks 5–7 are skipped; nothing is written)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l show-skipped -d 'List every check skipped because an earlier one failed (by default one line says how many)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ingress" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -s f -l filename -d 'Diagnose manifests instead of a live cluster' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l probe-image -d 'The probe\'s image: a release pins the one it published by digest; mirror it for clusters that cannot pull from the internet (skopeo copy, then this flag or NETDOCTOR_PROBE_IMAGE)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l probe-timeout -d 'How long the probe may take, pod start included; its Job\'s deadline follows' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''
junit\t''
markdown\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l strict -d 'Treat warnings as failures (exit 1)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l no-probe -d 'API reads only: create no probe pod (checks 5–7 are skipped; nothing is written)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l show-skipped -d 'List every check skipped because an earlier one failed (by default one line says how many)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand ing" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l service -d 'The cluster DNS Service, NAMESPACE/NAME (kube-dns in kube-system by default)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l probe-image -d 'The probe\'s image: a release pins the one it published by digest; mirror it for clusters that cannot pull from the internet (skopeo copy, then this flag or NETDOCTOR_PROBE_IMAGE)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l probe-timeout -d 'How long the probe may take, pod start included; its Job\'s deadline follows' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''
junit\t''
markdown\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l strict -d 'Treat warnings as failures (exit 1)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l no-probe -d 'API reads only: create no probe pod (checks 5–7 are skipped; nothing is written)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l show-skipped -d 'List every check skipped because an earlier one failed (by default one line says how many)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand dns" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -s l -l selector -d 'Only Services with these labels (kubectl\'s label selector)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -s f -l filename -d 'Scan manifests instead of a live cluster' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''
junit\t''
markdown\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -s A -l all-namespaces -d 'Every namespace (else -n, the context\'s namespace, or "default")'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l strict -d 'Treat warnings as failures (exit 1)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand scan" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l from -d 'The client: pod/NAME, pod/NAMESPACE/NAME, or ns/NAMESPACE with --labels' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l labels -d 'Labels of a would-be client (--from ns/NAMESPACE): k=v,k2=v2' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l to -d 'The target: svc/NAME[:PORT] (every backend pod) or pod/NAME:PORT[/UDP]' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -s f -l filename -d 'Decide on manifests instead of a live cluster' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l probe-image -d 'The probe\'s image: a release pins the one it published by digest; mirror it for clusters that cannot pull from the internet (skopeo copy, then this flag or NETDOCTOR_PROBE_IMAGE)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l probe-timeout -d 'How long the probe may take, pod start included; its Job\'s deadline follows' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l inside -d 'With --from pod/NAME: probe from inside that pod (ephemeral container)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l no-probe -d 'API reads only: create no probe pod (checks 5–7 are skipped; nothing is written)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand path" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -s f -l filename -d 'Read manifests instead of a live cluster' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
csv\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -s A -l all-namespaces -d 'Every namespace (else -n, the context\'s namespace, or "default")'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand reach" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -s o -l output -d 'Output format' -r -f -a "table\t''
markdown\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l raw -d 'Print the page\'s Markdown as it is (also -o markdown), not rendered for the terminal'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -s c -l container -d 'The container to attach to (its network is the pod\'s; this names it in the pod spec)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -s w -l write -d 'The pcap file to write ("-" for stdout)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l filter -d 'Keep only matching packets: host IP, port N, tcp, udp, icmp, joined by and/or' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l duration -d 'How long to capture' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l max-packets -d 'Stop after this many packets' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l iface -d 'The interface in the pod (default: the one of its default route, usually eth0)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l probe-image -d 'The agent\'s image (mirror it for clusters that cannot pull from the internet; also NETDOCTOR_PROBE_IMAGE)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -s o -l output -d 'Output format' -r -f -a "table\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand capture" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -s o -l output -d 'Output format' -r -f -a "table\t''"
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l kubeconfig -d 'Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l request-timeout -d 'Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -s v -l verbose -d 'Print each API request and its outcome to stderr; kubectl\'s log level is accepted as -v=N (any level above 0 logs requests)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -s s -l server -d 'The API server\'s address, over the kubeconfig\'s' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l token -d 'Bearer token for the API server' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l as -d 'Username to impersonate' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l certificate-authority -d 'A CA certificate file (PEM) to verify the API server with' -r -F
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -s A -l all-namespaces -d 'Every namespace (else -n, the context\'s namespace, or "default")'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l all -d 'Also delete probes still within their deadline (another run may be using them)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l no-color -d 'Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand cleanup" -s h -l help -d 'Print help'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "svc" -d 'Diagnose one Service: the ordered flow (Service, endpoints, ports, then a probe pod\'s packets and DNS, Ingress, NetworkPolicy)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "ingress" -d 'Start from an Ingress: each backend Service\'s flow (class, controller, TLS included)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "dns" -d 'Cluster DNS health: the DNS Service\'s flow (a probe resolves through every replica from a client\'s namespace), its pods, NodeLocal DNSCache, the cluster domain'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "scan" -d 'Every Service in scope through the API-level checks, for CI (exit 1 on any failure)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "path" -d 'Can this client reach that target? NetworkPolicy decisions both ways, per backend pod'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "reach" -d 'Who can talk to whom: every allowed workload → workload connection, with ports'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "explain" -d 'Print the runbook page of a check, or list the checks'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "capture" -d 'Capture packets in a pod\'s network namespace into a pcap file (an ephemeral container)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "cleanup" -d 'Delete leftover probe Jobs and pods (label app.kubernetes.io/managed-by=kubectl-netdoctor)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand help; and not __fish_seen_subcommand_from svc ingress dns scan path reach explain capture cleanup help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-netdoctor -n "__fish_kubectl_netdoctor_using_subcommand explain" -f -a "service.exists service.selector endpoints.ready ports.target pods.listening service.clusterip dns.resolves ingress.routes netpol.allows"
