#!/bin/sh
# The components a meta package's release is made of, at their versions in that release, from
# the node's own package index and what it has installed (aigrid role pinned_packages).
#
# Usage: release-components.sh META PATTERN
#   META     the meta package, e.g. cuda-libraries-13-0
#   PATTERN  the pinned version as the role's apt pin names it, e.g. 13.0.2-*
#
# Prints "PACKAGE VERSION" lines: first META at the newest version the pin matches (the one apt
# installs under the role's pin), then each package that version depends on with a version
# bound, at the build of the version the bound names.
#
# Why: NVIDIA's CUDA meta packages name their components with a lower bound only
# (cuda-libraries-X-Y: "cuda-cudart-X-Y (>= ...)", libcublas-X-Y, ...), so apt installs the
# newest build of each that the repository holds, whatever the meta package's version; NVIDIA's
# own CUDA images therefore install every component at its version beside the meta package and
# hold cuBLAS (gitlab.com/nvidia/container-images/cuda, dist/<release>/<os>/runtime/Dockerfile),
# and cuBLAS patch releases now come out between toolkit releases (CUDA 13.2 release notes).
# A bound names the version its component was released with, with or without the Debian
# revision: that build, and no other, is the release's. A mirror that no longer holds it
# cannot give the release (exit 4), unless the node has it installed already.
#
# Unversioned dependencies, alternatives ("a | b") and upper bounds carry no release: left to apt.
# Exit 3: no version of META matches PATTERN (refresh the index, or the release is not
# published there). Exit 4: a component's build of the release is not there.
# apt-cache(8) madison, policy and show, dpkg(1) --compare-versions; read-only.
set -eu

meta=$1
pattern=$2

versions() {
    # apt-cache(8) madison: one "package | version | source" line per version the repositories
    # offer; policy: the installed one ("Installed: (none)" if none), which they may no longer.
    {
        apt-cache madison "$1" 2>/dev/null | awk -F'|' -v p="$1" '{gsub(/ /, "", $1); gsub(/ /, "", $2)} $1 == p {print $2}'
        apt-cache policy "$1" 2>/dev/null | awk '$1 == "Installed:" && $2 != "(none)" {print $2}'
    } | sort -u
}

pinned() {
    # As apt's pin matches a version (apt-pkg/versionmatch.cc): a pattern ending in * is a
    # prefix, the * cut off, taken literally; either way the pattern (without that *) may also
    # match the whole version as a glob.
    pinned_pattern=$2
    case $pinned_pattern in
        *'*')
            pinned_pattern=${pinned_pattern%'*'}
            case $1 in "$pinned_pattern"*) return 0 ;; esac
            ;;
        *) [ "$1" = "$pinned_pattern" ] && return 0 ;;
    esac
    # shellcheck disable=SC2254 # a glob on purpose, as apt's pin reads it
    case $1 in $pinned_pattern) return 0 ;; esac
    return 1
}

released_as() {
    # Whether version $1 is the build of bound $2: the same version, or, where the bound names
    # no Debian revision, the same upstream version (and epoch, where the bound names one).
    # (sh has no local variables: these names are this function's alone.)
    [ "$1" = "$2" ] && return 0
    case $2 in *-*) return 1 ;; esac
    released_upstream=$1
    case $2 in *:*) ;; *) released_upstream=${released_upstream#*:} ;; esac
    [ "${released_upstream%-*}" = "$2" ]
}

chosen=""
for version in $(versions "$meta"); do
    if pinned "$version" "$pattern"; then
        if [ -z "$chosen" ] || dpkg --compare-versions "$version" gt "$chosen"; then
            chosen=$version
        fi
    fi
done
if [ -z "$chosen" ]; then
    echo "$meta: the package index has no version matching $pattern" >&2
    exit 3
fi
echo "$meta $chosen"

# The Depends field of that version, continuation lines joined, one relation per line.
apt-cache show --no-all-versions "$meta=$chosen" 2>/dev/null |
    awk '/^Depends:/ {field = 1; sub(/^Depends:/, ""); depends = $0; next}
         field && /^[ \t]/ {depends = depends " " $0; next}
         {field = 0}
         /^$/ {exit}
         END {n = split(depends, relation, ",")
              for (i = 1; i <= n; i++) {gsub(/^[ \t]+|[ \t]+$/, "", relation[i]); print relation[i]}}' |
    while IFS= read -r relation; do
        case $relation in
            *'|'*) continue ;; # alternatives
            *')') ;;
            *) continue ;; # no version bound
        esac
        name=${relation%%[ (]*}
        name=${name%%:*} # an architecture qualifier (pkg:any) names the same package
        bound=${relation#*(}
        bound=${bound%)}
        operator=$(echo "$bound" | sed 's/^\([<>=]*\).*/\1/')
        bound=$(echo "${bound#"$operator"}" | sed 's/^[ \t]*//')
        case $operator in
            '>=' | '=') ;;
            *) continue ;; # an upper or strict bound names no release of the component
        esac
        build=""
        for version in $(versions "$name"); do
            if released_as "$version" "$bound"; then
                if [ -z "$build" ] || dpkg --compare-versions "$version" lt "$build"; then
                    build=$version
                fi
            fi
        done
        if [ -z "$build" ]; then
            echo "$name: the package index has no build of $bound ($meta $chosen depends on it" \
                "with $operator $bound), nor is one installed" >&2
            exit 4
        fi
        echo "$name $build"
    done
