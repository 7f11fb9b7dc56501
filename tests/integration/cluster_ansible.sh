# The Ansible role (share/mambaboot/cluster/ansible): `ansible-playbook -c
# local` against localhost copies the binary and installs the demo stack
# from a mirror carrying its build; a second run reports no change.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/buildmirror.sh"
if ! command -v ansible-playbook >/dev/null 2>&1; then
	ok "# SKIP ansible-playbook is not installed (Debian: ansible-core)"
	done_testing; exit 0
fi
M="$T_TMP/mirror"
build_mirror "$M" ||
	{ fail "the mirror could not be made"; done_testing; exit 1; }
play() {
	ANSIBLE_LOCAL_TEMP="$T_TMP/ansible-tmp" ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
	ansible-playbook -i localhost, -c local "$MB_ROOT/share/mambaboot/cluster/ansible/site.yml" \
		-e "mambaboot_binary=$MB mambaboot_bin=$T_TMP/bin/mambaboot mambaboot_mirror=$M" \
		-e "mambaboot_stack=demo mambaboot_prefix=$T_TMP/prefix mambaboot_cache=$T_TMP/cache" \
		-e '{"mambaboot_install_args": ["--no-build"]}' > "$T_TMP/play.out" 2>&1
}
mkdir -p "$T_TMP/bin"
play
rc=$?
recap=$(grep -A1 'PLAY RECAP' "$T_TMP/play.out" | tail -1)
[ "$rc" = 0 ] && ok "the playbook runs" || fail "ansible-playbook exit $rc" "$(tail -20 "$T_TMP/play.out")"
case $recap in *"changed=2"*"failed=0"*) ok "the first run reports changed (binary copied, stack installed)" ;; *) fail "first recap" "$recap" ;; esac
[ -x "$T_TMP/bin/mambaboot" ] && "$T_TMP/prefix/bin/mbdemo-tool" >/dev/null && ok "the binary is copied and the stack installed" || fail "not installed"
grep -q '1 from the build cache, 0 built' "$T_TMP/play.out" && ok "the build came from the mirror" || fail "no cache hit reported" "$(grep -i 'build cache' "$T_TMP/play.out")"
play
rc=$?
recap=$(grep -A1 'PLAY RECAP' "$T_TMP/play.out" | tail -1)
[ "$rc" = 0 ] && case $recap in *"changed=0"*"failed=0"*) true ;; *) false ;; esac &&
	ok "a second run reports no change" || fail "second recap" "$recap"
done_testing
