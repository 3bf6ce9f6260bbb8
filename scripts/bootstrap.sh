# Sourced by scripts/run and scripts/test: make sure everything hooklet needs
# is installed. Safe to run again; it only does what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

say() { printf '\033[1m[hooklet]\033[0m %s\n' "$*" >&2; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "hooklet needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)"
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtualenv in .venv"
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.hooklet-installed"
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
  say "installing hooklet and its dependencies into .venv"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev]"
  touch "$stamp"
fi

# redis-server runs the store; redis-sentinel (Debian's own package) the
# high-availability tests and the HA layout.
for tool in redis-server redis-sentinel; do
  command -v "$tool" >/dev/null 2>&1 && continue
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    say "installing $tool with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$tool" >/dev/null
    # Debian starts its own Redis on 6379 (and Sentinel on 26379); hooklet
    # runs its own instances.
  elif [ "$tool" = redis-server ]; then
    say "redis-server is missing: install Redis 7.0 or newer (e.g. 'apt-get install redis-server'"
    say "or 'brew install redis'), or point HOOKLET_REDIS_URL at a running Redis"
    [ -n "${HOOKLET_REDIS_URL:-}" ] || exit 1
  else
    say "redis-sentinel is missing (e.g. 'apt-get install redis-sentinel'); only the"
    say "high-availability tests and the Sentinel layout need it"
  fi
done

# hooklet needs Redis 7.0 or newer (EXPIRE ... NX, config/redis.conf's
# directive names); web and workers refuse an older server at start too.
if command -v redis-server >/dev/null 2>&1; then
  redis_version="$(redis-server --version | sed -n 's/.* v=\([0-9][0-9.]*\).*/\1/p')"
  if [ -n "$redis_version" ] && [ "${redis_version%%.*}" -lt 7 ]; then
    say "redis-server here is Redis $redis_version; hooklet needs Redis 7.0 or newer"
    say "(install a newer redis-server, or point HOOKLET_REDIS_URL at a Redis 7+)"
    [ -n "${HOOKLET_REDIS_URL:-}" ] || exit 1
  fi
fi

# The console's browser tests drive Debian's Chromium through chromedriver.
if [ -z "${HOOKLET_SKIP_BROWSER:-}" ] && ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    say "installing chromium and chromium-driver with apt-get (for the console's browser tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    say "chromium and chromedriver are missing: the console's browser tests need them"
    say "(e.g. 'apt-get install chromium chromium-driver'); set HOOKLET_SKIP_BROWSER=1 to stop asking"
  fi
fi

export PATH="$VENV/bin:$PATH"
