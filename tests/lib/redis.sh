# tests/lib/redis.sh - a throwaway redis-server for one test (bash)
#
# SYNOPSIS
#	. "$TOP/tests/lib/redis.sh"	# after common.sh, tap_init, mktmp
#	redis_start		# exports REDIS_PORT REDIS_SOCK REDIS_PID
#	redis_cli ARGS...	# redis-cli against it (unix socket)
#	redis_restart		# same port and socket, empty data set
#	redis_stop
#
#	sentinel_start NAME	# a master, a replica and three sentinels:
#				# exports SENT_MASTER_PORT SENT_REPLICA_PORT
#				# SENT_PORTS ("p1 p2 p3") SENT_NAME
#	sentinel_cli ARGS...	# redis-cli against the first sentinel
#	sentinel_master_port	# the port the sentinels name as master
#	sentinel_node_pid PORT	# the pid of the data node on PORT
#
#	cluster_start		# three masters, no replicas, all slots served:
#				# exports CLUSTER_PORTS ("p1 p2 p3")
#	cluster_cli PORT ARGS...	# redis-cli -c against one node
#	cluster_node_of KEY	# the port of the node serving KEY's slot
#	cluster_migrate SLOT FROM TO	# SETSLOT IMPORTING/MIGRATING, every key
#				# MIGRATEd; the caller ends it (SETSLOT NODE)
#
# DESCRIPTION
#	The server listens on 127.0.0.1:$REDIS_PORT and on the unix socket
#	$TMP/redis.sock, persists nothing (--save "" --appendonly no), logs
#	to $TMP/redis.log and is stopped by an at_exit hook.
#	Set REDIS_PORT before redis_start to choose the port.
#	sentinel_start's nodes live in $TMP/sentinel/ (a writable config
#	file copy per sentinel, logs), with down-after-milliseconds 1000
#	and failover-timeout 3000; all are stopped by an at_exit hook.
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

# --- Sentinel -----------------------------------------------------------------
_SENT_PIDS=()
declare -A _SENT_NODE_PID

_sentinel_node() {	# _sentinel_node PORT [replicaof-port]
	local port=$1 dir=$TMP/sentinel/node-$1
	mkdir -p "$dir"
	redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
		--daemonize no --dir "$dir" --logfile "$dir/log" --protected-mode no \
		${2:+--replicaof 127.0.0.1 $2} </dev/null >>"$dir/log" 2>&1 &
	_SENT_NODE_PID[$port]=$!
	_SENT_PIDS+=($!)
	wait_until 10 redis-cli -p "$port" PING >/dev/null
}

# sentinel_start NAME - master, replica (in sync) and three sentinels that agree
sentinel_start() {
	local name=${1:-relayguard} i p conf
	command -v redis-sentinel >/dev/null || skip_all "redis-sentinel missing"
	[ -n "$TMP" ] || mktmp >/dev/null
	at_exit sentinel_stop
	SENT_NAME=$name
	SENT_MASTER_PORT=$(free_port)
	SENT_REPLICA_PORT=$(free_port)
	_sentinel_node "$SENT_MASTER_PORT" || return 1
	_sentinel_node "$SENT_REPLICA_PORT" "$SENT_MASTER_PORT" || return 1
	wait_until 10 _sentinel_synced || { diag "the replica did not sync"; return 1; }
	SENT_PORTS=
	for i in 1 2 3; do
		p=$(free_port)
		conf=$TMP/sentinel/sentinel-$p.conf
		cat >"$conf" <<EOF
bind 127.0.0.1
port $p
daemonize no
protected-mode no
dir $TMP/sentinel
logfile $TMP/sentinel/sentinel-$p.log
sentinel monitor $name 127.0.0.1 $SENT_MASTER_PORT 2
sentinel down-after-milliseconds $name 1000
sentinel failover-timeout $name 3000
sentinel parallel-syncs $name 1
EOF
		redis-sentinel "$conf" </dev/null >>"$TMP/sentinel/sentinel-$p.out" 2>&1 &
		_SENT_PIDS+=($!)
		SENT_PORTS="$SENT_PORTS${SENT_PORTS:+ }$p"
		wait_until 10 redis-cli -p "$p" PING >/dev/null || return 1
	done
	export SENT_NAME SENT_MASTER_PORT SENT_REPLICA_PORT SENT_PORTS
	# every sentinel has found the replica and the other sentinels
	wait_until 30 _sentinel_ready || { diag "the sentinels did not agree"; return 1; }
}

_sentinel_synced() {
	redis-cli -p "$SENT_REPLICA_PORT" INFO replication | grep -q "master_link_status:up"
}

_sentinel_ready() {
	local p
	for p in $SENT_PORTS; do
		redis-cli -p "$p" SENTINEL master "$SENT_NAME" | tr -d '\r' |
			awk 'prev == "num-slaves" && $0 == 0 { bad = 1 }
			     prev == "num-other-sentinels" && $0 != 2 { bad = 1 }
			     { prev = $0 } END { exit bad }' || return 1
	done
}

# sentinel_cli ARGS... - redis-cli against the first sentinel
sentinel_cli() { redis-cli -p "${SENT_PORTS%% *}" "$@"; }

# sentinel_master_port - the master's port as the first sentinel names it
sentinel_master_port() {
	sentinel_cli SENTINEL get-master-addr-by-name "$SENT_NAME" | sed -n 2p
}

# sentinel_node_pid PORT - the pid of the data node on PORT
sentinel_node_pid() { echo "${_SENT_NODE_PID[$1]}"; }

# sentinel_stop - stop every node and sentinel sentinel_start started
sentinel_stop() {
	local pid
	for pid in "${_SENT_PIDS[@]}"; do
		kill_wait "$pid" 5 2>/dev/null
	done
	_SENT_PIDS=()
}

# --- Redis Cluster ---------------------------------------------------------

_CLUSTER_PIDS=()

# a port whose cluster bus port (+10000) is free too
_cluster_port() {
	local p
	while :; do
		p=$(free_port)
		[ "$p" -lt 55000 ] && ! port_in_use $((p + 10000)) && break
	done
	echo "$p"
}

# cluster_start - three masters on loopback, slots split by redis-cli --cluster create
cluster_start() {
	local p i addrs=
	command -v redis-server >/dev/null || skip_all "redis-server missing"
	mkdir -p "$TMP/cluster"
	at_exit cluster_stop
	CLUSTER_PORTS=
	for i in 1 2 3; do
		p=$(_cluster_port)
		redis-server --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
			--cluster-config-file "$TMP/cluster/nodes-$p.conf" \
			--cluster-node-timeout 2000 --save "" --appendonly no \
			--dir "$TMP/cluster" --logfile "$TMP/cluster/redis-$p.log" \
			--protected-mode no </dev/null >/dev/null 2>&1 &
		_CLUSTER_PIDS+=($!)
		CLUSTER_PORTS+="${CLUSTER_PORTS:+ }$p"
		addrs+=" 127.0.0.1:$p"
	done
	export CLUSTER_PORTS
	for p in $CLUSTER_PORTS; do
		wait_until 10 redis-cli -p "$p" PING || return 1
	done
	# shellcheck disable=SC2086
	redis-cli --cluster create $addrs --cluster-replicas 0 --cluster-yes \
		>"$TMP/cluster/create.log" 2>&1 || return 1
	wait_until 20 _cluster_ok
}

_cluster_ok() {
	local p
	for p in $CLUSTER_PORTS; do
		redis-cli -p "$p" CLUSTER INFO | grep -q '^cluster_state:ok' || return 1
	done
}

# cluster_cli PORT ARGS... - redis-cli following redirections, from node PORT
cluster_cli() { local p=$1; shift; redis-cli -c -p "$p" "$@"; }

# cluster_node_of KEY - the port of the node that serves KEY's slot
cluster_node_of() {
	local slot
	slot=$(redis-cli -p "${CLUSTER_PORTS%% *}" CLUSTER KEYSLOT "$1")
	redis-cli -p "${CLUSTER_PORTS%% *}" CLUSTER NODES | awk -v s="$slot" '
		{ split($2, a, "[:@]")
		  for (i = 9; i <= NF; i++) {
			if ($i ~ /^\[/) continue
			n = split($i, r, "-"); hi = n > 1 ? r[2] : r[1]
			if (s + 0 >= r[1] + 0 && s + 0 <= hi + 0) print a[2] } }'
}

# cluster_migrate SLOT FROM-PORT TO-PORT - start moving a slot the way
#	redis-cli --cluster reshard does, step by step: the slot importing on
#	TO, migrating on FROM, its keys moved; SETSLOT NODE is the caller's
cluster_migrate() {
	local slot=$1 from=$2 to=$3 fid tid keys
	fid=$(redis-cli -p "$from" CLUSTER MYID)
	tid=$(redis-cli -p "$to" CLUSTER MYID)
	redis-cli -p "$to" CLUSTER SETSLOT "$slot" IMPORTING "$fid" >/dev/null
	redis-cli -p "$from" CLUSTER SETSLOT "$slot" MIGRATING "$tid" >/dev/null
	while :; do
		keys=$(redis-cli -p "$from" CLUSTER GETKEYSINSLOT "$slot" 100 | tr '\n' ' ')
		[ -z "${keys// /}" ] && break
		# shellcheck disable=SC2086
		redis-cli -p "$from" MIGRATE 127.0.0.1 "$to" "" 0 5000 KEYS $keys >/dev/null
	done
}

# cluster_stop - stop every node cluster_start started
cluster_stop() {
	local pid
	for pid in "${_CLUSTER_PIDS[@]}"; do
		kill_wait "$pid" 5 2>/dev/null
	done
	_CLUSTER_PIDS=()
}
