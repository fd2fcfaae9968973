FROM stackhub/debian-base:bookworm
ARG BUNDLE_DIR
ARG BUNDLE_UID=65532
ARG BUNDLE_USER=nonroot
ARG BUNDLE_GID=0
RUN useradd ${BUNDLE_USER} -m -u ${BUNDLE_UID} -g ${BUNDLE_GID} -o
COPY rootfs/ /
USER 65532:0
WORKDIR /cnab/app
ENV HOME=/home/nonroot
CMD ["/cnab/app/run"]
