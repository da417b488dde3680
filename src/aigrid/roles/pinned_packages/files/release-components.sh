#!/bin/sh
# The components a meta package's release is made of, at their versions in that release, from
# the node's own package index (aigrid role pinned_packages).
#
# Usage: release-components.sh META PATTERN
#   META     the meta package, e.g. cuda-libraries-13-0
#   PATTERN  the pinned version, as apt's pin matches it (* and ? globs), e.g. 13.0.2-*
#
# Prints "PACKAGE VERSION" lines: first META at the newest version of its index that matches
# PATTERN (the one apt installs under the role's pin), then each package that version depends
# on with a version bound, at the lowest version of the index the bound allows.
#
# Why: NVIDIA's CUDA meta packages name their components with a lower bound only
# (cuda-libraries-X-Y: "cuda-cudart-X-Y (>= ...)", libcublas-X-Y, ...), so apt installs the
# newest build of each that the repository holds, whatever the meta package's version; NVIDIA's
# own CUDA images therefore install every component at its version beside the meta package and
# hold cuBLAS (gitlab.com/nvidia/container-images/cuda, dist/<release>/<os>/runtime/Dockerfile),
# and cuBLAS patch releases now come out between toolkit releases (CUDA 13.2 release notes).
# The lowest version a bound allows is the release's own build: a bound names the version it
# was released with, with or without a Debian revision.
#
# Unversioned dependencies and alternatives ("a | b") are left to apt: they carry no release.
# Exit 3: the index has no version of META that matches PATTERN (refresh it, or the release is
# not published there). Exit 4: the index has no version of a component that its bound allows.
# apt-cache(8) show and madison, dpkg(1) --compare-versions; read-only.
set -eu

meta=$1
pattern=$2

versions() {
    # apt-cache(8) madison: one "package | version | source" line per version in the index.
    apt-cache madison "$1" 2>/dev/null | awk -F'|' -v p="$1" '{gsub(/ /, "", $1); gsub(/ /, "", $2)} $1 == p {print $2}' | sort -u
}

chosen=""
for version in $(versions "$meta"); do
    # shellcheck disable=SC2254 # the pattern is a glob on purpose, as apt's pin reads it
    case $version in
        $pattern)
            if [ -z "$chosen" ] || dpkg --compare-versions "$version" gt "$chosen"; then
                chosen=$version
            fi
            ;;
    esac
done
if [ -z "$chosen" ]; then
    echo "$meta: the package index has no version matching $pattern" >&2
    exit 3
fi
echo "$meta $chosen"

# The Depends field of that version, one relation per line (apt-cache prints it on one line).
apt-cache show --no-all-versions "$meta=$chosen" 2>/dev/null |
    sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' | sed 's/^ *//; s/ *$//' |
    while IFS= read -r relation; do
        case $relation in
            *'|'*) continue ;; # alternatives
            *')') ;;
            *) continue ;; # no version bound
        esac
        name=${relation%% *}
        name=${name%%:*} # an architecture qualifier (pkg:any) names the same package
        bound=${relation#*(}
        bound=${bound%)}
        operator=${bound%% *}
        bound=${bound#* }
        case $operator in
            '>=') test=ge ;;
            '=') test=eq ;;
            *) continue ;; # an upper or strict bound names no release of the component
        esac
        lowest=""
        for version in $(versions "$name"); do
            if dpkg --compare-versions "$version" "$test" "$bound"; then
                if [ -z "$lowest" ] || dpkg --compare-versions "$version" lt "$lowest"; then
                    lowest=$version
                fi
            fi
        done
        if [ -z "$lowest" ]; then
            echo "$name: the package index has no version $operator $bound ($meta $chosen depends on it)" >&2
            exit 4
        fi
        echo "$name $lowest"
    done
