#!/bin/sh
# Install the Debian packages named as arguments that are not installed yet
# (with sudo when not root). Quiet when everything is there.
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing Debian packages:$missing" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq >&2 &&
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >&2
