#!/bin/sh
# Print the PCI device id of every NVIDIA display or 3D controller (vendor 0x10de, class 0x03xxxx).
# $1: the sysfs PCI devices directory (/sys/bus/pci/devices).
for dev in "${1:-/sys/bus/pci/devices}"/*; do
    [ -r "$dev/vendor" ] || continue
    [ "$(cat "$dev/vendor")" = "0x10de" ] || continue
    case "$(cat "$dev/class")" in 0x03*) ;; *) continue ;; esac
    sed 's/^0x//' "$dev/device" | tr 'a-f' 'A-F'
done
exit 0
