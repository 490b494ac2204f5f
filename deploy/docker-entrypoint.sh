#!/bin/sh
# Entry point of the Haven image: builds HAVEN_AMQP_URL from parts so that the
# broker password comes from a file (a compose secret), never from the compose
# file, the image or `docker inspect`.
#
#   HAVEN_AMQP_USER           the service's broker user (haven-intake, haven-router, ...)
#   HAVEN_AMQP_PASSWORD_FILE  a file holding its password (one line)
#   HAVEN_AMQP_HOST           default "broker" (the network alias of every RabbitMQ node)
#   HAVEN_AMQP_PORT           default 5672
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
    HAVEN_AMQP_URL="amqp://${HAVEN_AMQP_USER}:${password}@${HAVEN_AMQP_HOST:-broker}:${HAVEN_AMQP_PORT:-5672}/${HAVEN_AMQP_VHOST:-%2F}"
    export HAVEN_AMQP_URL
    unset password
fi

exec "$@"
