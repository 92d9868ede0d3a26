# tests/lib/redis.sh - a throwaway redis-server for one test (bash)
#
# SYNOPSIS
#	. "$TOP/tests/lib/redis.sh"	# after common.sh, tap_init, mktmp
#	redis_start		# exports REDIS_PORT REDIS_SOCK REDIS_PID
#	redis_cli ARGS...	# redis-cli against it (unix socket)
#	redis_restart		# same port and socket, empty data set
#	redis_stop
#
# DESCRIPTION
#	The server listens on 127.0.0.1:$REDIS_PORT and on the unix socket
#	$TMP/redis.sock, persists nothing (--save "" --appendonly no), logs
#	to $TMP/redis.log and is stopped by an at_exit hook.
#	Set REDIS_PORT before redis_start to choose the port.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

[ -n "${_RG_REDIS_SH:-}" ] && return 0
_RG_REDIS_SH=1

REDIS_PID=
_redis_hook=0

_redis_spawn() {
	mkdir -p "$TMP/redis"
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
		--unixsocket "$REDIS_SOCK" --unixsocketperm 777 \
		--save "" --appendonly no --daemonize no \
		--dir "$TMP/redis" --logfile "$TMP/redis.log" \
		--protected-mode no </dev/null >>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	export REDIS_PID
	if ! wait_until 10 redis_cli PING; then
		diag "redis-server did not answer PING; log:" \
			"$(tail -n 20 "$TMP/redis.log" 2>/dev/null)"
		return 1
	fi
}

# redis_start - start redis-server on a free port and a unix socket
redis_start() {
	command -v redis-server >/dev/null || skip_all "redis-server missing"
	[ -n "$TMP" ] || mktmp >/dev/null
	REDIS_PORT=${REDIS_PORT:-$(free_port)}
	REDIS_SOCK=$TMP/redis.sock
	export REDIS_PORT REDIS_SOCK
	if [ "$_redis_hook" = 0 ]; then
		at_exit redis_stop
		_redis_hook=1
	fi
	_redis_spawn
}

# redis_cli ARGS... - run redis-cli against the test server
redis_cli() {
	redis-cli -s "$REDIS_SOCK" "$@"
}

# redis_stop - stop the server (no-op when it is not running)
redis_stop() {
	[ -n "$REDIS_PID" ] || return 0
	kill_wait "$REDIS_PID" 5
	REDIS_PID=
}

# redis_restart - stop and start again on the same port: empty, and every
#	client connection is cut (scripts cache gone too)
redis_restart() {
	redis_stop
	wait_port_gone 127.0.0.1 "$REDIS_PORT" 5
	_redis_spawn
}
