#!/usr/bin/env bash
# Checks the package as an administrator would meet it, on this (CI) machine, as root:
# install with apt, look at files, user, group and permissions, run the installed binary as
# _hearingai exactly as the unit's ExecStart line says and see a dropped file transcribed,
# verify the unit and its sandbox score, then remove and purge and look at what is left.
# systemd is not running in CI, so the unit is checked offline and its command run directly.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test-deb: run as root (it installs the package)" >&2; exit 1; }

passed=0
failed=0
check() {
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then
        passed=$((passed + 1)); echo "ok   $what"
    else
        failed=$((failed + 1)); echo "FAIL $what"
    fi
}

deb=$(ls dist/hearingai_*_"$(dpkg --print-architecture)".deb | tail -1)
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq flite sox systemd curl >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" || { echo "FAIL apt install $deb"; exit 1; }

# Files and metadata.
check "binary installed" test -x /usr/bin/hearingai
check "binary needs no Swift toolchain library" bash -c '! ldd /usr/bin/hearingai | grep -E "swift|Foundation|dispatch|BlocksRuntime"'
check "dependencies computed, model included" bash -c 'dpkg-query -W -f="\${Depends}" hearingai | grep -q libsndfile1 && dpkg-query -W -f="\${Depends}" hearingai | grep -q pocketsphinx-en-us'
check "ffmpeg recommended, not required" bash -c 'dpkg-query -W -f="\${Recommends}" hearingai | grep -qw ffmpeg && ! dpkg-query -W -f="\${Depends}" hearingai | grep -qw ffmpeg'
check "configuration is a conffile" bash -c 'dpkg-query --control-show hearingai conffiles | grep -q /etc/hearingai/hearingai.yaml'
check "unit installed" test -f /lib/systemd/system/hearingai.service
check "man page installed" test -f /usr/share/man/man1/hearingai.1.gz
check "system user _hearingai with home /nonexistent" bash -c 'getent passwd _hearingai | grep -q ":/nonexistent:"'
check "drop group hearingai" getent group hearingai
check "inbox: _hearingai:hearingai 2770" bash -c '[ "$(stat -c %U:%G:%a /var/spool/hearingai/inbox)" = _hearingai:hearingai:2770 ]'
check "outbox: _hearingai:hearingai 2750" bash -c '[ "$(stat -c %U:%G:%a /var/spool/hearingai/outbox)" = _hearingai:hearingai:2750 ]'
check "state dir /var/lib/hearingai: _hearingai" bash -c '[ "$(stat -c %U /var/lib/hearingai)" = _hearingai ]'

# The unit, offline.
check "systemd-analyze verify" systemd-analyze verify /lib/systemd/system/hearingai.service
exposure=$(systemd-analyze security --offline=true /lib/systemd/system/hearingai.service 2>/dev/null \
    | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "     systemd-analyze security exposure: ${exposure:-?}"
check "exposure at most 2.5" awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.5) }'

# The installed binary as _hearingai, with the unit's own command line.
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/hearingai.service)
log=$(mktemp)
# setpriv execs the command itself (runuser would wrap it in a session that eats SIGTERM).
# systemd would make the RuntimeDirectory the API socket lives in.
install -d -m 0750 -o _hearingai -g hearingai /run/hearingai
setpriv --reuid=_hearingai --regid=hearingai --init-groups -- $exec_start >"$log" 2>&1 &
service=$!
sample=$(mktemp -d)
chmod 0755 "$sample"
flite -voice slt -t "my father used to tell us stories every night before bed when we were young" -o "$sample/story.wav"
sleep 1
install -m 0644 -g hearingai "$sample/story.wav" /var/spool/hearingai/inbox/.story.wav.tmp
mv /var/spool/hearingai/inbox/.story.wav.tmp /var/spool/hearingai/inbox/story.wav
for _ in $(seq 1 120); do
    [ -f /var/spool/hearingai/outbox/story.txt ] && break
    sleep 0.5
done
check "dropped file transcribed by the installed service" grep -q "stories every night" /var/spool/hearingai/outbox/story.txt
check "outputs owned by _hearingai, group-readable" bash -c '[ "$(stat -c %U:%G /var/spool/hearingai/outbox/story.txt)" = _hearingai:hearingai ]'
check "source moved to processed" test -f /var/spool/hearingai/processed/story.wav
check "queue in /var/lib/hearingai" test -f /var/lib/hearingai/queue.sqlite
check "API socket mode 0660, group hearingai" bash -c '[ "$(stat -c %a:%G /run/hearingai/api.sock)" = 660:hearingai ]'
check "API over the socket: a member of hearingai transcribes" bash -c \
    "setpriv --reuid=_hearingai --regid=hearingai --init-groups -- curl -sS --unix-socket /run/hearingai/api.sock \
     -F file=@$sample/story.wav -F response_format=text http://localhost/v1/audio/transcriptions | grep -q 'stories every night'"
check "API over the socket: others are refused" bash -c \
    "! setpriv --reuid=nobody --regid=nogroup --clear-groups -- curl -sS --unix-socket /run/hearingai/api.sock http://localhost/healthz"
kill -TERM $service
wait $service
check "service exits 0 on SIGTERM" test $? -eq 0
sed 's/^/     | /' "$log" | tail -5

# Remove keeps configuration and data; purge removes configuration, state and the user.
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq hearingai >/dev/null
check "remove: binary gone" test ! -e /usr/bin/hearingai
check "remove: configuration kept" test -f /etc/hearingai/hearingai.yaml
check "remove: queue kept" test -f /var/lib/hearingai/queue.sqlite
check "remove: user kept" getent passwd _hearingai
# The secrets file README.Debian tells administrators to make is configuration: purge removes it.
install -m 0600 /dev/null /etc/hearingai/environment
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq hearingai >/dev/null
check "purge: configuration gone (the secrets file too)" test ! -e /etc/hearingai
check "purge: queue gone" test ! -e /var/lib/hearingai
check "purge: user gone" bash -c '! getent passwd _hearingai'
check "purge: group gone" bash -c '! getent group hearingai'
check "purge: transcripts kept for the operator" test -f /var/spool/hearingai/outbox/story.txt
rm -rf /var/spool/hearingai "$sample" "$log"

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
