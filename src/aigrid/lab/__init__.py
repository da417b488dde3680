"""The emulated edge lab: network namespaces, overlay root filesystems and sshd, for bring-up
tests without hardware. Everything here is for labs and tests, never for real sites."""
