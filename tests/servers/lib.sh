# Test servers for shell tests, sourced after tests/lib.sh:
#   start_nginx DIR       nginx serving DIR/www: NGX_DIR, NGX_HTTP, NGX_HTTPS (ports)
#   start_faultserver DIR faultserver.py serving DIR: FAULT_PORT, FAULT_LOG
#   servers_stop          both (also done at exit)
#   make_blob FILE BYTES  random bytes; BLOB_SHA is their sha256
#   fetch_recipe DIR NAME FILENAME URL SHA [SIZE [MIRROR...]]: a one-artifact wheel recipe
SERVERS_DIR=$MB_ROOT/tests/servers
NGX_DIR= FAULT_PID=

servers_stop() {
	[ -n "$NGX_DIR" ] && sh "$SERVERS_DIR/nginx.sh" stop "$NGX_DIR"
	[ -n "$FAULT_PID" ] && kill "$FAULT_PID" 2>/dev/null
	NGX_DIR= FAULT_PID=
	return 0
}
trap 'servers_stop; rm -rf "$T_TMP"' EXIT

start_nginx() {
	NGX_DIR=$1
	set -- $(sh "$SERVERS_DIR/nginx.sh" start "$NGX_DIR") || return 1
	NGX_HTTP=$1 NGX_HTTPS=$2
}

start_faultserver() {
	FAULT_LOG=$1/requests.log
	: > "$FAULT_LOG"
	python3 "$SERVERS_DIR/faultserver.py" --root "$1" --log "$FAULT_LOG" \
		--port-file "$1/.port" > /dev/null 2>&1 &
	FAULT_PID=$!
	i=0
	while [ ! -s "$1/.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	FAULT_PORT=$(cat "$1/.port")
}

make_blob() {
	head -c "$2" /dev/urandom > "$1"
	BLOB_SHA=$(sha256sum "$1" | cut -d' ' -f1)
}

fetch_recipe() {
	_d=$1 _n=$2 _f=$3 _u=$4 _s=$5
	shift 5
	mkdir -p "$_d"
	{
		printf 'name: %s\nversion: "1.0"\nkind: wheel\nartifacts:\n  - url: "%s"\n' "$_n" "$_u"
		[ -n "$_s" ] && printf '    sha256: %s\n' "$_s"
		printf '    filename: %s\n' "$_f"
		if [ $# -gt 0 ]; then
			[ -n "$1" ] && printf '    size: %s\n' "$1"
			shift
		fi
		if [ $# -gt 0 ]; then
			printf '    mirrors:\n'
			for m in "$@"; do printf '      - "%s"\n' "$m"; done
		fi
	} > "$_d/$_n.yaml"
}

# cache_is_clean CACHE: blobs/ holds only files named by their own sha256,
# and no temporary file is left in tmp/.
cache_is_clean() {
	for f in "$1"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || return 1
	done
	[ -z "$(ls -A "$1/tmp" 2>/dev/null)" ]
}
