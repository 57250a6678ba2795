#!/usr/bin/env bash
# Builds cardharness.1.gz at build time from the program's own --help with help2man: the top-level
# help, then one section per command (and per sub-command) with its --help, then FILES and
# ENVIRONMENT. The program runs as the installed one would ($CARDHARNESS_LAYOUT=installed), so
# the man page names /var/lib/cardharness and /usr/share/cardharness, never the build tree.
#   packaging/manpage.sh BINARY OUTPUT.1.gz VERSION
set -euo pipefail

bin=$1 out=$2 version=$3
command -v help2man >/dev/null || {
    echo "manpage.sh: help2man not found (apt-get install help2man)" >&2
    exit 3
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export CARDHARNESS_LAYOUT=installed LANG=C.UTF-8
unset LC_ALL LC_MESSAGES CARDHARNESS_PROFILES_DIR CARDHARNESS_LAB_DIR CARDHARNESS_PKI_DIR \
    CARDHARNESS_STATE_DIR CARDHARNESS_IFD_DRIVER CARDHARNESS_CATALOGUE
# A non-root builder's help would name its own home: name the variables instead.
# shellcheck disable=SC2016
export XDG_DATA_HOME='$XDG_DATA_HOME' XDG_STATE_HOME='$XDG_STATE_HOME'

# Help text as roff that keeps its line breaks.
roff_block() {
    echo ".nf"
    sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
    echo ".fi"
}

subcommands() {
    awk '/^Subcommands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }'
}

# One .SS per (sub)command, depth first.
describe() {
    local help sub
    help=$("$bin" "$@" --help)
    printf '.SS "cardharness %s"\n' "$*"
    printf '%s\n' "$help" | grep -v '^Exit codes:' | roff_block
    for sub in $(printf '%s\n' "$help" | subcommands); do
        describe "$@" "$sub"
    done
}

{
    echo "[COMMANDS]"
    for cmd in $("$bin" --help | subcommands); do
        describe "$cmd"
    done
    cat <<'ROFF'
[EXIT STATUS]
0 ok (every reader compatible; nothing blocks a test for \fBdoctor\fR), 1 a failure or an
incompatible reader, 2 usage or data-file error (\fIfile:line:column: expected ...\fR),
3 environment (no pcscd, no readers, no root; \fBdoctor\fR found something that blocks a test).
[FILES]
.TP
.I /usr/share/cardharness/profiles
cards, reader models, labs and suites (\fB$CARDHARNESS_PROFILES_DIR\fR overrides)
.TP
.I /usr/lib/cardharness/libifdcardharness.so
the lab's pcsc-lite reader driver; the system pcscd loads it only for \fBlab start \-\-system\-pcscd\fR
.TP
.I /var/lib/cardharness
as root: the results database \fIharness.db\fR, the lab's state \fIlab/\fR, the emulators' test PKI
\fIpki/\fR and the station state \fIstate/\fR; other users: \fI$XDG_DATA_HOME/cardharness\fR and
\fI$XDG_STATE_HOME/cardharness\fR
.TP
.I /etc/reader.conf.d/cardharness-lab.conf
written by \fBlab start \-\-system\-pcscd\fR, removed by \fBlab stop\fR and when the package is removed
[ENVIRONMENT]
.TP
.B PCSCLITE_CSOCK_NAME
the pcscd socket to use (\fBlab start\fR prints the lab's)
.TP
.B LC_ALL, LC_MESSAGES, LANG
a Japanese locale (ja_JP...) makes Japanese the default of every \fB\-\-lang\fR
.TP
.B CARDHARNESS_PROFILES_DIR, CARDHARNESS_LAB_DIR, CARDHARNESS_STATE_DIR, CARDHARNESS_IFD_DRIVER
override where profiles, the lab's state, the station state and the lab's driver are
.TP
.B CARDHARNESS_PIN_AUTH, CARDHARNESS_PIN_SIGN, CARDHARNESS_PIN_TEXT, CARDHARNESS_PIN_JUKI
PINs for \fBrun\fR (never command-line arguments)
[SEE ALSO]
.BR pcscd (8),
.BR pcsc_scan (1),
.BR opensc-tool (1)
ROFF
} >"$work/include"

help2man --no-info --section=1 --locale=C.UTF-8 --version-string="$version" \
    --name="card-reader compatibility test harness (My Number / Juki cards, PC/SC, USB CCID)" \
    --include="$work/include" --output="$work/cardharness.1" "$bin"
mkdir -p "$(dirname "$out")"
gzip -9n <"$work/cardharness.1" >"$out.tmp"
mv "$out.tmp" "$out"
