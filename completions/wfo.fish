# fish completion for wfo(1). Installed as share/fish/vendor_completions.d/wfo.fish; fish
# loads it the first time `wfo` is completed. Run ids and task ids come from the state
# database through the hidden `wfo __complete`.

# The words `wfo __complete $argv` gives, with the --state of the command line.
function __wfo_query
    set -l tokens (commandline -opc)
    set -l state
    set -l i 2
    while test $i -lt (count $tokens)
        if test "$tokens[$i]" = --state
            set state --state $tokens[(math $i + 1)]
        end
        set i (math $i + 1)
    end
    command $tokens[1] $state __complete $argv 2>/dev/null
end

# The positional words after the subcommand (options and their values left out).
function __wfo_positionals
    set -l tokens (commandline -opc)
    set -l seen_command 0
    set -l skip 0
    for t in $tokens[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case --state -p --param -j --jobs --run-id --secret-file --junit --metrics --durability --task --comment --input --status --limit --attempt --format
                set skip 1
            case '-*'
            case '*'
                if test $seen_command -eq 1
                    echo $t
                end
                set seen_command 1
        end
    end
end

# True when the subcommand is one of $argv and it has exactly N positionals so far ($N).
function __wfo_positional_is
    set -l n $argv[1]
    set -e argv[1]
    __fish_seen_subcommand_from $argv; or return 1
    test (count (__wfo_positionals)) -eq $n
end

# Workflow files (*.yaml, *.yml) and folders under the token being completed.
function __wfo_workflow_files
    for f in (__fish_complete_path (commandline -ct) | string replace -r '\t.*' '')
        string match -q -r '(/|\.ya?ml)$' -- $f; and echo $f
    end
end

set -l commands run resume approve reject approvals status list logs stats cancel validate graph

complete -c wfo -f
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -l state -x -a '(__fish_complete_path (commandline -ct))' -d 'State database'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -l version -d 'Print the version'
complete -c wfo -s h -l help -d 'Print help'

complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a run -d 'Start a run of a workflow file'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a resume -d 'Continue an interrupted, failed or approved run'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a approve -d 'Approve a waiting gate'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a reject -d 'Reject a waiting gate'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a approvals -d 'List gates waiting for a decision'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a status -d "Show a run's tasks, attempts and gates"
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a list -d 'List runs, newest first'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a logs -d "Print an attempt's output"
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a stats -d "Show a run's durations, CPU, RSS and critical path"
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a cancel -d 'Stop a run'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a validate -d 'Check a workflow file'
complete -c wfo -n "not __fish_seen_subcommand_from $commands" -a graph -d 'Print the task graph'

# run, validate, graph: a workflow file
complete -c wfo -n '__wfo_positional_is 0 run validate graph' -k -a '(__wfo_workflow_files)'
# run and resume
complete -c wfo -n '__fish_seen_subcommand_from run' -s p -l param -x -d 'A param as NAME=VALUE'
complete -c wfo -n '__fish_seen_subcommand_from run' -l run-id -x -d "Choose the run's id"
complete -c wfo -n '__fish_seen_subcommand_from run' -l dry-run -d 'Print the plan and run nothing'
complete -c wfo -n '__fish_seen_subcommand_from run resume' -s j -l jobs -x -d 'Attempts at once'
complete -c wfo -n '__fish_seen_subcommand_from run resume' -l wait -d 'At a gate, wait for a decision'
complete -c wfo -n '__fish_seen_subcommand_from run resume' -l json -d 'Print the run as JSON at the end'
complete -c wfo -n '__fish_seen_subcommand_from run resume' -s v -l verbose -d "Stream every attempt's output"
complete -c wfo -n '__fish_seen_subcommand_from run resume' -s q -l quiet -d 'Print only errors and the result'
complete -c wfo -n '__fish_seen_subcommand_from run resume' -l junit -x -a '(__fish_complete_path (commandline -ct))' -d 'Write a JUnit XML report'
complete -c wfo -n '__fish_seen_subcommand_from run resume stats' -l metrics -x -a '(__fish_complete_path (commandline -ct))' -d 'Write Prometheus metrics'
complete -c wfo -n '__fish_seen_subcommand_from run resume' -l secret-file -x -a '(__fish_complete_path (commandline -ct))' -d 'Read secret params from a file'
complete -c wfo -n '__fish_seen_subcommand_from run resume' -l durability -x -a 'normal full' -d 'fsync every commit or not'
complete -c wfo -n '__wfo_positional_is 0 resume' -k -x -a '(__wfo_query runs failed interrupted waiting_approval cancelled running)'
# approve, reject
complete -c wfo -n '__wfo_positional_is 0 approve reject' -k -x -a '(__wfo_query runs waiting_approval running)'
complete -c wfo -n '__fish_seen_subcommand_from approve reject' -l task -k -x -a '(__wfo_query gates (__wfo_positionals)[1])' -d "The gate's task"
complete -c wfo -n '__fish_seen_subcommand_from approve reject' -l comment -x -d 'A comment recorded with the decision'
complete -c wfo -n '__fish_seen_subcommand_from approve reject' -l input -x -d 'A gate input as NAME=VALUE'
# approvals, status, list, stats, cancel
complete -c wfo -n '__fish_seen_subcommand_from approvals status list stats' -l json -d 'Print JSON'
complete -c wfo -n '__wfo_positional_is 0 status stats' -k -x -a '(__wfo_query runs)'
complete -c wfo -n '__wfo_positional_is 0 cancel' -k -x -a '(__wfo_query runs running waiting_approval interrupted)'
complete -c wfo -n '__fish_seen_subcommand_from list' -l status -x -a 'running waiting_approval succeeded failed cancelled interrupted' -d 'Only runs with this status'
complete -c wfo -n '__fish_seen_subcommand_from list' -l limit -x -d 'At most this many runs'
# logs
complete -c wfo -n '__wfo_positional_is 0 logs' -k -x -a '(__wfo_query runs)'
complete -c wfo -n '__wfo_positional_is 1 logs' -k -x -a '(__wfo_query tasks (__wfo_positionals)[1])'
complete -c wfo -n '__fish_seen_subcommand_from logs' -l attempt -x -d 'The attempt number'
complete -c wfo -n '__fish_seen_subcommand_from logs' -s f -l follow -d 'Follow the output while the task runs'
# graph
complete -c wfo -n '__fish_seen_subcommand_from graph' -l format -x -a 'dot mermaid' -d 'Output format'
