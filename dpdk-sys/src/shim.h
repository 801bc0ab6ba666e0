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

/* ---- intel-ipsec-mb direct AES-GCM API (cargo feature `ipsec-mb`) ----
 * Plain C types only, so this part needs no intel-ipsec-mb header (bindgen sees just these
 * prototypes). Compiled against intel-ipsec-mb.h when build.rs finds it (DPDK_SYS_HAVE_IPSEC_MB),
 * else as stubs: shim_imb_mgr() returns NULL and the others fail.
 *
 * One IMB_MGR for the process: the direct GCM functions (gcm128/256_pre/enc/dec) only read the
 * manager's function pointers and keep all state in the caller's gcm_key_data (read-only after
 * _pre) and a gcm_context_data on the stack, so any number of threads may use it concurrently. */
#ifdef DPDK_SYS_IPSEC_MB
#include <stddef.h>
/* The shared manager, allocated and initialised (init_mb_mgr_auto) once, thread-safely
 * (pthread_once); NULL when intel-ipsec-mb is absent or initialisation failed. */
void *shim_imb_mgr(void);
/* IMB_ARCH chosen by init_mb_mgr_auto (1 NOAESNI, 2 SSE, 3 AVX, 4 AVX2, 5 AVX512), -1 if none. */
int shim_imb_arch(void);
/* A manager initialised for one arch (2 SSE, 3 AVX, 4 AVX2, 5 AVX512), made on first use and
 * kept for the process; NULL when this CPU lacks the arch or intel-ipsec-mb is absent. For
 * measuring and testing the code intel-ipsec-mb runs on CPUs with fewer features than this one
 * (AVX2 is what it picks on a CPU without AVX-512, e.g. AMD Zen 2 and Zen 3). */
void *shim_imb_mgr_for_arch(int arch);
/* The IMB_ARCH whose code a manager runs (its used_arch), -1 for NULL or the stubs. */
int shim_imb_mgr_used_arch(const void *mgr);
/* intel-ipsec-mb's version (IMB_VERSION_STR), or "" for the stubs. */
const char *shim_imb_version(void);
/* Size and alignment of the caller's allocation for struct gcm_key_data (size is a multiple of
 * the alignment, which is at least 64). */
size_t shim_imb_gcm_key_data_size(void);
size_t shim_imb_gcm_key_data_align(void);
/* Expands key (key_len 16 or 32) into key_data (round keys and GHASH tables). 0 ok, -1 error. */
int shim_imb_gcm_pre(void *mgr, const uint8_t *key, size_t key_len, void *key_data);
/* Encrypts in_out[0..len) in place and writes the 16-octet tag over aad and the ciphertext.
 * 0 ok, -1 bad argument, -2 len too long for GCM. */
int shim_imb_gcm_seal(void *mgr, size_t key_len, const void *key_data, const uint8_t *iv,
                      const uint8_t *aad, size_t aad_len, uint8_t *in_out, size_t len,
                      uint8_t *tag);
/* Decrypts in_out[0..len) in place and compares the tag it computes with icv (16 octets) in
 * constant time. 0 ok; -1 mismatch (in_out is zeroed) or bad argument; -2 len too long. */
int shim_imb_gcm_open(void *mgr, size_t key_len, const void *key_data, const uint8_t *iv,
                      const uint8_t *aad, size_t aad_len, uint8_t *in_out, size_t len,
                      const uint8_t *icv);
#endif

#endif
