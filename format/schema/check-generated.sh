#!/bin/sh
# check-generated.sh: regenerate format/internal/fb from edgeinfer.fbs into a
# temporary directory and compare it with the committed code. Exits 1 when
# they differ (run `go generate ./format` and commit the result), 2 when
# flatc is missing or fails. Run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
format=$(dirname "$here")
want_version="flatc version 2.0.8"
if ! command -v flatc >/dev/null 2>&1; then
	echo "check-generated: flatc not found (want $want_version)" >&2
	exit 2
fi
if [ "$(flatc --version)" != "$want_version" ]; then
	echo "check-generated: $(flatc --version), want $want_version (output would differ)" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Same command as the first //go:generate line in format/generate.go.
(cd "$format" && flatc --go --go-namespace fb -o "$tmp" schema/edgeinfer.fbs) || exit 2
if ! diff -ru "$format/internal/fb" "$tmp/fb"; then
	echo "check-generated: format/internal/fb is stale; run: go generate ./format" >&2
	exit 1
fi
echo "check-generated: format/internal/fb matches schema/edgeinfer.fbs"
