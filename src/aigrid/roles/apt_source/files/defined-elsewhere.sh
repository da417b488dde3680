#!/bin/sh
# Print the apt source files that already define repository URI $1 outside aigrid (under apt
# directory $2, default /etc/apt): one-line .list entries and deb822 .sources alike, comments
# skipped, a trailing slash ignored. aigrid's own files (aigrid-*.sources) are left out: they
# agree with each other. Such a definition is typically cuda-keyring's (cloud and DGX images).
uri=${1%/}
dir=${2:-/etc/apt}
for file in "$dir/sources.list" "$dir"/sources.list.d/*.list "$dir"/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    case "$(basename "$file")" in aigrid-*.sources) continue ;; esac
    awk -v uri="$uri" '
        /^[[:space:]]*#/ { next }
        { for (i = 1; i <= NF; i++) { field = $i; sub(/\/$/, "", field); if (field == uri) found = 1 } }
        END { exit !found }
    ' "$file" && printf '%s\n' "$file"
done
exit 0
