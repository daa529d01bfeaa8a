#!/usr/bin/env bash
# Make a real Apache Kafka available for the test suite and `make demo-kafka`: the server jars
# (org.apache.kafka:kafka_2.13, KRaft broker + controller) and their runtime dependencies, fetched from
# Maven Central with `mvn dependency:copy-dependencies` on scripts/kafka/pom.xml into
# $SIGNAL_FACTORY_KAFKA_HOME (default ~/.cache/signal-factory/kafka): libs/*.jar and a VERSION file.
# tests/transports/kafka_broker.py starts a throwaway single-node broker from them (java -cp libs/*).
# Also installs Debian's kcat when it is missing (tests/transports/test_kafka_kcat.py drives it).
# Idempotent: a second run finds the jars of the pom's version and kcat, and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${SIGNAL_FACTORY_TEST_KAFKA:-}" && "${SIGNAL_FACTORY_TEST_KAFKA}" != "mock" ]]; then
  echo "ensure-kafka: SIGNAL_FACTORY_TEST_KAFKA is set; tests use that cluster (kcat still checked)"
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_install() {  # apt_install PACKAGE...: Debian packages, non-interactive, no recommends
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-kafka: need $*; install them with your package manager" >&2
    exit 1
  fi
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

if ! command -v kcat >/dev/null 2>&1; then
  echo "ensure-kafka: installing Debian's kcat"
  apt_install kcat
fi

need=()
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "ensure-kafka: installing ${need[*]}"
  apt_install "${need[@]}"
fi

HOME_DIR="${SIGNAL_FACTORY_KAFKA_HOME:-$HOME/.cache/signal-factory/kafka}"
POM=scripts/kafka/pom.xml
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
if [[ -f "$HOME_DIR/VERSION" && "$(cat "$HOME_DIR/VERSION")" == "$VERSION" \
      && -f "$HOME_DIR/libs/kafka_2.13-$VERSION.jar" ]]; then
  echo "ensure-kafka: Apache Kafka $VERSION in $HOME_DIR; nothing to do"
  exit 0
fi

echo "ensure-kafka: fetching Apache Kafka $VERSION (kafka_2.13 and its runtime dependencies) with Maven"
mkdir -p "$HOME_DIR"
staging="$(mktemp -d "$HOME_DIR/.libs.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging"
if [[ ! -f "$staging/kafka_2.13-$VERSION.jar" ]]; then
  echo "ensure-kafka: Maven ran, but $staging has no kafka_2.13-$VERSION.jar" >&2
  exit 1
fi
rm -rf "$HOME_DIR/libs" && mv "$staging" "$HOME_DIR/libs"
echo "$VERSION" > "$HOME_DIR/VERSION"
echo "ensure-kafka: Apache Kafka $VERSION in $HOME_DIR ($(ls "$HOME_DIR/libs" | wc -l) jars)"
