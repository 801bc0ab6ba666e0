/* Wrapper header for bindgen and the C shim: the DPDK headers the Rust side needs, and the
 * shim's out-of-line wrappers over DPDK's `static inline` functions. */
#ifndef DPDK_SYS_SHIM_H
#define DPDK_SYS_SHIM_H

#include <stdint.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

/* ---- ethdev fast path ---- */
uint16_t shim_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
                               uint16_t nb_pkts);
uint16_t shim_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
                               uint16_t nb_pkts);

/* ---- mbuf ---- */
struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp);
void shim_rte_pktmbuf_free(struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_tailroom(const struct rte_mbuf *m);
/* Data pointer (buf_addr + data_off) */
void *shim_rte_pktmbuf_mtod(const struct rte_mbuf *m);
void *shim_mbuf_buf_addr(const struct rte_mbuf *m);
uint16_t shim_mbuf_buf_len(const struct rte_mbuf *m);
uint16_t shim_mbuf_data_off(const struct rte_mbuf *m);
void shim_mbuf_set_data_off(struct rte_mbuf *m, uint16_t off);
uint16_t shim_mbuf_data_len(const struct rte_mbuf *m);
void shim_mbuf_set_data_len(struct rte_mbuf *m, uint16_t len);
uint32_t shim_mbuf_pkt_len(const struct rte_mbuf *m);
void shim_mbuf_set_pkt_len(struct rte_mbuf *m, uint32_t len);
uint16_t shim_mbuf_nb_segs(const struct rte_mbuf *m);
uint16_t shim_mbuf_port(const struct rte_mbuf *m);
struct rte_mbuf *shim_mbuf_next(const struct rte_mbuf *m);
struct rte_mempool *shim_mbuf_pool(const struct rte_mbuf *m);

/* ---- lcore / errno ---- */
unsigned int shim_rte_lcore_id(void);
int shim_rte_errno(void);
void shim_rte_set_errno(int e);

/* ---- self-check: the OR of the RTE_BIT64 offload flags lib.rs redefines by hand ---- */
uint64_t shim_rx_offload_mask(void);
uint64_t shim_tx_offload_mask(void);

#endif
