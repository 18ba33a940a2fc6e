# syntax=docker/dockerfile:1
# Build: make image (or docker build --build-arg VERSION=$(git describe --always) .)
# Without a Docker engine, scripts/image.sh (make image-oci) builds the same
# image with buildah into an OCI layout; both lay out the image's files with
# scripts/image-rootfs.sh.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY Makefile ./
COPY cmd ./cmd
COPY pkg ./pkg
COPY scripts/image-rootfs.sh ./scripts/
ARG VERSION=dev
# make build: the flags CI's image uses too (CGO_ENABLED=0, -trimpath,
# -s -w, the version). The image has no libc, so the binary must be static.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    make build VERSION="${VERSION}" && \
    scripts/image-rootfs.sh /rootfs bin/flowenroll /etc/ssl/certs/ca-certificates.crt

# Nothing but the binary, the CA bundle (for https://*.api.gong.io), a passwd
# entry for 65532 and /tmp: no shell, no package manager.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title=flowenroll \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /rootfs/ /
# Numeric, so that the kubelet can check runAsNonRoot against it; the
# manifests in jobs/ run as the same 65532.
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/flowenroll"]
