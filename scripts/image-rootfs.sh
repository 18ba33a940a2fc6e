#!/usr/bin/env bash
# image-rootfs.sh: lay out the whole file system of the flowenroll image in a
# directory, the one definition of what the image holds. The Dockerfile runs
# it in its build stage and copies the result onto `scratch`; scripts/image.sh
# runs it on the host and commits the result with buildah. Both images are
# therefore the same files, owned by root, with the same modes.
#
#   scripts/image-rootfs.sh DIR BINARY [CA_BUNDLE]
#
# DIR must not exist yet. BINARY is a static flowenroll (CGO_ENABLED=0: the
# image has no libc). CA_BUNDLE defaults to Debian's
# /etc/ssl/certs/ca-certificates.crt (package ca-certificates), the bundle Go's
# crypto/x509 looks for first on Linux, at the same path in the image.
#
# The image holds:
#   /flowenroll                          the binary, 0755
#   /etc/ssl/certs/ca-certificates.crt   the CA bundle, for https://*.api.gong.io
#   /etc/passwd, /etc/group              the user 65532 "nonroot" (as in
#                                        distroless), so that tools that map
#                                        uids to names show one
#   /tmp                                 1777, for a container run without the
#                                        emptyDir the manifests mount there
set -euo pipefail

say() { echo "image-rootfs.sh: $*" >&2; }

if (($# < 2 || $# > 3)); then
	say "usage: $0 DIR BINARY [CA_BUNDLE]"
	exit 2
fi
dir=$1
binary=$2
ca=${3:-/etc/ssl/certs/ca-certificates.crt}

[[ ! -e $dir ]] || { say "$dir already exists"; exit 1; }
[[ -f $binary ]] || { say "no binary at $binary"; exit 1; }
[[ -s $ca ]] || { say "no CA bundle at $ca (install ca-certificates)"; exit 1; }

# The image has no dynamic loader: a binary that asks for one would fail with
# a puzzling "no such file or directory" at start. (e2e/image_test.go checks
# the same in the image; this says it before the image is built.)
if command -v readelf >/dev/null && LC_ALL=C readelf -l "$binary" | grep -q 'program interpreter'; then
	say "$binary is dynamically linked; build it with CGO_ENABLED=0 (make build)"
	exit 1
fi

umask 022
mkdir -p "$dir/etc/ssl/certs" "$dir/tmp"
chmod 1777 "$dir/tmp"
install -m 0755 "$binary" "$dir/flowenroll"
install -m 0644 "$ca" "$dir/etc/ssl/certs/ca-certificates.crt"
printf '%s\n' \
	'root:x:0:0:root:/root:/sbin/nologin' \
	'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$dir/etc/passwd"
printf '%s\n' \
	'root:x:0:' \
	'nonroot:x:65532:' >"$dir/etc/group"
chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
