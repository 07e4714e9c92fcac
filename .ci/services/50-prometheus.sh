# Sourced by .ci/run: Debian's `prometheus` package (the server and promtool) for the tests marked
# `prometheus`: a real Prometheus scraping running roles (tests/services/prometheus.py starts one
# per test on a free 127.0.0.1 port) and `promtool check rules` on deploy/prometheus/*.yml.
# Installed once with apt-get; nothing to start or stop here (the package's own service is not
# used: on a machine with systemd it is stopped so that it does not scrape anything by itself).
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "CI: installing prometheus"
  (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus >/dev/null) \
    || echo "CI: could not install prometheus; the prometheus tests will fail" >&2
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus || true
  fi
fi
export CIVIC_REQUIRE_PROMETHEUS=1
