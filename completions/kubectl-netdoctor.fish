# fish completion for kubectl-netdoctor.
#
# Install: copy to ~/.config/fish/completions/kubectl-netdoctor.fish. `kubectl netdoctor <TAB>`
# needs no script: put kubectl_complete-netdoctor on PATH beside the binary (kubectl 1.26 and
# later).
#
# The candidates come from the binary, in kubectl's (cobra's) protocol: `kubectl-netdoctor
# __complete WORDS… CURRENT` prints one per line (`value<TAB>description`), then a directive
# line `:N` (bit 4: no file names). Namespaces, contexts and names are read from the cluster the
# line's own connection flags name.
function __kubectl_netdoctor_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l program kubectl-netdoctor
    string match -q '*/*' -- $words[1]; and set program $words[1]
    set -l out ($program __complete $words[2..-1] $current 2>/dev/null)
    or return
    set -q out[1]; or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    string match -qr '^[0-9]+$' -- $directive; or return
    set -e out[-1]
    for line in $out
        test -n "$line"; and printf '%s\n' $line
    end
    if not set -q out[1]; and test (math "bitand($directive, 4)") -eq 0
        # A path: fish's own file names.
        __fish_complete_path $current
    end
end

complete -c kubectl-netdoctor -f -a '(__kubectl_netdoctor_complete)'
