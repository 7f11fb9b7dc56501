# build_mirror DIR: the demo stack built once (prefix $T_TMP/builder, cache
# $T_TMP/c0) from its generated mirror, and DIR made a mirror of it that
# carries that build (MIRROR/builds).  Source after tests/lib.sh.
build_mirror() {
	_d="$MB_ROOT/share/mambaboot/demo/recipes" _dm="$T_TMP/demo-mirror"
	python3 "$MB_ROOT/scripts/make-demo-mirror.py" "$_dm" >/dev/null &&
		"$MB" install demo --recipes "$_d" --mirror "$_dm" --offline --prefix "$T_TMP/builder" --cache "$T_TMP/c0" -q &&
		"$MB" mirror create "$1" demo --recipes "$_d" --mirror "$_dm" --offline --cache "$T_TMP/c0" -q
}

# serve_build_mirror: build_mirror "$W/www" (W=$T_TMP/ngx) served by nginx
# on NGX_HTTP (tests/servers/lib.sh, sourced before).
serve_build_mirror() {
	W="$T_TMP/ngx"
	mkdir -p "$W" && build_mirror "$W/www" && start_nginx "$W"
}
