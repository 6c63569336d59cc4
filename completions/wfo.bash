# bash completion for wfo(1)                                    -*- shell-script -*-
# Installed as share/bash-completion/completions/wfo; bash-completion loads it on first use.
# Run ids and task ids come from the state database through the hidden `wfo __complete`.

# Prints the words `wfo __complete "$@"` gives, with the --state of the command line.
_wfo_query()
{
    local state=() i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        if [[ ${COMP_WORDS[i]} == --state ]]; then
            state=(--state "${COMP_WORDS[i + 1]}")
        fi
    done
    "${COMP_WORDS[0]}" "${state[@]}" __complete "$@" 2>/dev/null
}

# Completes workflow files (*.yaml, *.yml) and folders.
_wfo_workflow_files()
{
    compopt -o filenames 2>/dev/null
    local IFS=$'\n' f
    for f in $(compgen -f -- "$1"); do
        # Hidden entries (the .wfo state folder) only when asked for with a leading dot.
        [[ ${f##*/} == .* && ${1##*/} != .* ]] && continue
        [[ -d $f || $f == *.yaml || $f == *.yml ]] && COMPREPLY+=("$f")
    done
}

_wfo_files()
{
    compopt -o filenames 2>/dev/null
    local IFS=$'\n'
    COMPREPLY+=($(compgen -f -- "$1"))
}

_wfo()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local commands="run resume approve reject approvals status list logs stats cancel validate graph"
    COMPREPLY=()

    # The subcommand: the first word that is neither an option nor --state's value.
    local cmd="" i positionals=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        local w=${COMP_WORDS[i]}
        if [[ ${COMP_WORDS[i - 1]} == --state ]]; then
            continue
        elif [[ -z $cmd && $w != -* ]]; then
            cmd=$w
        elif [[ -n $cmd && $w != -* ]]; then
            case ${COMP_WORDS[i - 1]} in
                -p | --param | -j | --jobs | --run-id | --secret-file | --junit | --metrics | \
                    --durability | --task | --comment | --input | --status | --limit | \
                    --attempt | --format) ;;
                *) positionals+=("$w") ;;
            esac
        fi
    done

    case $prev in
        --state | --junit | --metrics | --secret-file)
            _wfo_files "$cur"
            return
            ;;
        --durability)
            COMPREPLY=($(compgen -W "normal full" -- "$cur"))
            return
            ;;
        --format)
            COMPREPLY=($(compgen -W "dot mermaid" -- "$cur"))
            return
            ;;
        --status)
            COMPREPLY=($(compgen -W "running waiting_approval succeeded failed cancelled interrupted" -- "$cur"))
            return
            ;;
        --task)
            [[ ${#positionals[@]} -gt 0 ]] &&
                COMPREPLY=($(compgen -W "$(_wfo_query gates "${positionals[0]}")" -- "$cur"))
            return
            ;;
        -p | --param | -j | --jobs | --run-id | --comment | --input | --limit | --attempt)
            return
            ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--state --help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    local flags=""
    case $cmd in
        run) flags="--param --jobs --run-id --wait --dry-run --secret-file --json --verbose --quiet --junit --metrics --durability" ;;
        resume) flags="--jobs --wait --json --verbose --quiet --junit --metrics --secret-file --durability" ;;
        approve | reject) flags="--task --comment --input" ;;
        approvals | status) flags="--json" ;;
        list) flags="--status --limit --json" ;;
        logs) flags="--attempt --follow" ;;
        stats) flags="--json --metrics" ;;
        graph) flags="--format" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags --help" -- "$cur"))
        return
    fi

    local n=${#positionals[@]}
    case $cmd in
        run | validate | graph)
            [[ $n -eq 0 ]] && _wfo_workflow_files "$cur"
            ;;
        resume)
            [[ $n -eq 0 ]] && COMPREPLY=($(compgen -W "$(_wfo_query runs failed interrupted waiting_approval cancelled running)" -- "$cur"))
            ;;
        approve | reject)
            [[ $n -eq 0 ]] && COMPREPLY=($(compgen -W "$(_wfo_query runs waiting_approval running)" -- "$cur"))
            ;;
        cancel)
            [[ $n -eq 0 ]] && COMPREPLY=($(compgen -W "$(_wfo_query runs running waiting_approval interrupted)" -- "$cur"))
            ;;
        status | stats)
            [[ $n -eq 0 ]] && COMPREPLY=($(compgen -W "$(_wfo_query runs)" -- "$cur"))
            ;;
        logs)
            if [[ $n -eq 0 ]]; then
                COMPREPLY=($(compgen -W "$(_wfo_query runs)" -- "$cur"))
            elif [[ $n -eq 1 ]]; then
                COMPREPLY=($(compgen -W "$(_wfo_query tasks "${positionals[0]}")" -- "$cur"))
            fi
            ;;
    esac
}
complete -F _wfo wfo
