#!/bin/bash
# Start one Kafka node of the compose stack with SASL/SCRAM (docs/security.md).
# server.properties is written from the KAFKA_* environment (the apache/kafka image's convention:
# KAFKA_A_B -> a.b, "__" -> "_", "___" -> "-"); the storage is formatted once, with the SCRAM
# credential of the inter-broker principal `broker` (brokers talk over SASL, so that user must
# exist before the cluster does; the roles' users and ACLs are added by kafka-setup: acls.sh).
set -euo pipefail
umask 077 # the properties hold the broker's password: this container's user only
conf=/tmp/server.properties
: > "$conf"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS) continue ;;
  esac
  key=$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' |
    sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  printf '%s=%s\n' "$key" "$value" >> "$conf"
done < <(env | grep '^KAFKA_')
# the health check's login (the broker principal)
cat > /tmp/client.properties <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$BROKER_SCRAM_PASSWORD";
PROPS
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "$CLUSTER_ID" \
  --config "$conf" --add-scram "SCRAM-SHA-512=[name=broker,password=$BROKER_SCRAM_PASSWORD]"
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
