#!/bin/sh
# For each host given: the addresses it resolves to on this node and whether the node has a
# route to one of them. One line per host:
#   HOST reachable ADDRESS | HOST unroutable ADDRESSES | HOST unresolved
# Both families are asked for (getent ahostsv6, ahostsv4: glibc's getaddrinfo, as apt's and
# containerd's resolvers read /etc/hosts and resolv.conf); an IPv4 address glibc hands back
# mapped into IPv6 (::ffff:a.b.c.d) is the IPv4 address. `ip route get` answers "Network is
# unreachable" where no route covers an address (ip-route(8)), so an IPv6-only node fails it
# for every IPv4 address and passes it for a NAT64 prefix its DNS64 resolver synthesises.
for host in "$@"; do
    addresses=$( { getent ahostsv6 "$host"; getent ahostsv4 "$host"; } 2>/dev/null \
        | awk '{ if ($1 ~ /^::ffff:[0-9.]+$/) sub(/^::ffff:/, "", $1); print $1 }' | sort -u)
    if [ -z "$addresses" ]; then
        printf '%s unresolved\n' "$host"
        continue
    fi
    state=unroutable
    for address in $addresses; do
        if ip route get "$address" >/dev/null 2>&1; then
            state=reachable
            addresses=$address
            break
        fi
    done
    printf '%s %s %s\n' "$host" "$state" "$(echo $addresses)"
done
exit 0
