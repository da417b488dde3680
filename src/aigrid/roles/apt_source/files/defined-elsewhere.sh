#!/bin/sh
# Print the apt source files that already define repository URI $1 outside aigrid (under apt
# directory $2, default /etc/apt): one-line .list entries and deb822 .sources alike, comments
# skipped, a trailing slash ignored. aigrid's own files (aigrid-*.sources) are left out: they
# agree with each other. Such a definition is typically cuda-keyring's (cloud and DGX images),
# or the one NVIDIA's Container Toolkit install guide downloads ("Installing with Apt"), whose
# URI holds a literal $(ARCH): apt puts the node's architecture there as it reads the file
# (apt-pkg/sourcelist.cc, SubstVar), so the comparison does too ($3 stands in for dpkg's answer).
uri=${1%/}
dir=${2:-/etc/apt}
arch=${3:-$(dpkg --print-architecture 2>/dev/null)}
for file in "$dir/sources.list" "$dir"/sources.list.d/*.list "$dir"/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    case "$(basename "$file")" in aigrid-*.sources) continue ;; esac
    awk -v uri="$uri" -v arch="$arch" '
        /^[[:space:]]*#/ { next }
        {
            for (i = 1; i <= NF; i++) {
                field = $i; gsub(/\$\(ARCH\)/, arch, field); sub(/\/$/, "", field)
                if (field == uri) found = 1
            }
        }
        END { exit !found }
    ' "$file" && printf '%s\n' "$file"
done
exit 0
