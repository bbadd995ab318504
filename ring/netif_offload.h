/* SPDX-License-Identifier: MIT */
/*
 * netif offload helpers shared by both ends of a vif (netback and the
 * user-space netfront): netif's csum_blank flag carries no offsets while a
 * virtio-net header needs them, and a peer without checksum offload needs
 * the partial checksum finished.
 */
#ifndef PVIO_RING_NETIF_OFFLOAD_H
#define PVIO_RING_NETIF_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Find the L4 checksum of an Ethernet frame (IPv4 or IPv6, TCP or UDP,
 * optionally one VLAN tag): *csum_start (from the frame start),
 * *csum_offset (from csum_start), *hdr_len (through the TCP/UDP header) and
 * the protocol. 0 or -EINVAL / -EPROTONOSUPPORT.
 */
int netif_csum_locate(const uint8_t *frame, size_t len, uint16_t *csum_start,
		      uint16_t *csum_offset, uint16_t *hdr_len,
		      uint8_t *l4proto);
/* Finish a partial checksum in place (for a peer without csum offload). */
int netif_csum_finish(uint8_t *frame, size_t len, uint16_t csum_start,
		      uint16_t csum_offset);

#endif /* PVIO_RING_NETIF_OFFLOAD_H */
