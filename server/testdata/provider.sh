#!/bin/sh
# A command provider for the tests (the contract: docs/providers.md). It
# starts `lathe agent` ($LATHE_BIN) in the background and records each
# agent's PID in $LATHE_PROVIDER_STATE/NAME.pid.
set -eu
state=${LATHE_PROVIDER_STATE:?}
in=$(cat)
field() { printf '%s' "$in" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
case "${1:-}" in
start)
	name=$(field name)
	labels=$(printf '%s' "$in" | sed -n 's/.*"labels":\[\([^]]*\)\].*/\1/p' | tr -d '"')
	oneshot=
	case "$in" in *'"one_shot":true'*) oneshot=--one-shot ;; esac
	mkdir -p "$state/$name"
	LATHE_REGISTRATION_TOKEN=$(field registration_token) setsid "$LATHE_BIN" agent --server "$(field server)" \
		--name "$name" --labels "$labels" --work-dir "$state/$name" $oneshot </dev/null >"$state/$name.log" 2>&1 &
	echo $! >"$state/$name.pid"
	printf '{"handle":"%s"}\n' "$!"
	;;
stop)
	name=$(field name)
	kill -TERM "$(cat "$state/$name.pid")" 2>/dev/null || true
	echo '{}'
	;;
list)
	group=$(field group)
	printf '{"instances":['
	sep=
	for f in "$state/$group"-*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		if alive "$pid"; then
			printf '%s{"name":"%s","handle":"%s"}' "$sep" "$(basename "$f" .pid)" "$pid"
			sep=,
		fi
	done
	printf ']}\n'
	;;
*)
	echo "provider.sh: unknown action ${1:-none}: want start, stop or list" >&2
	exit 2
	;;
esac
