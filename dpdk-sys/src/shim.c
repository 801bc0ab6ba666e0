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

/* ---- intel-ipsec-mb direct AES-GCM API (see shim.h) ---- */
#ifdef DPDK_SYS_IPSEC_MB
#include <string.h>

/* GCM's plaintext limit: 2^39 - 256 bits. */
#define SHIM_GCM_MAX_LEN ((1ULL << 36) - 32)

#ifdef DPDK_SYS_HAVE_IPSEC_MB
#include <pthread.h>
#include <intel-ipsec-mb.h>

static IMB_MGR *shim_imb_mgr_ptr;
static int shim_imb_arch_val = -1;
static pthread_once_t shim_imb_once = PTHREAD_ONCE_INIT;

static void shim_imb_init(void)
{
	IMB_ARCH arch = IMB_ARCH_NONE;
	IMB_MGR *mgr = alloc_mb_mgr(0);

	if (mgr == NULL)
		return;
	init_mb_mgr_auto(mgr, &arch);
	if (imb_get_errno(mgr) != 0 || arch == IMB_ARCH_NONE || mgr->gcm128_enc == NULL ||
	    mgr->gcm256_enc == NULL) {
		free_mb_mgr(mgr);
		return;
	}
	shim_imb_arch_val = (int)arch;
	shim_imb_mgr_ptr = mgr;
}

void *shim_imb_mgr(void)
{
	pthread_once(&shim_imb_once, shim_imb_init);
	return shim_imb_mgr_ptr;
}

int shim_imb_arch(void)
{
	pthread_once(&shim_imb_once, shim_imb_init);
	return shim_imb_arch_val;
}

const char *shim_imb_version(void) { return IMB_VERSION_STR; }

int shim_imb_mgr_used_arch(const void *mgr)
{
	return mgr == NULL ? -1 : (int)((const IMB_MGR *)mgr)->used_arch;
}

/* One manager per IMB_ARCH, each made on first use and kept for the process. */
static IMB_MGR *shim_imb_arch_mgrs[IMB_ARCH_NUM];
static pthread_mutex_t shim_imb_arch_lock = PTHREAD_MUTEX_INITIALIZER;

void *shim_imb_mgr_for_arch(int arch)
{
	IMB_MGR *mgr;

	if (arch < IMB_ARCH_SSE || arch >= IMB_ARCH_NUM)
		return NULL;
	pthread_mutex_lock(&shim_imb_arch_lock);
	mgr = shim_imb_arch_mgrs[arch];
	if (mgr == NULL) {
		mgr = alloc_mb_mgr(0);
		if (mgr != NULL) {
			int known = 1;

			switch (arch) {
			case IMB_ARCH_SSE: init_mb_mgr_sse(mgr); break;
			case IMB_ARCH_AVX: init_mb_mgr_avx(mgr); break;
			case IMB_ARCH_AVX2: init_mb_mgr_avx2(mgr); break;
			case IMB_ARCH_AVX512: init_mb_mgr_avx512(mgr); break;
			default: known = 0; break; /* an arch newer than this shim */
			}
			/* The init functions check the CPU and set an error when it lacks the arch. */
			if (!known || imb_get_errno(mgr) != 0 || mgr->used_arch != (uint32_t)arch ||
			    mgr->gcm128_enc == NULL || mgr->gcm256_enc == NULL) {
				free_mb_mgr(mgr);
				mgr = NULL;
			}
			shim_imb_arch_mgrs[arch] = mgr;
		}
	}
	pthread_mutex_unlock(&shim_imb_arch_lock);
	return mgr;
}

/* struct gcm_key_data is declared aligned(64) only `#ifdef LINUX`, a macro compilers do not
 * predefine (the library's own build passes -DLINUX); here it may be 1-aligned and 1008 octets.
 * Ask for 64 and round the size up to it regardless. */
#define SHIM_GCM_KEY_ALIGN \
	(_Alignof(struct gcm_key_data) > 64 ? _Alignof(struct gcm_key_data) : 64)

size_t shim_imb_gcm_key_data_size(void)
{
	return (sizeof(struct gcm_key_data) + SHIM_GCM_KEY_ALIGN - 1) & ~(SHIM_GCM_KEY_ALIGN - 1);
}

size_t shim_imb_gcm_key_data_align(void) { return SHIM_GCM_KEY_ALIGN; }

int shim_imb_gcm_pre(void *mgr, const uint8_t *key, size_t key_len, void *key_data)
{
	IMB_MGR *m = mgr;

	if (m == NULL || key == NULL || key_data == NULL)
		return -1;
	if (key_len == 16)
		IMB_AES128_GCM_PRE(m, key, (struct gcm_key_data *)key_data);
	else if (key_len == 32)
		IMB_AES256_GCM_PRE(m, key, (struct gcm_key_data *)key_data);
	else
		return -1;
	return 0;
}

int shim_imb_gcm_seal(void *mgr, size_t key_len, const void *key_data, const uint8_t *iv,
                      const uint8_t *aad, size_t aad_len, uint8_t *in_out, size_t len,
                      uint8_t *tag)
{
	IMB_MGR *m = mgr;
	struct gcm_context_data ctx __attribute__((aligned(16)));

	if (m == NULL || key_data == NULL || iv == NULL || tag == NULL ||
	    (aad == NULL && aad_len != 0) || (in_out == NULL && len != 0))
		return -1;
	if (len > SHIM_GCM_MAX_LEN)
		return -2;
	if (key_len == 16)
		IMB_AES128_GCM_ENC(m, key_data, &ctx, in_out, in_out, len, iv, aad, aad_len, tag, 16);
	else if (key_len == 32)
		IMB_AES256_GCM_ENC(m, key_data, &ctx, in_out, in_out, len, iv, aad, aad_len, tag, 16);
	else
		return -1;
	return 0;
}

/* 0 when the 16 octets are equal, -1 otherwise; no data-dependent branch or early exit. */
static int shim_ct_eq16(const uint8_t *a, const uint8_t *b)
{
	uint8_t diff = 0;

	for (int i = 0; i < 16; i++)
		diff |= a[i] ^ b[i];
	/* Opaque to the optimiser: no shortcut can be derived from the loop above. */
	__asm__ volatile("" : "+r"(diff));
	/* diff == 0 -> 0; else -1, without a branch. */
	return -(int)((((unsigned)diff) + 0xffu) >> 8);
}

int shim_imb_gcm_open(void *mgr, size_t key_len, const void *key_data, const uint8_t *iv,
                      const uint8_t *aad, size_t aad_len, uint8_t *in_out, size_t len,
                      const uint8_t *icv)
{
	IMB_MGR *m = mgr;
	struct gcm_context_data ctx __attribute__((aligned(16)));
	uint8_t tag[16] __attribute__((aligned(16)));
	int rc;

	if (m == NULL || key_data == NULL || iv == NULL || icv == NULL ||
	    (aad == NULL && aad_len != 0) || (in_out == NULL && len != 0))
		return -1;
	if (len > SHIM_GCM_MAX_LEN)
		return -2;
	if (key_len == 16)
		IMB_AES128_GCM_DEC(m, key_data, &ctx, in_out, in_out, len, iv, aad, aad_len, tag, 16);
	else if (key_len == 32)
		IMB_AES256_GCM_DEC(m, key_data, &ctx, in_out, in_out, len, iv, aad, aad_len, tag, 16);
	else
		return -1;
	rc = shim_ct_eq16(tag, icv);
	if (rc != 0) {
		/* Forged or corrupted: no plaintext out, and the valid tag for this frame (which the
		 * sender of a forgery must not learn) and the context do not stay on the stack. */
		if (len != 0)
			memset(in_out, 0, len);
		explicit_bzero(tag, sizeof(tag));
		explicit_bzero(&ctx, sizeof(ctx));
	}
	return rc;
}

#else /* !DPDK_SYS_HAVE_IPSEC_MB: stubs, intel-ipsec-mb.h was not found at build time. */

void *shim_imb_mgr(void) { return NULL; }
void *shim_imb_mgr_for_arch(int arch) { (void)arch; return NULL; }
int shim_imb_mgr_used_arch(const void *mgr) { (void)mgr; return -1; }
int shim_imb_arch(void) { return -1; }
const char *shim_imb_version(void) { return ""; }
size_t shim_imb_gcm_key_data_size(void) { return 1024; }
size_t shim_imb_gcm_key_data_align(void) { return 64; }
int shim_imb_gcm_pre(void *mgr, const uint8_t *key, size_t key_len, void *key_data)
{
	(void)mgr; (void)key; (void)key_len; (void)key_data;
	return -1;
}
int shim_imb_gcm_seal(void *mgr, size_t key_len, const void *key_data, const uint8_t *iv,
                      const uint8_t *aad, size_t aad_len, uint8_t *in_out, size_t len,
                      uint8_t *tag)
{
	(void)mgr; (void)key_len; (void)key_data; (void)iv; (void)aad; (void)aad_len;
	(void)in_out; (void)len; (void)tag;
	return -1;
}
int shim_imb_gcm_open(void *mgr, size_t key_len, const void *key_data, const uint8_t *iv,
                      const uint8_t *aad, size_t aad_len, uint8_t *in_out, size_t len,
                      const uint8_t *icv)
{
	(void)mgr; (void)key_len; (void)key_data; (void)iv; (void)aad; (void)aad_len;
	(void)icv;
	if (in_out != NULL && len != 0)
		memset(in_out, 0, len);
	return -1;
}

#endif /* DPDK_SYS_HAVE_IPSEC_MB */
#endif /* DPDK_SYS_IPSEC_MB */
