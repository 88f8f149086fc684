#!/bin/sh
# Run once by the postgres image's entrypoint when it creates the data
# directory (/docker-entrypoint-initdb.d): the role a streaming standby
# connects as (the replica profile of docker-compose.yml) and the
# pg_hba.conf entry that lets it replicate with a password.
set -eu
: "${POSTGRES_REPLICATION_USER:=replicator}"
if [ -z "${POSTGRES_REPLICATION_PASSWORD:-}" ]; then
    echo "POSTGRES_REPLICATION_PASSWORD is not set: no replication role" >&2
    exit 0
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v user="$POSTGRES_REPLICATION_USER" \
    -v password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE :"user" WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication $POSTGRES_REPLICATION_USER all scram-sha-256" \
    >> "$PGDATA/pg_hba.conf"
