# The shared-ring layer's code: blkif and netif request validation and the
# netif offload helpers both ends of a vif use (response checks are inline
# in ring/*_rsp.h so that the guest modules share them).
RING_SRCS := ring/blkif_req.c ring/netif_tx.c ring/netif_offload.c
