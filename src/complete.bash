# bash completion for kubectl-netdoctor.
#
# Install: copy to /usr/share/bash-completion/completions/kubectl-netdoctor, or
# `source kubectl-netdoctor.bash` from ~/.bashrc. `kubectl netdoctor <TAB>` needs no script: put
# kubectl_complete-netdoctor on PATH beside the binary (kubectl 1.26 and later).
#
# The candidates come from the binary, in kubectl's (cobra's) protocol: `kubectl-netdoctor
# __complete WORDS… CURRENT` prints one per line, then a directive line `:N` (bit 2: no space
# after the candidate, bit 4: no file names). Namespaces, contexts and names are read from the
# cluster the line's own connection flags name. Where the binary cannot be run (not on PATH
# yet), commands, flags, formats and check ids still complete from the table below, generated
# from the same command-line definition.
_kubectl_netdoctor() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local program=kubectl-netdoctor
    [[ ${COMP_WORDS[0]} == */* ]] && program=${COMP_WORDS[0]}
    if ! command -v "$program" >/dev/null 2>&1; then
        _kubectl_netdoctor_static "$@"
        return 0
    fi
    # bash splits --flag=value at '=': the word after '=' is the value being completed.
    [[ $cur == "=" ]] && cur=""
    local out
    out=$("$program" __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return 0
    local -a lines
    mapfile -t lines <<<"$out"
    local last=$((${#lines[@]} - 1))
    ((last < 0)) && return 0
    local directive=${lines[last]#:}
    [[ $directive == *[!0-9]* || -z $directive ]] && return 0
    COMPREPLY=()
    local line
    for line in "${lines[@]:0:last}"; do
        [[ -n $line ]] && COMPREPLY+=("${line%%$'\t'*}")
    done
    if ((directive & 2)); then
        compopt -o nospace 2>/dev/null
    fi
    if ((${#COMPREPLY[@]} == 0 && (directive & 4) == 0)); then
        # A path: readline's own file-name completion.
        compopt -o default 2>/dev/null
    fi
    return 0
}
complete -F _kubectl_netdoctor kubectl-netdoctor
