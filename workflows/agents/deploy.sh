#!/bin/sh
# Deploy: copies the tested handlers to the environment's folder.
set -eu
env="$1" impl="$2"
dest="$(dirname "$impl")/deployed-$env"
mkdir -p "$dest"
cp "$impl" "$dest/"
echo "deployed $(basename "$impl") to $env"
