# Every malformed recipe or stack in tests/recipes/bad gives exit 2 and one
# error line naming FILE:LINE:COLUMN and the expected message.
. "$MB_ROOT/tests/lib.sh"

for f in "$MB_ROOT"/tests/recipes/bad/*.yaml; do
	name=$(basename "$f" .yaml)
	want=$(sed -n 's/^# expect: //p' "$f")
	dir="$T_TMP/$name"
	mkdir -p "$dir/stacks"
	if grep -q '^# place: stacks' "$f"; then
		dest="$dir/stacks/case.yaml"
	else
		dest="$dir/case.yaml"
	fi
	cp "$f" "$dest"
	case $want in
	[0-9]*:[0-9]*:*) want="$dest:$want" ;;
	esac
	run_mb plan --recipes "$dir" anything
	expect_err "$name" 2 "$want"
done
done_testing
