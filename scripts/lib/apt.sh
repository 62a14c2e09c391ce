# Debian packages for scripts/serve and scripts/test: `apt_install PKG…`.
#
# On a fresh Debian another apt-get (unattended-upgrades) often holds the
# package locks for a few minutes: wait for it, at most APT_LOCK_WAIT seconds
# (default 300), instead of failing at once. `apt-get install` waits by itself
# with DPkg::Lock::Timeout; `apt-get update` takes the lists lock, which that
# option doesn't cover, so it is retried while the lock is what stops it.

APT_LOCK_WAIT=${APT_LOCK_WAIT:-300}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_update() {
    local deadline=$((SECONDS + APT_LOCK_WAIT)) err told=
    err=$(mktemp)
    until as_root apt-get -qq update 2>"$err"; do
        if ! grep -q "Could not get lock" "$err" || [ "$SECONDS" -ge "$deadline" ]; then
            cat "$err" >&2
            rm -f "$err"
            return 1
        fi
        [ -n "$told" ] || echo "    another apt-get holds the package lists; waiting (at most ${APT_LOCK_WAIT}s)"
        told=1
        sleep 1
    done
    rm -f "$err"
}

apt_install() {
    apt_update
    DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" \
        install -y -qq "$@" >/dev/null
}
