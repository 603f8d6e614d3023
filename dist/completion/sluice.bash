# SPDX-License-Identifier: Apache-2.0
# bash completion for sluice(8); installed by `meson install` into
# bash-completion's directory. tests/cli/check-completion.sh keeps it in
# step with `sluice help COMMAND`.

_sluice()
{
	local cur prev words cword
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local commands="validate diff apply watch show status flush monitor version help"
	local common="--pin-dir --node --quiet --verbose --no-color --help --output"
	local cmd="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--pin-dir | --node | --output | -o | --wait | --debounce | --resync | --log-format | \
			--health-file | --metrics-address | --type | --endpoint)
			((i++)) ;;
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	case $prev in
	--pin-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--health-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-o | --output)
		case $cmd in
		show) COMPREPLY=($(compgen -W "yaml json" -- "$cur")) ;;
		watch) COMPREPLY=($(compgen -W "text" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
		esac
		return
		;;
	--log-format)
		COMPREPLY=($(compgen -W "text json" -- "$cur"))
		return
		;;
	--type)
		COMPREPLY=($(compgen -W "drop verdict trace" -- "$cur"))
		return
		;;
	--node | --wait | --debounce | --resync | --metrics-address | --endpoint)
		return # a value of the user's
		;;
	esac

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$common --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local opts=""
	case $cmd in
	validate | show | status | version) ;;
	diff) opts="--summary" ;;
	apply) opts="--dry-run --wait --summary" ;;
	watch) opts="--wait --resync --debounce --log-format --health-file --metrics-address" ;;
	flush) opts="--yes --wait" ;;
	monitor) opts="--type --endpoint" ;;
	help)
		COMPREPLY=($(compgen -W "${commands% help}" -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts $common" -- "$cur"))
		return
	fi
	case $cmd in
	validate | diff | apply)
		# state files, directories of them, or - for standard input
		COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur"))
		[ "$cur" = - ] && COMPREPLY+=(-)
		compopt -o filenames 2>/dev/null
		;;
	watch)
		COMPREPLY=($(compgen -d -- "$cur"))
		compopt -o filenames 2>/dev/null
		;;
	esac
}
complete -F _sluice sluice
