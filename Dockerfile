# syntax=docker/dockerfile:1
# Build: make image (or docker build --build-arg VERSION=$(git describe --always) .)
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/flowenroll ./cmd/flowenroll

# Static, non-root, no shell; CA certificates included for https://*.api.gong.io.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flowenroll /usr/local/bin/flowenroll
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/flowenroll"]
CMD ["--help"]
