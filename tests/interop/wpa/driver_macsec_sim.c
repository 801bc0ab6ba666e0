/*
 * macsec_sim: a wpa_supplicant driver for MKA interop tests on kernels without the macsec link
 * type. EAPOL goes through the wired driver's common code (a raw socket on the interface, PAE
 * group membership); the SecY is simulated: every call succeeds, is logged as "MACSEC_SIM ...",
 * and every SA change is appended as one JSON object per line to the file named by the
 * environment variable MACSEC_SIM_SA_LOG (if set):
 *
 *   {"op":"rx_sa"|"tx_sa","sci":"<16 hex>","an":N,"pn":N,"cipher_suite":"<16 hex>",
 *    "conf_offset":N,"key":"<hex>","ki_mi":"<24 hex>","ki_kn":N,"t":<seconds>}
 *   {"op":"tx_enable"|"tx_disable"|"rx_enable"|"rx_disable"|"tx_delete"|"rx_delete",
 *    "sci":"<16 hex>","an":N,"t":<seconds>}
 *
 * The key is written in clear: this driver exists for tests, so that a test can decrypt what
 * its peer sent with the SAK wpa_supplicant's MKA agreed. wpa_supplicant's KaY and CP state
 * machines run unmodified.
 *
 * Written for the MACsec appliance project's interop tests (tests/interop/wpa); distributed
 * under the same BSD license as wpa_supplicant.
 */

#include "includes.h"
#include <sys/time.h>

#include "common.h"
#include "driver.h"
#include "driver_wired_common.h"
#include "pae/ieee802_1x_kay.h"

#define SIM "MACSEC_SIM "

struct macsec_sim_data {
	struct driver_wired_common_data common;
	u64 cipher_suite;
};

static double sim_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static FILE * sim_log_open(void)
{
	const char *path = getenv("MACSEC_SIM_SA_LOG");

	return path ? fopen(path, "a") : NULL;
}

static void sim_hex(FILE *f, const u8 *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

static void sim_sci(FILE *f, const struct ieee802_1x_mka_sci *sci)
{
	sim_hex(f, sci->addr, ETH_ALEN);
	fprintf(f, "%04x", be_to_host16(sci->port));
}

/* One line for an SA that is being created, with its key. */
static void sim_sa_created(struct macsec_sim_data *drv, const char *op,
			   const struct ieee802_1x_mka_sci *sci, u8 an,
			   u32 pn, const struct data_key *k)
{
	FILE *f;

	wpa_printf(MSG_INFO, SIM "%s an=%u pn=%u sci=" MACSTR "@%u", op, an, pn,
		   MAC2STR(sci->addr), be_to_host16(sci->port));
	f = sim_log_open();
	if (!f)
		return;
	fprintf(f, "{\"op\":\"%s\",\"sci\":\"", op);
	sim_sci(f, sci);
	fprintf(f, "\",\"an\":%u,\"pn\":%u,\"cipher_suite\":\"%016llx\","
		"\"conf_offset\":%d,\"key\":\"", an, pn,
		(unsigned long long) drv->cipher_suite,
		k ? (int) k->confidentiality_offset : -1);
	if (k)
		sim_hex(f, k->key, k->key_len);
	fprintf(f, "\",\"ki_mi\":\"");
	if (k)
		sim_hex(f, k->key_identifier.mi, MI_LEN);
	fprintf(f, "\",\"ki_kn\":%u,\"t\":%.6f}\n",
		k ? k->key_identifier.kn : 0, sim_now());
	fclose(f);
}

/* One line for any other SA change. */
static void sim_sa_event(const char *op, const struct ieee802_1x_mka_sci *sci,
			 u8 an)
{
	FILE *f;

	wpa_printf(MSG_INFO, SIM "%s an=%u", op, an);
	f = sim_log_open();
	if (!f)
		return;
	fprintf(f, "{\"op\":\"%s\",\"sci\":\"", op);
	sim_sci(f, sci);
	fprintf(f, "\",\"an\":%u,\"t\":%.6f}\n", an, sim_now());
	fclose(f);
}

static void * sim_init(void *ctx, const char *ifname)
{
	struct macsec_sim_data *drv = os_zalloc(sizeof(*drv));

	if (!drv)
		return NULL;
	if (driver_wired_init_common(&drv->common, ifname, ctx) < 0) {
		os_free(drv);
		return NULL;
	}
	wpa_printf(MSG_INFO, SIM "driver on %s (simulated SecY)", ifname);
	return drv;
}

static void sim_deinit(void *priv)
{
	struct macsec_sim_data *drv = priv;

	driver_wired_deinit_common(&drv->common);
	os_free(drv);
}

static int sim_macsec_init(void *priv, struct macsec_init_params *params)
{
	wpa_printf(MSG_INFO, SIM "macsec_init always_include_sci=%d",
		   params->always_include_sci);
	return 0;
}

static int sim_macsec_deinit(void *priv)
{
	wpa_printf(MSG_INFO, SIM "macsec_deinit");
	return 0;
}

static int sim_get_capability(void *priv, enum macsec_cap *cap)
{
	*cap = MACSEC_CAP_INTEG_AND_CONF;
	return 0;
}

static int sim_flag(const char *what, bool on)
{
	wpa_printf(MSG_INFO, SIM "%s=%d", what, on);
	return 0;
}

static int sim_enable_protect_frames(void *priv, bool enabled)
{
	return sim_flag("protect_frames", enabled);
}

static int sim_enable_encrypt(void *priv, bool enabled)
{
	return sim_flag("encrypt", enabled);
}

static int sim_enable_controlled_port(void *priv, bool enabled)
{
	return sim_flag("controlled_port", enabled);
}

static int sim_set_replay_protect(void *priv, bool enabled, u32 window)
{
	wpa_printf(MSG_INFO, SIM "replay_protect=%d window=%u", enabled, window);
	return 0;
}

static int sim_set_current_cipher_suite(void *priv, u64 cs)
{
	struct macsec_sim_data *drv = priv;

	drv->cipher_suite = cs;
	wpa_printf(MSG_INFO, SIM "cipher_suite=%016llx", (unsigned long long) cs);
	return 0;
}

/* No frames cross this SecY: the PNs stay what MKA set. */
static int sim_get_receive_lowest_pn(void *priv, struct receive_sa *sa)
{
	return 0;
}

static int sim_get_transmit_next_pn(void *priv, struct transmit_sa *sa)
{
	return 0;
}

static int sim_set_receive_lowest_pn(void *priv, struct receive_sa *sa)
{
	wpa_printf(MSG_INFO, SIM "rx_lowest_pn an=%u pn=%u", sa->an, sa->lowest_pn);
	return 0;
}

static int sim_set_transmit_next_pn(void *priv, struct transmit_sa *sa)
{
	wpa_printf(MSG_INFO, SIM "tx_next_pn an=%u pn=%u", sa->an, sa->next_pn);
	return 0;
}

static int sim_create_receive_sc(void *priv, struct receive_sc *sc,
				 unsigned int conf_offset, int validation)
{
	wpa_printf(MSG_INFO, SIM "rx_sc sci=" MACSTR "@%u conf_offset=%u validation=%d",
		   MAC2STR(sc->sci.addr), be_to_host16(sc->sci.port),
		   conf_offset, validation);
	return 0;
}

static int sim_delete_receive_sc(void *priv, struct receive_sc *sc)
{
	wpa_printf(MSG_INFO, SIM "rx_sc_delete");
	return 0;
}

static int sim_create_receive_sa(void *priv, struct receive_sa *sa)
{
	sim_sa_created(priv, "rx_sa", &sa->sc->sci, sa->an, sa->next_pn, sa->pkey);
	return 0;
}

static int sim_delete_receive_sa(void *priv, struct receive_sa *sa)
{
	sim_sa_event("rx_delete", &sa->sc->sci, sa->an);
	return 0;
}

static int sim_enable_receive_sa(void *priv, struct receive_sa *sa)
{
	sim_sa_event("rx_enable", &sa->sc->sci, sa->an);
	return 0;
}

static int sim_disable_receive_sa(void *priv, struct receive_sa *sa)
{
	sim_sa_event("rx_disable", &sa->sc->sci, sa->an);
	return 0;
}

static int sim_create_transmit_sc(void *priv, struct transmit_sc *sc,
				  unsigned int conf_offset)
{
	wpa_printf(MSG_INFO, SIM "tx_sc sci=" MACSTR "@%u conf_offset=%u",
		   MAC2STR(sc->sci.addr), be_to_host16(sc->sci.port), conf_offset);
	return 0;
}

static int sim_delete_transmit_sc(void *priv, struct transmit_sc *sc)
{
	wpa_printf(MSG_INFO, SIM "tx_sc_delete");
	return 0;
}

static int sim_create_transmit_sa(void *priv, struct transmit_sa *sa)
{
	sim_sa_created(priv, "tx_sa", &sa->sc->sci, sa->an, sa->next_pn, sa->pkey);
	return 0;
}

static int sim_delete_transmit_sa(void *priv, struct transmit_sa *sa)
{
	sim_sa_event("tx_delete", &sa->sc->sci, sa->an);
	return 0;
}

static int sim_enable_transmit_sa(void *priv, struct transmit_sa *sa)
{
	sim_sa_event("tx_enable", &sa->sc->sci, sa->an);
	return 0;
}

static int sim_disable_transmit_sa(void *priv, struct transmit_sa *sa)
{
	sim_sa_event("tx_disable", &sa->sc->sci, sa->an);
	return 0;
}

const struct wpa_driver_ops wpa_driver_macsec_sim_ops = {
	.name = "macsec_sim",
	.desc = "wired EAPOL with a simulated MACsec SecY (MKA interop tests)",
	.get_ssid = driver_wired_get_ssid,
	.get_bssid = driver_wired_get_bssid,
	.get_capa = driver_wired_get_capa,
	.init = sim_init,
	.deinit = sim_deinit,
	.macsec_init = sim_macsec_init,
	.macsec_deinit = sim_macsec_deinit,
	.macsec_get_capability = sim_get_capability,
	.enable_protect_frames = sim_enable_protect_frames,
	.enable_encrypt = sim_enable_encrypt,
	.set_replay_protect = sim_set_replay_protect,
	.set_current_cipher_suite = sim_set_current_cipher_suite,
	.enable_controlled_port = sim_enable_controlled_port,
	.get_receive_lowest_pn = sim_get_receive_lowest_pn,
	.set_receive_lowest_pn = sim_set_receive_lowest_pn,
	.get_transmit_next_pn = sim_get_transmit_next_pn,
	.set_transmit_next_pn = sim_set_transmit_next_pn,
	.create_receive_sc = sim_create_receive_sc,
	.delete_receive_sc = sim_delete_receive_sc,
	.create_receive_sa = sim_create_receive_sa,
	.delete_receive_sa = sim_delete_receive_sa,
	.enable_receive_sa = sim_enable_receive_sa,
	.disable_receive_sa = sim_disable_receive_sa,
	.create_transmit_sc = sim_create_transmit_sc,
	.delete_transmit_sc = sim_delete_transmit_sc,
	.create_transmit_sa = sim_create_transmit_sa,
	.delete_transmit_sa = sim_delete_transmit_sa,
	.enable_transmit_sa = sim_enable_transmit_sa,
	.disable_transmit_sa = sim_disable_transmit_sa,
};
