# shellcheck shell=bash
# Helpers for scripts/engine.sh: turn rootfs tarballs into OCI images and push them to a
# plain-HTTP registry with curl and jq alone.
#
# Why not `docker import`: every import stamps a new creation time, so the same rootfs gave a
# new image digest on each machine and each run, and that invalidates every registry cache
# keyed on the base image. Here the blobs are written byte for byte from the tarball
# (gzip -n, compact JSON, fixed "created"), so one tarball always gives one digest.
#
# Usage (sourced):
#   oci_layout_image LAYOUT TAR ARCH CREATED CMD_JSON   -> prints "DIGEST SIZE" of a manifest
#   oci_layout_index LAYOUT "DIGEST SIZE ARCH"...        -> prints "DIGEST SIZE" of an index
#   oci_push LAYOUT REGISTRY REPO TAG INDEX_DIGEST       -> uploads blobs, manifests, index

OCI_MT_INDEX=application/vnd.oci.image.index.v1+json
OCI_MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_MT_CONFIG=application/vnd.oci.image.config.v1+json
OCI_MT_LAYER=application/vnd.oci.image.layer.v1.tar+gzip
OCI_PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Moves FILE into LAYOUT/blobs/sha256/<hex>; prints "sha256:<hex> <size>".
oci_store_blob() {
  local layout=$1 file=$2 hex size
  hex=$(sha256sum "$file" | cut -d' ' -f1)
  size=$(stat -c %s "$file")
  mkdir -p "$layout/blobs/sha256"
  mv -f "$file" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

oci_blob_path() { echo "$1/blobs/sha256/${2#sha256:}"; }

# arm64 images carry variant v8, as the images of the usual public registries do.
oci_variant() { case $1 in arm64) echo v8 ;; *) echo "" ;; esac; }

oci_layout_image() {
  local layout=$1 tar=$2 arch=$3 created=$4 cmd=$5
  local variant diff_id layer layer_size config config_size tmp
  variant=$(oci_variant "$arch")
  mkdir -p "$layout"
  tmp=$(mktemp "$layout/.tmp.XXXXXX")
  diff_id=sha256:$(sha256sum "$tar" | cut -d' ' -f1)
  gzip -n -c "$tar" >"$tmp"
  read -r layer layer_size < <(oci_store_blob "$layout" "$tmp")

  jq -cjn --arg arch "$arch" --arg variant "$variant" --arg created "$created" \
    --arg env "$OCI_PATH_ENV" --argjson cmd "$cmd" --arg diff "$diff_id" \
    --arg by "bkrun engine.sh: rootfs $(basename "$tar")" '
      {architecture: $arch, os: "linux"}
      + (if $variant == "" then {} else {variant: $variant} end)
      + {created: $created,
         config: {Env: [$env], Cmd: $cmd},
         rootfs: {type: "layers", diff_ids: [$diff]},
         history: [{created: $created, created_by: $by}]}' >"$tmp"
  read -r config config_size < <(oci_store_blob "$layout" "$tmp")

  jq -cjn --arg cmt "$OCI_MT_CONFIG" --arg cd "$config" --argjson cs "$config_size" \
    --arg lmt "$OCI_MT_LAYER" --arg ld "$layer" --argjson ls "$layer_size" \
    --arg mt "$OCI_MT_MANIFEST" '
      {schemaVersion: 2, mediaType: $mt,
       config: {mediaType: $cmt, digest: $cd, size: $cs},
       layers: [{mediaType: $lmt, digest: $ld, size: $ls}]}' >"$tmp"
  oci_store_blob "$layout" "$tmp"
}

oci_layout_index() {
  local layout=$1 tmp entry digest size arch variant entries='[]'
  shift
  for entry in "$@"; do
    read -r digest size arch <<<"$entry"
    variant=$(oci_variant "$arch")
    entries=$(jq -c --arg mt "$OCI_MT_MANIFEST" --arg d "$digest" --argjson s "$size" \
      --arg arch "$arch" --arg variant "$variant" '
        . + [{mediaType: $mt, digest: $d, size: $s,
              platform: ({architecture: $arch, os: "linux"}
                + (if $variant == "" then {} else {variant: $variant} end))}]' <<<"$entries")
  done
  tmp=$(mktemp "$layout/.tmp.XXXXXX")
  jq -cjn --arg mt "$OCI_MT_INDEX" --argjson m "$entries" \
    '{schemaVersion: 2, mediaType: $mt, manifests: $m}' >"$tmp"
  oci_store_blob "$layout" "$tmp"
}

# Monolithic upload (POST then PUT ?digest=), skipped when the registry already has the blob.
oci_push_blob() {
  local registry=$1 repo=$2 digest=$3 file=$4 location sep
  if curl -fsS -o /dev/null -I "http://$registry/v2/$repo/blobs/$digest" 2>/dev/null; then
    return 0
  fi
  location=$(curl -fsS -X POST -D - -o /dev/null "http://$registry/v2/$repo/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
  [[ -n $location ]] || { echo "registry $registry gave no upload location" >&2; return 1; }
  [[ $location == http* ]] || location=http://$registry$location
  sep='?'
  [[ $location == *\?* ]] && sep='&'
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
    -T "$file" "$location${sep}digest=$digest"
}

oci_push_manifest() {
  local registry=$1 repo=$2 ref=$3 media_type=$4 file=$5
  curl -fsS -o /dev/null -X PUT -H "Content-Type: $media_type" --data-binary "@$file" \
    "http://$registry/v2/$repo/manifests/$ref"
}

oci_push() {
  local layout=$1 registry=$2 repo=$3 tag=$4 index=$5 manifest blob
  for manifest in $(jq -r '.manifests[].digest' "$(oci_blob_path "$layout" "$index")"); do
    local mfile
    mfile=$(oci_blob_path "$layout" "$manifest")
    for blob in $(jq -r '.config.digest, .layers[].digest' "$mfile"); do
      oci_push_blob "$registry" "$repo" "$blob" "$(oci_blob_path "$layout" "$blob")"
    done
    oci_push_manifest "$registry" "$repo" "$manifest" "$OCI_MT_MANIFEST" "$mfile"
  done
  oci_push_manifest "$registry" "$repo" "$tag" "$OCI_MT_INDEX" \
    "$(oci_blob_path "$layout" "$index")"
}

# Prints the digest the registry serves for REPO:REF (index or manifest); fails if absent.
oci_remote_digest() {
  local registry=$1 repo=$2 ref=$3
  curl -fsS -I -H "Accept: $OCI_MT_INDEX" -H "Accept: $OCI_MT_MANIFEST" \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$registry/v2/$repo/manifests/$ref" 2>/dev/null |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2; found=1}
                      END {exit !found}'
}
