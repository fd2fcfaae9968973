# syntax=docker/dockerfile-upstream:1.4.0
FROM --platform=linux/amd64 debian:stable-slim

# PORTER_INIT

COPY --link helpers.sh /opt/copied-helpers.sh
RUN --mount=type=cache,target=/var/cache/shpc-compat \
    echo "made in a cache mount" > /var/cache/shpc-compat/note && cp /var/cache/shpc-compat/note /opt/from-cache.txt

# PORTER_MIXINS
