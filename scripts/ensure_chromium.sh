#!/usr/bin/env bash
# The browser test needs Debian's chromium (nothing may download a browser build). Install it
# when missing and apt is usable; otherwise say why, and the browser test skips with that reason.
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Debian's chromium for the browser test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped"
else
  echo "warning: chromium is missing and cannot be installed here; the browser test will be skipped"
fi
exit 0
