#!/bin/sh
# Entry point of the Haven image: builds HAVEN_AMQP_URL from parts so that the
# broker password comes from a file (a compose secret), never from the compose
# file, the image or `docker inspect`.
#
#   HAVEN_AMQP_USER           the service's broker user (haven-intake, haven-router, ...)
#   HAVEN_AMQP_PASSWORD_FILE  a file holding its password (one line)
#   HAVEN_AMQP_HOST           default "broker"; or the nodes of a cluster, comma-separated,
#                             each `host` or `host:port` (rabbitmq,rabbitmq-2,rabbitmq-3):
#                             one URL per node, in this order, comma-separated in
#                             HAVEN_AMQP_URL (Haven fails over between them)
#   HAVEN_AMQP_PORT           default 5672, for a host given without its port
#   HAVEN_AMQP_VHOST          default %2F (the vhost "/", already URL-encoded)
#
# Without HAVEN_AMQP_PASSWORD_FILE the environment is passed on unchanged
# (HAVEN_AMQP_URL as given, or Haven's default). The password is never printed.
set -eu

if [ -n "${HAVEN_AMQP_PASSWORD_FILE:-}" ]; then
    if [ -z "${HAVEN_AMQP_USER:-}" ]; then
        echo "haven-entrypoint: HAVEN_AMQP_PASSWORD_FILE is set but HAVEN_AMQP_USER is not" >&2
        exit 2
    fi
    if [ ! -r "$HAVEN_AMQP_PASSWORD_FILE" ]; then
        echo "haven-entrypoint: cannot read HAVEN_AMQP_PASSWORD_FILE $HAVEN_AMQP_PASSWORD_FILE" >&2
        exit 2
    fi
    password=$(head -n 1 "$HAVEN_AMQP_PASSWORD_FILE")
    # Only characters that need no URL encoding (scripts/compose-secrets writes
    # token_urlsafe passwords): a stray ':' '@' or '/' would silently name
    # another host or user.
    case "$password" in
        "" | *[!A-Za-z0-9._~-]*)
            echo "haven-entrypoint: the password in $HAVEN_AMQP_PASSWORD_FILE must be non-empty and use only A-Z a-z 0-9 . _ ~ -" >&2
            exit 2
            ;;
    esac
    case "$HAVEN_AMQP_USER" in
        *[!A-Za-z0-9._~-]*)
            echo "haven-entrypoint: HAVEN_AMQP_USER must use only A-Z a-z 0-9 . _ ~ -" >&2
            exit 2
            ;;
    esac
    # One URL per node: the same user, password and vhost on each (Haven
    # refuses a list that mixes them). Host names and ports are checked like
    # the user: a stray '@' or '/' would name another host or user.
    urls=""
    old_ifs=$IFS
    # Split on commas (spaces around them ignored), no pathname expansion.
    IFS=", "
    set -f
    for node in ${HAVEN_AMQP_HOST:-broker}; do
        IFS=$old_ifs
        case "$node" in
            *:*) host=${node%%:*} port=${node#*:} ;;
            *) host=$node port=${HAVEN_AMQP_PORT:-5672} ;;
        esac
        case "$host" in
            # '_' too: compose service names (and so Docker's DNS names) may hold it.
            "" | *[!A-Za-z0-9._-]*)
                echo "haven-entrypoint: HAVEN_AMQP_HOST must be host or host:port names, comma-separated (A-Z a-z 0-9 . _ -)" >&2
                exit 2
                ;;
        esac
        case "$port" in
            "" | *[!0-9]*)
                echo "haven-entrypoint: the port of $host in HAVEN_AMQP_HOST (or HAVEN_AMQP_PORT) must be a number" >&2
                exit 2
                ;;
        esac
        urls="${urls:+$urls,}amqp://${HAVEN_AMQP_USER}:${password}@${host}:${port}/${HAVEN_AMQP_VHOST:-%2F}"
    done
    IFS=$old_ifs
    set +f
    if [ -z "$urls" ]; then
        echo "haven-entrypoint: HAVEN_AMQP_HOST names no host" >&2
        exit 2
    fi
    HAVEN_AMQP_URL=$urls
    export HAVEN_AMQP_URL
    unset urls node host port old_ifs
    unset password
fi

exec "$@"
