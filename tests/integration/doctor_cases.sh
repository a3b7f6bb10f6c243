# doctor_cases.sh - sourced by the test_doctor_*.sh scripts, after lib.sh.
#   check NAME STATUS CODE ARGS...
#       runs "mtls doctor --json $DOCTOR_OPTS ARGS", asserts the exit status
#       at once (leaving the output in $T/out), and records that the JSON
#       must hold a finding CODE ("none": no error at all).
#   check_codes
#       parses every recorded output with one python3 run (its start-up,
#       not the doctor, is what costs time) and fails on any case whose
#       finding is missing or whose JSON is malformed.
#   q CMD...
#       a setup step, quiet unless it fails.
#   two_cas
#       the PKI of "mtls init" in pki/, and another CA in other/ (CN
#       "Other CA") whose certificates pki's servers must refuse.
DOCTOR_OPTS=${DOCTOR_OPTS:-}
NCASES=0
mkdir -p "$T/cases"
: >"$T/cases.list"

q() {
	"$@" >/dev/null 2>"$T/setup.err" ||
	    { cat "$T/setup.err"; fail "setup: $*"; }
}

two_cas() {
	q "$MTLS" init --dir pki
	q "$MTLS" ca init --dir other --name "Other CA"
}

check() {
	name=$1 want=$2 code=$3; shift 3
	NCASES=$((NCASES + 1))
	# shellcheck disable=SC2086
	"$MTLS" doctor --json $DOCTOR_OPTS "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		cat "$T/out" "$T/err"
		fail "$name: mtls doctor $* exited $got, expected $want"
	fi
	cp "$T/out" "$T/cases/$NCASES.json"
	printf '%s %s %s\n' "$NCASES" "$code" "$name" >>"$T/cases.list"
	ok "$name: exit $want"
}

check_codes() {
	python3 - "$T/cases" "$T/cases.list" <<'PY' || fail "a finding is missing"
import json, os, sys
bad = 0
for line in open(sys.argv[2]):
    n, code, name = line.rstrip("\n").split(" ", 2)
    path = os.path.join(sys.argv[1], n + ".json")
    doc = json.load(open(path))
    codes = [f["code"] for f in doc["findings"]]
    for f in doc["findings"]:
        assert f["explanation"] and f["fix"] and f["subject"] is not None, f
        assert f["severity"] in ("ok", "warning", "error"), f
    errors = [f["code"] for f in doc["findings"] if f["severity"] == "error"]
    assert doc["errors"] == len(errors), path
    if code == "none":
        good = not errors
    else:
        good = code in codes
    print("%s %s: %s in %s" % ("ok" if good else "FAIL", name, code,
                               " ".join(codes)))
    bad += not good
sys.exit(1 if bad else 0)
PY
	ok "all $NCASES cases have the finding they must"
}

# free_ports N: N distinct TCP ports free on 127.0.0.1 now, from one
# python3 run.
free_ports() {
	python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$1"
}
