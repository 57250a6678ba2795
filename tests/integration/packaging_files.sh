#!/usr/bin/env bash
# The files the package ships besides the binary, checked on the build tree (no root needed):
# the man page help2man generated (a section per command, paths of an installed program, never
# the build tree) and the bash completion (commands, options and option values from --help).
set -euo pipefail

skip() { echo "SKIPPED: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

: "${CARDHARNESS:?}" "${CARDHARNESS_BUILD_DIR:?}" "${CARDHARNESS_SOURCE_DIR:?}"
command -v help2man >/dev/null || skip "help2man not installed (no man page is built)"
man=$CARDHARNESS_BUILD_DIR/man/cardharness.1.gz
[ -f "$man" ] || fail "no man page at $man (help2man is installed, so the build should make it)"
page=$(zcat "$man")
commands=$("$CARDHARNESS" --help | awk '/^Subcommands:/ {on = 1; next} on && /^$/ {exit} on && /^  [a-z]/ {print $1}')
[ "$(wc -l <<<"$commands")" -ge 10 ] || fail "--help lists too few commands: $commands"
for cmd in $commands lab\ start lab\ stop; do
    grep -qF ".SS \"cardharness $cmd\"" <<<"$page" || fail "man page has no section for '$cmd'"
done
grep -qF 'cardharness doctor' <<<"$page" || fail "man page lacks doctor"
grep -qF '/var/lib/cardharness' <<<"$page" || fail "man page does not name /var/lib/cardharness"
! grep -qF "$CARDHARNESS_SOURCE_DIR" <<<"$page" || fail "man page names the source tree"
! grep -qF "$CARDHARNESS_BUILD_DIR" <<<"$page" || fail "man page names the build tree"
echo "man page: $(wc -l <<<"$commands") commands, installed paths only"

# Bash completion, driven as bash drives it.
completion=$CARDHARNESS_SOURCE_DIR/packaging/bash-completion/cardharness
complete_words() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _cardharness; printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$CARDHARNESS" "$@" | sort | tr '\n' ' '
}
expect() { # expect "WORDS..." -- EXPECTED
    local got
    got=$(complete_words "${@:1:$#-1}")
    [ "$got" = "${*: -1} " ] || fail "completing '${*:1:$#-1}': got '$got', expected '${*: -1}'"
}
expect "do" "doctor"
expect lab st "start status stop"
expect doctor --l "--lang"
expect doctor --lang "" "en ja"
expect report --format j "json junit"
expect lab start --d "--dir --driver"
got=$(complete_words run --db "$CARDHARNESS_BUILD_DIR/bin/cardh")
[[ $got == *"/bin/cardharness "* ]] || fail "--db does not complete file names: $got"
echo "bash completion: commands, sub-commands, options, values and files"
