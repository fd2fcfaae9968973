FROM --platform=linux/amd64 debian:stable-slim

ARG CUSTOM_APP_VERSION

# PORTER_INIT

RUN echo "app ${CUSTOM_APP_VERSION} by $(id -un 65532)" > /opt/built.txt

# PORTER_MIXINS
