#!/usr/bin/env bash
# Bring up Request Tracker 5 (Debian's packages, SQLite, RT's standalone
# server) on 127.0.0.1 as a peer help desk for benchmarks and forwarding tests.
#
#   start-rt.sh [PORT]      PORT defaults to 8880
#
# Environment:
#   RT_STATE        state dir (database, config, log, pid, token);
#                   default ${TMPDIR:-/tmp}/handraise-rt
#   RT_USER         unprivileged user the server runs as when started by root;
#                   default www-data
#   RT_BCRYPT_COST  bcrypt cost for password/token hashes (RT's $BcryptCost,
#                   4..31, RT's default 12); lower it to make every
#                   token-authenticated request cheaper. A token made with
#                   another cost is replaced.
#   RT_WAIT_TRIES   how many one-second polls to wait for the server (180)
#   RT_WORKERS      Starlet worker processes (4; Starlet's own default is 10)
#
# Needs root the first time (apt-get) and to run the server as RT_USER.
# The last two lines printed are RT_URL=... and RT_TOKEN=...; running it again
# reuses the server and the token.
set -euo pipefail

PORT="${1:-8880}"
RT_STATE="${RT_STATE:-${TMPDIR:-/tmp}/handraise-rt}"
RT_USER="${RT_USER:-www-data}"
RT_WAIT_TRIES="${RT_WAIT_TRIES:-180}"
RT_WORKERS="${RT_WORKERS:-4}"
RT_BCRYPT_COST="${RT_BCRYPT_COST:-}"

RT_HOME=/usr/share/request-tracker5
RT_LIB="$RT_HOME/lib"
RT_SERVER="$RT_HOME/libexec/rt-server"
# w3m: RT's preferred HTML-to-text converter (it warns on every start without one).
PACKAGES=(request-tracker5 rt5-db-sqlite rt5-standalone w3m curl)

log() { printf 'start-rt: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$PORT" =~ ^[0-9]+$ && PORT -gt 0 && PORT -lt 65536 ]] || die "bad port: $PORT"
[[ -z "$RT_BCRYPT_COST" || ("$RT_BCRYPT_COST" =~ ^[0-9]+$ && RT_BCRYPT_COST -ge 4 && RT_BCRYPT_COST -le 31) ]] ||
    die "bad RT_BCRYPT_COST (4..31): $RT_BCRYPT_COST"
[[ "$RT_WAIT_TRIES" =~ ^[0-9]+$ ]] || die "bad RT_WAIT_TRIES: $RT_WAIT_TRIES"
[[ "$RT_WORKERS" =~ ^[1-9][0-9]*$ ]] || die "bad RT_WORKERS: $RT_WORKERS"
# The path goes into Perl single-quoted strings in RT's configuration.
[[ "$RT_STATE" == /* && "$RT_STATE" != *[\'\\]* ]] || die "RT_STATE must be an absolute path without quotes or backslashes: $RT_STATE"

URL="http://127.0.0.1:$PORT"
CONFIG="$RT_STATE/RT_SiteConfig.pm"
CONFIG_DIR="$RT_STATE/RT_SiteConfig.d"
DB="$RT_STATE/rt5.db"
DB_READY="$RT_STATE/rt5.db.ready"
PID_FILE="$RT_STATE/rt-server.pid"
ARGS_FILE="$RT_STATE/rt-server.args"
LOG_FILE="$RT_STATE/rt-server.log"
TOKEN_FILE="$RT_STATE/token"

installed() {
    local pkg status
    for pkg in "$@"; do
        status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == "install ok installed" ]] || return 1
    done
}

install_packages() {
    installed "${PACKAGES[@]}" && return 0
    ((EUID == 0)) || die "Debian packages missing (${PACKAGES[*]}); run once as root to install them"
    log "installing ${PACKAGES[*]} (first run only)"
    local extra=()
    # Without dbconfig-common's help the package leaves the database to us;
    # otherwise its postinst would build a second, unused one under /var/lib.
    if ! installed dbconfig-sqlite3; then
        extra+=(dbconfig-no-thanks)
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "request-tracker5 request-tracker5/dbconfig-install boolean false" | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" "${extra[@]}" >&2
}

# Run a command as the server's user (root drops to RT_USER; others run as
# themselves), with RT reading only our configuration: RT_SITE_CONFIG replaces
# /etc/request-tracker5/RT_SiteConfig.pm and RT_SITE_CONFIG_DIR the
# RT_SiteConfig.d snippets that Debian's debconf answers went into.
AS_RT_USER=(env HOME="$RT_STATE" RT_SITE_CONFIG="$CONFIG" RT_SITE_CONFIG_DIR="$CONFIG_DIR")
if ((EUID == 0)); then
    AS_RT_USER=(setpriv --reuid="$RT_USER" --regid="$RT_USER" --init-groups -- "${AS_RT_USER[@]}")
else
    RT_USER="$(id -un)"
fi
as_rt_user() { "${AS_RT_USER[@]}" "$@"; }

prepare_state() {
    mkdir -p "$RT_STATE"
    # One start-rt.sh at a time per state dir (fd 9 is closed for the server).
    exec 9>"$RT_STATE/.lock"
    flock 9
    if ((EUID == 0)); then
        getent passwd "$RT_USER" >/dev/null || die "no such user: $RT_USER"
        chown "$RT_USER:" "$RT_STATE"
        chmod 700 "$RT_STATE"
    fi
    as_rt_user test -w "$RT_STATE" -a -x "$RT_STATE" ||
        die "$RT_USER cannot write $RT_STATE: choose another RT_STATE"
    as_rt_user mkdir -p "$RT_STATE/mason_data" "$RT_STATE/sessions" "$CONFIG_DIR"
}

# RT's site configuration for this peer; rewritten only when its content
# changes (a change restarts a running server).
write_config() {
    local tmp cost_line=""
    [[ -n "$RT_BCRYPT_COST" ]] && cost_line="Set(\$BcryptCost, $RT_BCRYPT_COST);"
    tmp="$(mktemp)"
    cat >"$tmp" <<EOF
# Written by start-rt.sh; changes are overwritten.
Set(\$rtname, 'handraise.test');
Set(\$Organization, 'handraise.test');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $PORT);
Set(\$WebPath, '');
Set(\$WebBaseURL, '$URL');
Set(\$CanonicalizeRedirectURLs, 0);
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$DB');
Set(\$LogToSyslog, undef);
Set(\$LogToSTDERR, 'warning');
Set(\$LogToFile, undef);
Set(\$Timezone, 'UTC');
$cost_line
# Outgoing mail goes to an mbox file in the state dir, never to the MTA.
Set(\$MailCommand, 'mbox');
\$RT::VarPath = '$RT_STATE';
\$RT::MasonDataDir = '$RT_STATE/mason_data';
\$RT::MasonSessionDir = '$RT_STATE/sessions';
1;
EOF
    if ! cmp -s "$tmp" "$CONFIG" 2>/dev/null; then
        install -m 644 "$tmp" "$CONFIG"
        CONFIG_CHANGED=1
    fi
    rm -f "$tmp"
}

init_database() {
    [[ -f "$DB_READY" && -f "$DB" ]] && return 0
    log "initialising the SQLite database in $DB"
    rm -f "$DB" "$DB-journal" "$DB_READY"
    # For SQLite, "init" creates the file itself; there is no DBA to ask for.
    as_rt_user /usr/sbin/rt-setup-database-5 --action init --skip-create >&2 ||
        die "rt-setup-database-5 failed"
    touch "$DB_READY"
}

# Pid of the server this script started, if it still runs.
running_pid() {
    local pid
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(<"$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'rt-server' || return 1
    echo "$pid"
}

# Whether the process started last is still alive (not gone, not a zombie).
# Right after the fork its command line is still this script's, so it is not
# asked to be rt-server yet: that would read a server still starting as exited.
launched_alive() {
    local pid state
    pid="$(<"$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/stat" ]] || return 1
    state="$(cut -d' ' -f3 <"/proc/$pid/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

answers() {
    local code
    code="$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$URL/REST/2.0/" || true)"
    [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

start_server() {
    local pid args="port=$PORT workers=$RT_WORKERS"
    if pid="$(running_pid)"; then
        if [[ -z "${CONFIG_CHANGED:-}" && "$(cat "$ARGS_FILE" 2>/dev/null)" == "$args" ]]; then
            log "reusing the running server (pid $pid)"
            return 0
        fi
        log "settings changed: restarting the server (pid $pid)"
        RT_STATE="$RT_STATE" bash "$(dirname "${BASH_SOURCE[0]}")/stop-rt.sh"
    fi
    answers && die "something else already answers on $URL"
    log "starting RT on $URL"
    : >"$LOG_FILE"
    chown "$RT_USER:" "$LOG_FILE"
    # A plain command in the background (no function, no subshell) and setpriv
    # and env exec, so $! is the server's own pid.
    "${AS_RT_USER[@]}" "$RT_SERVER" --server Starlet --host 127.0.0.1 --port "$PORT" \
        --max-workers "$RT_WORKERS" \
        </dev/null >>"$LOG_FILE" 2>&1 9>&- &
    echo "$!" >"$PID_FILE"
    echo "$args" >"$ARGS_FILE"
}

wait_until_up() {
    local try
    for ((try = 1; try <= RT_WAIT_TRIES; try++)); do
        answers && { log "up after ${try} poll(s)"; return 0; }
        launched_alive || { tail -n 30 "$LOG_FILE" >&2; die "the server exited"; }
        sleep 1
    done
    tail -n 30 "$LOG_FILE" >&2
    die "no answer from $URL after $RT_WAIT_TRIES polls"
}

token_works() {
    local token="$1" code
    code="$(curl -s -o /dev/null -m 30 -w '%{http_code}' \
        -H "Authorization: token $token" "$URL/REST/2.0/user/root" || true)"
    [[ "$code" == 200 ]]
}

ensure_token() {
    local token="" cost="" want="${RT_BCRYPT_COST:-default}"
    if [[ -s "$TOKEN_FILE" ]]; then
        read -r token cost <"$TOKEN_FILE" || true
        if [[ "$cost" == "$want" ]] && token_works "$token"; then
            log "reusing the API token"
            RT_TOKEN="$token"
            return 0
        fi
    fi
    log "creating an API token for root"
    # RT checks a presented token against each of its owner's tokens in turn,
    # a bcrypt hash each, so earlier tokens of ours are revoked first.
    # shellcheck disable=SC2016 # Perl code, expanded by Perl
    token="$(as_rt_user perl -I"$RT_LIB" -e '
        use strict; use warnings;
        use RT; RT::LoadConfig(); RT::Init();
        my $label = "handraise peer";
        my $user = RT::User->new(RT->SystemUser);
        $user->Load("root");
        die "no root user\n" unless $user->id;
        my $old = RT::AuthTokens->new(RT->SystemUser);
        $old->LimitOwner(VALUE => $user->id);
        while (my $t = $old->Next) {
            next unless $t->Description eq $label;
            my ($ok, $msg) = $t->Delete;
            die "cannot revoke token ", $t->id, ": $msg\n" unless $ok;
        }
        my $current = RT::CurrentUser->new($user);
        my $token = RT::AuthToken->new($current);
        my ($id, $msg, $string) = $token->Create(
            Owner => $user->id, Description => $label);
        die "token not created: $msg\n" unless $id;
        print "$string\n";
    ')" || die "token creation failed"
    [[ -n "$token" ]] || die "token creation printed nothing"
    token_works "$token" || die "the new token is refused by $URL"
    (umask 077 && printf '%s %s\n' "$token" "$want" >"$TOKEN_FILE")
    RT_TOKEN="$token"
}

install_packages
prepare_state
write_config
init_database
start_server
wait_until_up
ensure_token
echo "RT_URL=$URL"
echo "RT_TOKEN=$RT_TOKEN"
