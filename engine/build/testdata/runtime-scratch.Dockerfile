FROM scratch
COPY rootfs/ /
USER 65532:0
WORKDIR /cnab/app
ENV HOME=/home/nonroot PATH=/usr/local/bin:/cnab/app
CMD ["/cnab/app/run"]
