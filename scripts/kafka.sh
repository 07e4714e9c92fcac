#!/usr/bin/env bash
# A single Apache Kafka broker (KRaft: broker + controller in one JVM) on 127.0.0.1, no Docker.
#
#   scripts/kafka.sh fetch         fetch the broker jars into .cache/kafka/ (Maven, once)
#   scripts/kafka.sh up   [DIR]    configure (first time), start, wait until it answers;
#                                  prints the bootstrap address (also in DIR/bootstrap)
#   scripts/kafka.sh down [DIR]    stop it (data kept: `up DIR` again resumes on the same port)
#   scripts/kafka.sh purge [DIR]   stop it and delete DIR
#   scripts/kafka.sh status [DIR]
#
# DIR defaults to var/kafka. The first `up` picks two free ports (client and controller),
# writes DIR/server.properties, formats DIR/data and records the port in DIR/bootstrap.
# Environment: KAFKA_JARS (default .cache/kafka), KAFKA_HEAP (default -Xmx512m),
# KAFKA_START_TIMEOUT (seconds, default 90), KAFKA_PORT (default: a free one).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JARS="${KAFKA_JARS:-$ROOT/.cache/kafka}"
cmd="${1:-}"
DIR="${2:-$ROOT/var/kafka}"
mkdir -p "$(dirname "$DIR")"
DIR="$(cd "$(dirname "$DIR")" && pwd)/$(basename "$DIR")"

die() { echo "kafka.sh: $*" >&2; exit 1; }

need_tools() {
  command -v java >/dev/null || die "java is not installed (Debian: apt-get install -y default-jre-headless)"
}

fetch() {
  if ls "$JARS"/kafka_2.13-*.jar >/dev/null 2>&1; then return 0; fi
  command -v mvn >/dev/null || die "maven is not installed (Debian: apt-get install -y maven)"
  echo "kafka.sh: fetching the Kafka broker jars into $JARS" >&2
  mvn -q -f "$ROOT/tools/kafka/pom.xml" -Dkafka.cache="$JARS" dependency:copy-dependencies >&2
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pid_alive() { [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; }

configure() {
  [ -f "$DIR/server.properties" ] && return 0
  mkdir -p "$DIR/data"
  local port cport cluster
  port="${KAFKA_PORT:-$(free_port)}"
  cport="$(free_port)"
  while [ "$cport" = "$port" ]; do cport="$(free_port)"; done
  cluster="$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
  cat > "$DIR/server.properties" <<PROPS
# written by scripts/kafka.sh: one broker + controller for development and tests
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
log.flush.interval.messages=9223372036854775807
PROPS
  cat > "$DIR/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$DIR/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
PROPS
  echo "127.0.0.1:$port" > "$DIR/bootstrap"
  java -Dlog4j.configuration="file:$DIR/log4j.properties" -cp "$JARS/*" kafka.tools.StorageTool \
    format --cluster-id="$cluster" -c "$DIR/server.properties" --ignore-formatted > "$DIR/format.log" 2>&1 \
    || { cat "$DIR/format.log" >&2; die "formatting $DIR/data failed"; }
}

up() {
  need_tools
  fetch
  if pid_alive; then cat "$DIR/bootstrap"; return 0; fi
  configure
  local started_before=0
  [ -f "$DIR/server.log" ] && started_before=$(grep -c "Kafka Server started" "$DIR/server.log" || true)
  # setsid: the broker must not die with the shell (or test runner) that started it
  setsid java ${KAFKA_HEAP:--Xmx512m -Xms256m} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$DIR/log4j.properties" -cp "$JARS/*" kafka.Kafka "$DIR/server.properties" \
    > "$DIR/stdout.log" 2>&1 < /dev/null &
  echo $! > "$DIR/pid"
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90})) bootstrap port
  bootstrap="$(cat "$DIR/bootstrap")"; port="${bootstrap##*:}"
  while :; do
    if ! pid_alive; then tail -n 30 "$DIR/stdout.log" "$DIR/server.log" >&2 || true; die "the broker exited during start-up"; fi
    local n
    n=$(grep -c "Kafka Server started" "$DIR/server.log" 2>/dev/null || true)
    if [ "${n:-0}" -gt "$started_before" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    [ $SECONDS -ge $deadline ] && { down; die "the broker did not answer within ${KAFKA_START_TIMEOUT:-90}s (see $DIR/server.log)"; }
    sleep 0.2
  done
  echo "$bootstrap"
}

down() {
  if pid_alive; then
    local pid; pid="$(cat "$DIR/pid")"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" || true
  fi
  rm -f "$DIR/pid"
}

case "$cmd" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  purge) down; rm -rf "$DIR" ;;
  status) if pid_alive; then echo "running: $(cat "$DIR/bootstrap") (pid $(cat "$DIR/pid"))"; else echo "stopped"; exit 1; fi ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
