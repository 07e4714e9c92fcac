# Sourced by .ci/run: headless Chromium (Debian package `chromium`) for the report rendering test
# (tests/sinks/reports/test_html_chromium.py). Installed once with apt-get; nothing to start or stop.
if ! command -v chromium >/dev/null; then
  echo "CI: installing chromium for the HTML report test"
  (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null) \
    || echo "CI: could not install chromium; the chromium tests will fail" >&2
fi
export CIVIC_REQUIRE_CHROMIUM=1
