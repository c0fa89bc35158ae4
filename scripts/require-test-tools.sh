#!/usr/bin/env bash
# npm test needs a few things outside npm: say which is missing and how to get it, instead of
# failing deep inside a test. `bash .ci/run` installs all of them on a fresh Debian machine.
missing=()
/usr/bin/python3 -c 'import consul' >/dev/null 2>&1 || missing+=("python3-consul (Debian's python-consul client, imported by /usr/bin/python3)")
command -v openssl >/dev/null 2>&1 || missing+=("openssl (the agent-channel TLS tests make their certificates with it)")
[ -x "${TRIBUNE_CHROMIUM:-/usr/bin/chromium}" ] || missing+=("chromium (Debian's package, at /usr/bin/chromium: the web UI tests drive it headless)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "npm test needs what is not installed here:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  echo "Install it with: apt-get update && apt-get install -y python3-consul chromium" >&2
  echo "or run 'bash .ci/run', which installs everything the tests need and then runs them." >&2
  exit 1
fi
