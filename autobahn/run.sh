#!/usr/bin/env bash
# Run the Autobahn|Testsuite (wstest) against wsproto's example servers and
# clients, for every adapter (blocking and tokio), each its own wstest agent.
#
#   autobahn/run.sh [server|client|both] [CASES]
#   autobahn/run.sh install      # only install wstest
#
# CASES is a comma-separated list of case patterns (e.g. "1.*,2.*" or "7.1.*").
# It may also be given as AUTOBAHN_CASES; the default is every case, "1.*" through "13.*".
# 12.* and 13.* (permessage-deflate) run in batches of one case group each.
#
# Other environment variables:
#   AUTOBAHN_EXCLUDE_CASES  comma-separated patterns to exclude (default: none)
#   AUTOBAHN_ADAPTERS       adapters to test (default "blocking tokio"; agents wsproto, wsproto-tokio)
#   AUTOBAHN_JOBS           (role, batch) jobs run at once, each its own wstest (default 2)
#   AUTOBAHN_SKIP_BUILD=1   do not run cargo build
#   AUTOBAHN_SERVER_BIN     blocking server binary (default target/release/examples/autobahn_server)
#   AUTOBAHN_CLIENT_BIN     blocking client binary (default target/release/examples/autobahn_client)
#   AUTOBAHN_TOKIO_SERVER_BIN, AUTOBAHN_TOKIO_CLIENT_BIN  the tokio ones (tokio_autobahn_*)
#   AUTOBAHN_TIMEOUT        seconds allowed for one wstest or client run (default 900)
#   AUTOBAHN_DEBIAN_MIRROR  Debian mirror URL for bullseye (default: the machine's own)
#   AUTOBAHN_WORK_DIR       install directory (default autobahn/work)
#   AUTOBAHN_REPORTS_DIR    report directory (default autobahn/reports)
#
# wstest needs Python 2. It is installed once, privately, into autobahn/work
# (PyPy 2.7 from Debian bullseye plus the suite from PyPI); see README.md.
# Reports go to autobahn/reports/{server,client}; autobahn/check.py judges them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
WORK="${AUTOBAHN_WORK_DIR:-$HERE/work}"
REPORTS="${AUTOBAHN_REPORTS_DIR:-$HERE/reports}"

ROLE="${1:-both}"
CASES="${2:-${AUTOBAHN_CASES:-1.*,2.*,3.*,4.*,5.*,6.*,7.*,8.*,9.*,10.*,11.*,12.*,13.*}}"
EXCLUDE_CASES="${AUTOBAHN_EXCLUDE_CASES:-}"
RUN_TIMEOUT="${AUTOBAHN_TIMEOUT:-900}"
STARTUP_TIMEOUT=60
# Where cargo builds (CARGO_TARGET_DIR, as cargo reads it): CI builds the
# examples in a target directory of their own, so that this build does not
# wait on the lock of the one the other steps use.
BUILD_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SERVER_BIN="${AUTOBAHN_SERVER_BIN:-$BUILD_DIR/release/examples/autobahn_server}"
CLIENT_BIN="${AUTOBAHN_CLIENT_BIN:-$BUILD_DIR/release/examples/autobahn_client}"
TOKIO_SERVER_BIN="${AUTOBAHN_TOKIO_SERVER_BIN:-$BUILD_DIR/release/examples/tokio_autobahn_server}"
TOKIO_CLIENT_BIN="${AUTOBAHN_TOKIO_CLIENT_BIN:-$BUILD_DIR/release/examples/tokio_autobahn_client}"
ADAPTERS="${AUTOBAHN_ADAPTERS:-blocking tokio}"
JOBS="${AUTOBAHN_JOBS:-2}"

# Bump when the install recipe changes, so that old installs are redone.
INSTALL_STAMP="pypy2.7-bullseye autobahntestsuite-25.10.1 recipe-1"

PYPY_ROOT="$WORK/pypy"
PYPY="$PYPY_ROOT/usr/bin/pypy"
PYPY_LIBS="$PYPY_ROOT/usr/lib:$PYPY_ROOT/usr/lib/x86_64-linux-gnu"
SITE_DIR="$WORK/site"   # pip --target directory with the suite
BOOT_DIR="$WORK/boot"   # pip, setuptools and wheel for PyPy

log() { printf '==> [autobahn] %s\n' "$*"; }
die() { printf '==> [autobahn] ERROR: %s\n' "$*" >&2; exit 1; }

# step DESCRIPTION CMD...: run CMD with its output in $WORK/install.log,
# shown only if it fails.
step() {
    local what="$1"
    shift
    printf '\n### %s\n' "$*" >>"$WORK/install.log"
    "$@" >>"$WORK/install.log" 2>&1 ||
        { tail -n 40 "$WORK/install.log" >&2; die "$what failed (full log: $WORK/install.log)"; }
}

# ---------------------------------------------------------------------------
# Background processes: remembered here, killed on exit.
BG_PIDS=()

stop_pid() {
    local pid="$1"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        # Give it 5 s to exit, then force it.
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local pid
    # Every process is asked to stop at once, then each is waited for (and
    # forced): a job's own processes are gone before the script that started
    # the job gives up on it.
    for pid in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
        stop_pid "$pid"
    done
    BG_PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Install

pypy() { LD_LIBRARY_PATH="$PYPY_LIBS" "$PYPY" "$@"; }

install_ok() {
    [[ -f "$WORK/.installed" && "$(cat "$WORK/.installed")" == "$INSTALL_STAMP" ]] || return 1
    pypy -c "import site; site.addsitedir('$SITE_DIR'); import autobahntestsuite.fuzzing" \
        >/dev/null 2>&1
}

# The machine's own Debian mirror (first non-security "…/debian" URI in its apt sources).
debian_mirror() {
    if [[ -n "${AUTOBAHN_DEBIAN_MIRROR:-}" ]]; then
        echo "$AUTOBAHN_DEBIAN_MIRROR"
        return
    fi
    local files=() f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] && files+=("$f")
    done
    [[ ${#files[@]} -gt 0 ]] || die "no apt sources found; set AUTOBAHN_DEBIAN_MIRROR"
    # One-line format: "deb [opts] URI suite comp..."; deb822 format: "URIs: URI ...".
    uri="$(
        sed -n -e 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
               -e 's/^[[:space:]]*URIs:[[:space:]]*//p' "${files[@]}" |
            tr ' ' '\n' | grep -E '^https?://[^ ]*/debian/?$' | head -n1 || true
    )"
    [[ -n "$uri" ]] || die "no Debian mirror in the apt sources; set AUTOBAHN_DEBIAN_MIRROR"
    echo "${uri%/}"
}

# PyPy 2.7 and the libraries it needs that bookworm no longer has, from bullseye,
# unpacked into $PYPY_ROOT (nothing is installed system-wide).
install_pypy() {
    local mirror apt_dir
    mirror="$(debian_mirror)"
    apt_dir="$WORK/apt"
    log "downloading PyPy 2.7 from Debian bullseye ($mirror)"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$WORK/debs"
    echo "deb $mirror bullseye main" >"$apt_dir/sources.list"
    local apt_opts=(
        -q
        -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache::Archives=$apt_dir/archives"
        -o "APT::Sandbox::User=root"
        -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
        -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
        -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
    )
    step "apt-get update (bullseye)" apt-get "${apt_opts[@]}" update
    step "apt-get download (bullseye)" \
        env -C "$WORK/debs" apt-get "${apt_opts[@]}" download pypy pypy-lib pypy-dev libffi7 libssl1.1
    local deb
    for deb in "$WORK/debs"/*.deb; do
        step "unpacking $deb" dpkg -x "$deb" "$PYPY_ROOT"
    done
    pypy -c 'import zlib, _ssl' >>"$WORK/install.log" 2>&1 ||
        { ldd "$PYPY_ROOT/usr/lib/pypy/bin/pypy-c" >&2 || true; die "the unpacked PyPy does not run"; }
    log "$(pypy -c 'import sys; print("PyPy " + sys.version.split()[0] + " runs")')"
}

# pip/setuptools/wheel for PyPy, then the suite and its dependencies, from PyPI.
install_suite() {
    log "bootstrapping pip for PyPy"
    mkdir -p "$WORK/wheels"
    step "downloading pip for PyPy" python3 -m pip download --no-deps --only-binary :all: \
        --python-version 2.7 --implementation py --abi none --platform any \
        -d "$WORK/wheels" pip==20.3.4 setuptools==44.1.1 wheel==0.37.1
    step "bootstrapping pip for PyPy" env LD_LIBRARY_PATH="$PYPY_LIBS" \
        "$PYPY" "$WORK/wheels/pip-20.3.4-py2.py3-none-any.whl/pip" install --no-compile \
        --no-index --find-links "$WORK/wheels" --target "$BOOT_DIR" \
        pip==20.3.4 setuptools==44.1.1 wheel==0.37.1

    # SITE_DIR is on the path while installing, so that setup_requires (Twisted
    # wants incremental) finds the pinned packages instead of fetching new ones.
    local pip=(env "PYTHONPATH=$BOOT_DIR:$SITE_DIR" LD_LIBRARY_PATH="$PYPY_LIBS"
        "$PYPY" -m pip install --no-python-version-warning --no-compile --target "$SITE_DIR")
    log "installing the suite's dependencies into $SITE_DIR"
    step "pip install (build requirements)" "${pip[@]}" incremental==16.10.1 typing
    step "pip install (dependencies)" "${pip[@]}" incremental==16.10.1 \
        txaio==2.1.0 Twisted==19.10.0 zope.interface==4.6.0 jinja2==2.11.3 markupsafe==1.1.1 Werkzeug==1.0.1 klein==17.10.0 \
        unittest2==1.1.0 six==1.16.0 'autobahn[twisted]==0.10.9'
    # Its metadata pins pyOpenSSL and cryptography, which do not build under
    # PyPy here and are only needed for wss://.
    log "installing autobahntestsuite 25.10.1"
    step "pip install autobahntestsuite" "${pip[@]}" --no-deps autobahntestsuite==25.10.1
    step "patching fuzzing.py" patch_fuzzing
}

# Without pyOpenSSL, `twisted.internet.ssl` cannot be imported; fuzzing.py imports
# it at the top and builds a TLS client context even for ws:// URLs.
patch_fuzzing() {
    python3 - "$SITE_DIR/autobahntestsuite/fuzzing.py" <<'EOF'
import sys
path = sys.argv[1]
with open(path, "rb") as f:
    src = f.read()
edits = [
    (b"from twisted.internet import reactor, ssl\r\n",
     b"from twisted.internet import reactor\r\n"
     b"try:\r\n"
     b"   from twisted.internet import ssl\r\n"
     b"except ImportError:  # no pyOpenSSL: ws:// only\r\n"
     b"   ssl = None\r\n"),
    (b"            self.contextFactory = ssl.ClientContextFactory()\r\n",
     b"            self.contextFactory = ssl.ClientContextFactory() if ssl else None\r\n"),
]
for old, new in edits:
    if src.count(old) != 1:
        sys.exit("patch_fuzzing: expected line not found: %r" % old)
    src = src.replace(old, new)
with open(path, "wb") as f:
    f.write(src)
EOF
}

install() {
    if install_ok; then
        log "wstest already installed in $WORK"
        return
    fi
    log "installing wstest into $WORK"
    local start=$SECONDS
    # Only what this script creates: WORK may be a directory given by the user.
    local d
    for d in .installed install.log pypy site boot wheels apt debs cache; do
        rm -rf "${WORK:?}/$d"
    done
    mkdir -p "$WORK"
    # Keep pip's downloads inside WORK: a fresh install really starts from nothing.
    export PIP_CACHE_DIR="$WORK/cache/pip"
    install_pypy
    install_suite
    rm -rf "$WORK/cache" "$WORK/apt" "$WORK/debs"
    echo "$INSTALL_STAMP" >"$WORK/.installed"
    install_ok || die "wstest install did not work"
    log "wstest installed in $((SECONDS - start)) s"
}


# ---------------------------------------------------------------------------
# Helpers

# "${WSTEST[@]}" ARGS...: wstest, through the wrapper that binds it to 127.0.0.1.
WSTEST=(env "LD_LIBRARY_PATH=$PYPY_LIBS" "$PYPY" -u "$HERE/wstest_wrapper.py" "$SITE_DIR")

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_bg LOG CMD...: start CMD in the background (killed on exit); sets BG_PID.
start_bg() {
    local log_file="$1"
    shift
    "$@" >"$log_file" 2>&1 &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

# run_bounded LOG CMD...: run CMD for at most RUN_TIMEOUT seconds; sets RC.
# It runs in the background so that a signal to this script is handled at once.
run_bounded() {
    local log_file="$1"
    shift
    start_bg "$log_file" timeout "$RUN_TIMEOUT" "$@"
    RC=0
    wait "$BG_PID" || RC=$?
}

# wait_listening PORT PID NAME: until 127.0.0.1:PORT accepts, PID must stay alive.
wait_listening() {
    local port="$1" pid="$2" name="$3" deadline=$((SECONDS + STARTUP_TIMEOUT))
    while ! python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
        "$port" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "$name exited before listening on 127.0.0.1:$port"
        ((SECONDS < deadline)) || die "$name not listening on 127.0.0.1:$port after $STARTUP_TIMEOUT s"
        sleep 0.2
    done
}

# JSON list from a comma-separated list of patterns.
json_list() {
    python3 -c 'import json, sys; print(json.dumps([c.strip() for c in sys.argv[1].split(",") if c.strip()]))' "$1"
}

# The case selection, shared by both specs.
spec_cases() {
    printf '"cases": %s,\n  "exclude-cases": %s,\n  "exclude-agent-cases": {},\n  "options": {"failByDrop": false}' \
        "$(json_list "$CASES")" "$(json_list "$EXCLUDE_CASES")"
}

# Sets N_CASES, how many cases the selection holds (wstest waits forever when none).
count_cases() {
    local spec="$REPORTS/cases.$BASHPID.json"
    printf '{\n  %s\n}\n' "$(spec_cases)" >"$spec"
    N_CASES="$("${WSTEST[@]}" --count-cases "$spec")" || die "cannot count the cases of $spec"
    ((N_CASES > 0)) || die "no case matches \"$CASES\"${EXCLUDE_CASES:+ minus \"$EXCLUDE_CASES\"}"
}

# ---------------------------------------------------------------------------
# Server role: wstest's fuzzing client against every adapter's server, one
# agent per server, in one wstest process.
run_server_role() {
    local out="$REPORTS/server" spec servers="" i port pid
    rm -rf "$out"
    mkdir -p "$out"
    for i in "${!AGENTS[@]}"; do
        [[ -x "${SERVER_BINS[$i]}" ]] || die "server binary not found: ${SERVER_BINS[$i]}"
        port="$(free_port)"
        log "server role: starting ${SERVER_BINS[$i]} 127.0.0.1:$port (agent ${AGENTS[$i]})"
        start_bg "$out/server-${AGENTS[$i]}.log" "${SERVER_BINS[$i]}" "127.0.0.1:$port"
        pid=$BG_PID
        wait_listening "$port" "$pid" "${SERVER_BINS[$i]}"
        servers+="${servers:+, }{\"agent\": \"${AGENTS[$i]}\", \"url\": \"ws://127.0.0.1:$port\"}"
    done

    spec="$out/fuzzingclient.json"
    cat >"$spec" <<SPEC
{
  "outdir": "$out",
  "servers": [$servers],
  $(spec_cases)
}
SPEC
    log "server role: running wstest -m fuzzingclient, $N_CASES cases x ${#AGENTS[@]} agents (log: $out/wstest.log)"
    run_bounded "$out/wstest.log" "${WSTEST[@]}" -m fuzzingclient -s "$spec"
    ((RC != 124)) || die "server role: wstest did not finish within $RUN_TIMEOUT s"
    ((RC == 0)) || { tail -n 30 "$out/wstest.log" >&2; die "server role: wstest failed (exit $RC)"; }
    log "server role: done in $((SECONDS - ROLE_START)) s"
}

# Client role: every adapter's client, one after the other, against one
# wstest fuzzing server.
run_client_role() {
    local out="$REPORTS/client" port wstest_pid spec i
    rm -rf "$out"
    mkdir -p "$out"

    port="$(free_port)"
    spec="$out/fuzzingserver.json"
    cat >"$spec" <<SPEC
{
  "url": "ws://127.0.0.1:$port",
  "outdir": "$out",
  $(spec_cases)
}
SPEC
    log "client role: starting wstest -m fuzzingserver on 127.0.0.1:$port (log: $out/wstest.log)"
    start_bg "$out/wstest.log" "${WSTEST[@]}" -m fuzzingserver -s "$spec" --webport 0
    wstest_pid=$BG_PID
    wait_listening "$port" "$wstest_pid" "wstest fuzzingserver"

    for i in "${!AGENTS[@]}"; do
        [[ -x "${CLIENT_BINS[$i]}" ]] || die "client binary not found: ${CLIENT_BINS[$i]}"
        log "client role: running ${CLIENT_BINS[$i]} ws://127.0.0.1:$port ${AGENTS[$i]}, $N_CASES cases (log: $out/client-${AGENTS[$i]}.log)"
        run_bounded "$out/client-${AGENTS[$i]}.log" "${CLIENT_BINS[$i]}" "ws://127.0.0.1:$port" "${AGENTS[$i]}"
        ((RC != 124)) || die "client role: ${CLIENT_BINS[$i]} did not finish within $RUN_TIMEOUT s"
        ((RC == 0)) || { tail -n 30 "$out/client-${AGENTS[$i]}.log" >&2; die "client role: ${CLIENT_BINS[$i]} failed (exit $RC)"; }
    done
    stop_pid "$wstest_pid"
    log "client role: done in $((SECONDS - ROLE_START)) s"
}

# run_job ROLE BATCH_DIR CASES: one role over one batch, checked; runs in a
# subshell of its own (its background processes are stopped when it ends).
run_job() {
    local role="$1"
    REPORTS="$2"
    CASES="$3"
    BG_PIDS=()
    trap cleanup EXIT
    trap 'exit 143' TERM
    mkdir -p "$REPORTS"
    count_cases
    ROLE_START=$SECONDS
    "run_${role}_role"
    local check_args=(--role "$role" --expect "$role=$N_CASES")
    for agent in "${AGENTS[@]}"; do
        check_args+=(--agent "$agent")
    done
    python3 "$HERE/check.py" "$REPORTS" "${check_args[@]}"
}

# ---------------------------------------------------------------------------

main() {
    local roles
    case "$ROLE" in
        server) roles=(server) ;;
        client) roles=(client) ;;
        both) roles=(server client) ;;
        install) roles=() ;;
        *) die "usage: $0 [server|client|both|install] [CASES]" ;;
    esac
    command -v python3 >/dev/null || die "python3 is required"

    install
    [[ ${#roles[@]} -gt 0 ]] || return 0

    local a
    AGENTS=() SERVER_BINS=() CLIENT_BINS=()
    for a in $ADAPTERS; do
        case "$a" in
            blocking) AGENTS+=(wsproto) SERVER_BINS+=("$SERVER_BIN") CLIENT_BINS+=("$CLIENT_BIN") ;;
            tokio) AGENTS+=(wsproto-tokio) SERVER_BINS+=("$TOKIO_SERVER_BIN") CLIENT_BINS+=("$TOKIO_CLIENT_BIN") ;;
            *) die "unknown adapter in AUTOBAHN_ADAPTERS: $a (blocking, tokio)" ;;
        esac
    done
    ((${#AGENTS[@]} > 0)) || die "AUTOBAHN_ADAPTERS names no adapter"

    if [[ "${AUTOBAHN_SKIP_BUILD:-0}" != 1 ]]; then
        log "building the examples (cargo build --release)"
        local build=(cargo build --release)
        [[ " $ADAPTERS " != *" blocking "* ]] || build+=(--example autobahn_server --example autobahn_client)
        [[ " $ADAPTERS " != *" tokio "* ]] ||
            build+=(--features tokio --example tokio_autobahn_server --example tokio_autobahn_client)
        (cd "$ROOT" && "${build[@]}")
    fi

    # wstest under PyPy keeps the zlib state of every permessage-deflate case
    # it ran (about 250 MB a case in 12.* and 13.*), so a long run is split
    # into batches of at most one case group each, every batch a fresh wstest.
    # Each (role, batch) is a job; JOBS of them run at once, each a wstest
    # process testing every adapter.
    local batches=() batch i=0 role failed=0 total=0 start=$SECONDS
    IFS=';' read -r -a batches <<<"$(batches_of "$CASES")"
    local all_reports="$REPORTS" dir
    local job_names=() job_logs=()
    declare -A job_of=() # running job's pid -> its index
    log "adapters: ${AGENTS[*]}; ${#batches[@]} batches x ${#roles[@]} roles, $JOBS at a time"

    # finish_one: waits for whichever running job ends first, shows its log,
    # counts a failure.
    finish_one() {
        local done_pid="" rc=0 n
        wait -n -p done_pid "${!job_of[@]}" || rc=$?
        n="${job_of[$done_pid]}"
        unset "job_of[$done_pid]"
        cat "${job_logs[$n]}"
        if ((rc == 0)); then
            log "${job_names[$n]}: passed"
        else
            log "${job_names[$n]}: FAILED (exit $rc)"
            failed=$((failed + 1))
        fi
    }

    for batch in "${batches[@]}"; do
        i=$((i + 1))
        dir="$all_reports"
        ((${#batches[@]} == 1)) || dir="$all_reports/batch-$i"
        for role in "${roles[@]}"; do
            while ((${#job_of[@]} >= JOBS)); do finish_one; done
            mkdir -p "$dir"
            job_names+=("batch $i/${#batches[@]} ($batch) $role role")
            job_logs+=("$dir/$role-job.log")
            log "starting ${job_names[-1]}"
            (run_job "$role" "$dir" "$batch") >"$dir/$role-job.log" 2>&1 &
            job_of[$!]=$total
            BG_PIDS+=("$!")
            total=$((total + 1))
        done
    done
    while ((${#job_of[@]} > 0)); do finish_one; done
    BG_PIDS=()
    log "summary of every case, per role and agent: $all_reports/results.json"
    python3 "$HERE/summary.py" "$all_reports" "$all_reports/results.json"
    ((failed == 0)) || die "$failed of $total jobs failed (see above)"
    log "all $total jobs passed (${#batches[@]} batches, ${roles[*]}, agents ${AGENTS[*]}) in $((SECONDS - start)) s"
}

# batches_of CASES: the selection split into batches, separated by ';'.
# Patterns of 12.* and 13.* each become batches of one subgroup (12.1.*, ...);
# everything else stays together in the first batch.
batches_of() {
    python3 - "$1" <<'PY'
import sys
rest, heavy = [], []
for pattern in (p.strip() for p in sys.argv[1].split(",")):
    if pattern in ("12.*", "13.*"):
        groups = range(1, 6) if pattern == "12.*" else range(1, 8)
        heavy += ["%s.%d.*" % (pattern[:-2], g) for g in groups]
    elif pattern:
        rest.append(pattern)
batches = ([",".join(rest)] if rest else []) + heavy
print(";".join(batches))
PY
}

main
