#!/usr/bin/env bash
# image.sh: build the flowenroll container image without a Docker engine, into
# an OCI image layout directory (what CI does before `make test`, so that
# e2e/image_test.go checks a real image).
#
#   scripts/image.sh [LAYOUT_DIR]      default: bin/image-oci
#
# It runs `make build` (a static binary, CGO_ENABLED=0, into bin/flowenroll),
# lays out the image's files with scripts/image-rootfs.sh (the same script the
# Dockerfile runs, so the two images hold the same files), and commits them as
# one layer on `scratch` with Debian's buildah, using the vfs storage driver
# (no overlay mounts, no daemon) in a throwaway storage directory: nothing is
# left in /var/lib/containers and two builds never share state. Run it as
# root, as CI does; buildah needs user namespaces otherwise.
#
# The image: ENTRYPOINT ["/flowenroll"], USER 65532:65532, no CMD, tagged
# flowenroll:<version> in the layout's index.json, created at the time of the
# last commit (SOURCE_DATE_EPOCH if set), so that rebuilding the same commit
# gives the same layer.
#
# Push it, or load it into a local cluster, with skopeo, e.g.
#   skopeo copy oci:bin/image-oci:flowenroll:v1.2.3 docker://registry.example.com/flowenroll:v1.2.3
#
# Only the layout's path goes to stdout; messages go to stderr.
#
# Environment:
#   VERSION   the version built in and tagged (default: the Makefile's, from
#             git describe)
#   BUILDAH   the buildah binary (default: buildah on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "image.sh: $*" >&2; }

layout=${1:-bin/image-oci}
buildah_bin=${BUILDAH:-buildah}
command -v "$buildah_bin" >/dev/null || {
	say "buildah is not installed: run scripts/ci-deps.sh (as root), or apt-get install buildah"
	exit 1
}

start=$SECONDS
VERSION=${VERSION:-$(make --no-print-directory -s print-version)}
make --no-print-directory build VERSION="$VERSION" >&2
built=$SECONDS

work=$(mktemp -d "${TMPDIR:-/tmp}/flowenroll-image.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

scripts/image-rootfs.sh "$work/rootfs" bin/flowenroll

epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
b=("$buildah_bin" --storage-driver vfs --root "$work/storage" --runroot "$work/run")
ctr=$("${b[@]}" from --name "flowenroll-image-$$" scratch)
"${b[@]}" copy --quiet "$ctr" "$work/rootfs/" / >/dev/null
"${b[@]}" config \
	--entrypoint '["/flowenroll"]' \
	--cmd '' \
	--user 65532:65532 \
	--workingdir / \
	--os linux \
	--arch "$(go env GOARCH)" \
	--label org.opencontainers.image.title=flowenroll \
	--label "org.opencontainers.image.version=$VERSION" \
	--created-by 'scripts/image.sh' \
	"$ctr"

# Commit into a fresh layout next to the old one, then swap: an existing
# layout would otherwise gain a second image, and a failed build would leave
# a half-written one where the test looks.
mkdir -p "$(dirname "$layout")"
tmp_layout="$layout.new.$$"
rm -rf "$tmp_layout"
"${b[@]}" commit --quiet --rm --format oci --disable-compression=false --timestamp "$epoch" \
	"$ctr" "oci:$tmp_layout:flowenroll:$VERSION" >/dev/null
rm -rf "$layout"
mv "$tmp_layout" "$layout"

say "flowenroll:$VERSION in $layout ($((built - start)) s make build, $((SECONDS - built)) s image)"
echo "$layout"
