#!/bin/sh
# Create the database with every addon, or update the addons of an existing
# one: run by the trytond-init service of docker-compose.yml before the web
# server, the worker and cron start. Idempotent.
set -eu
database="${SPP_DATABASE:-spp}"
sppdb="python /opt/spp/tools/sppdb.py"

if $sppdb exists "$database"; then
    exec $sppdb ensure "$database"
fi
if [ -z "${SPP_ADMIN_PASSWORD:-}" ]; then
    echo "ERROR: database '$database' does not exist yet: set SPP_ADMIN_PASSWORD" \
        "(the admin password it gets), e.g." >&2
    echo "    SPP_ADMIN_PASSWORD='a-long-secret' docker compose up -d" >&2
    exit 1
fi
umask 077
password_file="$(mktemp)"
trap 'rm -f "$password_file"' EXIT
printf '%s\n' "$SPP_ADMIN_PASSWORD" > "$password_file"
$sppdb ensure "$database" --password-file "$password_file"
