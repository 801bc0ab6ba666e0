/* Out-of-line wrappers over DPDK's `static inline` functions (bindgen cannot bind those). Each is a
 * one-line call; build.rs compiles this with the `pkg-config libdpdk` cflags and -O3 so the inline
 * bodies are inlined here. */
#include "shim.h"

uint16_t shim_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
                               uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t shim_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
                               uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
void shim_rte_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
uint16_t shim_rte_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t shim_rte_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
void *shim_rte_pktmbuf_mtod(const struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }

void *shim_mbuf_buf_addr(const struct rte_mbuf *m) { return m->buf_addr; }
uint16_t shim_mbuf_buf_len(const struct rte_mbuf *m) { return m->buf_len; }
uint16_t shim_mbuf_data_off(const struct rte_mbuf *m) { return m->data_off; }
void shim_mbuf_set_data_off(struct rte_mbuf *m, uint16_t off) { m->data_off = off; }
uint16_t shim_mbuf_data_len(const struct rte_mbuf *m) { return m->data_len; }
void shim_mbuf_set_data_len(struct rte_mbuf *m, uint16_t len) { m->data_len = len; }
uint32_t shim_mbuf_pkt_len(const struct rte_mbuf *m) { return m->pkt_len; }
void shim_mbuf_set_pkt_len(struct rte_mbuf *m, uint32_t len) { m->pkt_len = len; }
uint16_t shim_mbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
uint16_t shim_mbuf_port(const struct rte_mbuf *m) { return m->port; }
struct rte_mbuf *shim_mbuf_next(const struct rte_mbuf *m) { return m->next; }
struct rte_mempool *shim_mbuf_pool(const struct rte_mbuf *m) { return m->pool; }

unsigned int shim_rte_lcore_id(void) { return rte_lcore_id(); }
int shim_rte_errno(void) { return rte_errno; }
void shim_rte_set_errno(int e) { rte_errno = e; }

uint64_t shim_rx_offload_mask(void)
{
	return RTE_ETH_RX_OFFLOAD_VLAN_STRIP | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
	       RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
	       RTE_ETH_RX_OFFLOAD_MACSEC_STRIP | RTE_ETH_RX_OFFLOAD_VLAN_FILTER |
	       RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_KEEP_CRC |
	       RTE_ETH_RX_OFFLOAD_RSS_HASH;
}

uint64_t shim_tx_offload_mask(void)
{
	return RTE_ETH_TX_OFFLOAD_VLAN_INSERT | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
	       RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
	       RTE_ETH_TX_OFFLOAD_MACSEC_INSERT | RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
	       RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
}
