# Sourced by .ci/run: makes the Kafka tests mandatory. The broker itself is started (and stopped)
# by the session fixture in tests/services/kafka.py; here we only make sure Java, Maven and the
# broker jars (cached under $CIVIC_CI_CACHE/kafka) are there.
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  echo "CI: installing Java and Maven for the Kafka broker"
  (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq default-jre-headless maven >/dev/null) \
    || echo "CI: could not install Java/Maven; the kafka tests will fail" >&2
fi
KAFKA_JARS="${CIVIC_CI_CACHE:-$PWD/.cache}/kafka" scripts/kafka.sh fetch || echo "CI: fetching the Kafka jars failed" >&2
export KAFKA_JARS="${CIVIC_CI_CACHE:-$PWD/.cache}/kafka"
export CIVIC_REQUIRE_KAFKA=1
