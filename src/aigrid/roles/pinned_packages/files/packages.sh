#!/bin/sh
# What the node's package index and dpkg's database say of the packages the pinned_packages role
# pins; read-only (apt-cache(8) madison, policy and show; dpkg-query(1); dpkg(1)
# --compare-versions). The role runs it through ansible.builtin.script; its tests run it over a
# scratch apt configuration (tests/test_release_components.py).
#
# packages.sh release META PATTERN [NAME=VERSION...]
#   "PACKAGE VERSION" lines: first META at the newest version the pin PATTERN matches (the one
#   apt installs under the role's pin; e.g. cuda-libraries-13-0 and 13.0.2-*), then each package
#   that version depends on with a version bound, at the build of the version the bound names,
#   or of the VERSION given for its NAME (a patch release of one library; it must satisfy the
#   bound).
#   Why: NVIDIA's CUDA meta packages name their components with a lower bound only
#   (cuda-libraries-X-Y: "cuda-cudart-X-Y (>= ...)", libcublas-X-Y, ...), so apt installs the
#   newest build of each that the repository holds, whatever the meta package's version; NVIDIA's
#   own CUDA images therefore install every component at its version beside the meta package and
#   hold cuBLAS (gitlab.com/nvidia/container-images/cuda, dist/<release>/<os>/runtime/Dockerfile),
#   and cuBLAS patch releases now come out between toolkit releases (CUDA 13.2 release notes).
#   A bound names the version its component was released with, with or without the Debian
#   revision: that build, and no other, is the release's. A mirror that no longer holds it
#   cannot give the release, unless the node has it installed already.
#   Exit 3: no version of META matches PATTERN (refresh the index, or the release is not
#   published there). Exit 4: a component's build of the release (or of its VERSION) is not
#   there. Exit 5: a NAME is not a component, or its VERSION does not satisfy its bound.
#
# packages.sh unindexed PATTERN PACKAGE...
#   Each PACKAGE of which the index has no version the pin PATTERN matches, one per line: a dry
#   run cannot simulate installing those before the run adds or refreshes their repository.
#
# packages.sh installed PACKAGE...
#   "package NAME" for each PACKAGE on the node, then "component NAME" for each package that one
#   of those depends on with a version bound and that is on the node too (what `release` pinned
#   beside it). On the node: any dpkg state but not-installed and config-files (also unpacked or
#   half-configured, as a failed DKMS build leaves a driver). Exit 2: dpkg-query failed.
#
# packages.sh bounded
#   "NAME OPERATOR BOUND" for each relation of the Depends value on stdin that `release` pins
#   and `installed` reads as a component (the verify suite's reading is tested against it).
#
# Relations that carry no release are left to apt everywhere: unversioned ones, alternatives
# ("a | b"), upper and strict bounds. (sh has no local variables: each function's names are its
# own.)
set -eu

indexed() {
    # apt-cache(8) madison: one "package | version | source" line per version the repositories
    # offer.
    apt-cache madison "$1" 2>/dev/null |
        awk -F'|' -v p="$1" '{gsub(/ /, "", $1); gsub(/ /, "", $2)} $1 == p {print $2}'
}

versions() {
    # The index's versions and the installed one (apt-cache policy: "Installed: (none)" if none),
    # which the repositories may no longer offer.
    {
        indexed "$1"
        apt-cache policy "$1" 2>/dev/null | awk '$1 == "Installed:" && $2 != "(none)" {print $2}'
    } | sort -u
}

pinned() {
    # As apt's pin matches version $1 to pattern $2 (apt-pkg/versionmatch.cc): a pattern ending
    # in * is a prefix, the * cut off, taken literally; either way the pattern (without that *)
    # may also match the whole version as a glob.
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
    [ "$1" = "$2" ] && return 0
    case $2 in *-*) return 1 ;; esac
    released_upstream=$1
    case $2 in *:*) ;; *) released_upstream=${released_upstream#*:} ;; esac
    [ "${released_upstream%-*}" = "$2" ]
}

pick() {
    # Of the versions on stdin that "$2 VERSION $3" accepts, the newest ($1 = gt) or the oldest
    # ($1 = lt); nothing if none.
    picked=""
    while read -r pick_version; do
        if "$2" "$pick_version" "$3"; then
            if [ -z "$picked" ] || dpkg --compare-versions "$pick_version" "$1" "$picked"; then
                picked=$pick_version
            fi
        fi
    done
    echo "$picked"
}

depends_field() {
    # The Depends field of the package record on stdin (apt-cache show), continuation lines
    # joined.
    awk '/^Depends:/ {field = 1; sub(/^Depends:/, ""); depends = $0; next}
         field && /^[ \t]/ {depends = depends " " $0; next}
         {field = 0}
         /^$/ {exit}
         END {print depends}'
}

bounded() {
    # "NAME OPERATOR BOUND" for each relation of the Depends values on stdin (one or more lines)
    # that names a release of its package: a lower (>=) or exact (=) bound, no alternatives.
    tr ',' '\n' | while read -r relation; do
        case $relation in
            *'|'*) continue ;; # alternatives
            *')') ;;
            *) continue ;; # no version bound
        esac
        bounded_name=${relation%%[ (]*}
        bounded_name=${bounded_name%%:*} # an architecture qualifier (pkg:any) names the same package
        bounded_bound=${relation#*(}
        bounded_bound=${bounded_bound%)}
        bounded_operator=$(echo "$bounded_bound" | sed 's/^[ \t]*\([<>=]*\).*/\1/')
        bounded_bound=$(echo "$bounded_bound" | sed 's/^[ \t]*[<>=]*[ \t]*//; s/[ \t]*$//')
        case $bounded_operator in
            '>=' | '=') echo "$bounded_name $bounded_operator $bounded_bound" ;;
            *) ;; # an upper or strict bound names no release of the package
        esac
    done
}

on_node() {
    # "NAME<TAB>DEPENDS" of each named package dpkg has on the node (any state but
    # not-installed and config-files); dpkg-query exits 1 for names it does not know at all.
    [ $# -gt 0 ] || return 0
    on_node_read=$(dpkg-query --show --showformat='${db:Status-Status}\t${Package}\t${Depends}\n' "$@") ||
        [ $? -eq 1 ] || exit 2
    printf '%s\n' "$on_node_read" |
        awk -F'\t' 'NF > 1 && $1 != "not-installed" && $1 != "config-files" {print $2 "\t" $3}'
}

release() {
    release_meta=$1
    release_pattern=$2
    shift 2
    release_chosen=$(versions "$release_meta" | pick gt pinned "$release_pattern")
    if [ -z "$release_chosen" ]; then
        echo "$release_meta: the package index has no version matching $release_pattern" >&2
        exit 3
    fi
    echo "$release_meta $release_chosen"
    release_bounded=$(apt-cache show --no-all-versions "$release_meta=$release_chosen" 2>/dev/null |
        depends_field | bounded)
    # NAME=VERSION: a component at another build than the one its bound names (a patch release).
    for release_patch in "$@"; do
        if ! printf '%s\n' "$release_bounded" | awk -v n="${release_patch%%=*}" '$1 == n {f = 1} END {exit !f}'; then
            echo "${release_patch%%=*}: not a component of $release_meta $release_chosen (it bounds no" \
                "such package), so no build of it can replace the release's" >&2
            exit 5
        fi
    done
    [ -n "$release_bounded" ] || return 0
    while read -r name operator bound; do
        wanted=$bound
        for release_patch in "$@"; do
            [ "${release_patch%%=*}" = "$name" ] && wanted=${release_patch#*=}
        done
        build=$(versions "$name" | pick lt released_as "$wanted")
        if [ -z "$build" ]; then
            echo "$name: the package index has no build of $wanted ($release_meta $release_chosen" \
                "depends on it with $operator $bound), nor is one installed" >&2
            exit 4
        fi
        case $operator in '>=') satisfies=ge ;; *) satisfies=eq ;; esac
        if ! dpkg --compare-versions "$build" "$satisfies" "$bound"; then
            # Only a build given in place of the release's can miss its bound (a patch kept
            # from before a toolkit update that needs a newer one).
            echo "$name $build, given in place of the release's build: $release_meta $release_chosen" \
                "depends on it with $operator $bound, which that build does not satisfy (give one" \
                "that does, or none)" >&2
            exit 5
        fi
        echo "$name $build"
    done <<EOF
$release_bounded
EOF
}

unindexed() {
    unindexed_pattern=$1
    shift
    for unindexed_package in "$@"; do
        if [ -z "$(indexed "$unindexed_package" | pick gt pinned "$unindexed_pattern")" ]; then
            echo "$unindexed_package"
        fi
    done
}

installed() {
    installed_read=$(on_node "$@")
    [ -n "$installed_read" ] || return 0
    printf '%s\n' "$installed_read" | awk -F'\t' '{print "package " $1}'
    installed_components=$(printf '%s\n' "$installed_read" | cut -f 2 | bounded | cut -d ' ' -f 1 | sort -u)
    # shellcheck disable=SC2086 # one argument per name (package names hold no blanks)
    installed_read=$(on_node $installed_components)
    [ -z "$installed_read" ] || printf '%s\n' "$installed_read" | cut -f 1 | sed 's/^/component /'
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
    release) release "$@" ;;
    unindexed) unindexed "$@" ;;
    installed) installed "$@" ;;
    bounded) bounded ;;
    *)
        echo "usage: packages.sh release META PATTERN [NAME=VERSION...] | unindexed PATTERN PACKAGE... | installed PACKAGE... | bounded" >&2
        exit 64
        ;;
esac
