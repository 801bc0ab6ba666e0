//! Finds the system DPDK with `pkg-config libdpdk`, generates allowlisted bindings with bindgen
//! over `src/shim.h`, compiles the C shim (`src/shim.c`) over DPDK's `static inline` functions and
//! links the (shared) DPDK libraries.
//!
//! With the `ipsec-mb` feature (default) the shim also wraps intel-ipsec-mb's direct AES-GCM API
//! (`shim_imb_*`, `-DDPDK_SYS_IPSEC_MB`). Whether `intel-ipsec-mb.h` is usable is probed with the
//! C compiler: if so the real wrappers are built (`-DDPDK_SYS_HAVE_IPSEC_MB`) and `-lIPSec_MB` is
//! linked; if not, stubs are (shim_imb_mgr() returns NULL) and a cargo warning says so.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// Functions bound from the DPDK headers. bindgen over all of DPDK does not compile, hence an
/// allowlist; everything a type here needs is pulled in recursively.
const FUNCTIONS: &[&str] = &[
    // EAL
    "rte_eal_init",
    "rte_eal_cleanup",
    "rte_eal_remote_launch",
    "rte_eal_mp_wait_lcore",
    "rte_eal_wait_lcore",
    "rte_eal_get_lcore_state",
    "rte_eal_process_type",
    "rte_get_next_lcore",
    "rte_get_main_lcore",
    "rte_lcore_count",
    "rte_lcore_is_enabled",
    "rte_lcore_to_socket_id",
    "rte_socket_id",
    "rte_strerror",
    // ethdev
    "rte_eth_dev_count_avail",
    "rte_eth_dev_is_valid_port",
    "rte_eth_dev_get_port_by_name",
    "rte_eth_dev_get_name_by_port",
    "rte_eth_dev_configure",
    "rte_eth_dev_info_get",
    "rte_eth_dev_adjust_nb_rx_tx_desc",
    "rte_eth_dev_set_mtu",
    "rte_eth_dev_get_mtu",
    "rte_eth_rx_queue_setup",
    "rte_eth_tx_queue_setup",
    "rte_eth_dev_start",
    "rte_eth_dev_stop",
    "rte_eth_dev_close",
    "rte_eth_promiscuous_enable",
    "rte_eth_promiscuous_disable",
    "rte_eth_promiscuous_get",
    "rte_eth_stats_get",
    "rte_eth_stats_reset",
    "rte_eth_macaddr_get",
    "rte_eth_dev_socket_id",
    "rte_eth_link_get_nowait",
    // mempool / mbuf
    "rte_pktmbuf_pool_create",
    "rte_mempool_free",
    "rte_mempool_avail_count",
    "rte_mempool_in_use_count",
    "rte_mempool_lookup",
    "rte_pktmbuf_free_bulk",
    // the C shim (src/shim.c)
    "shim_.*",
];

const TYPES: &[&str] = &[
    "rte_eth_conf",
    "rte_eth_dev_info",
    "rte_eth_stats",
    "rte_eth_rxconf",
    "rte_eth_txconf",
    "rte_ether_addr",
    "rte_mbuf",
    "rte_mempool",
    "rte_eth_link",
    "rte_lcore_state_t",
    "rte_proc_type_t",
    "rte_rmt_call_main_t",
    "lcore_function_t",
    "rte_eth_rx_mq_mode",
    "rte_eth_tx_mq_mode",
];

const VARS: &[&str] = &[
    "RTE_MAX_LCORE",
    "RTE_MAX_ETHPORTS",
    "RTE_PKTMBUF_HEADROOM",
    "RTE_MBUF_DEFAULT_DATAROOM",
    "RTE_MBUF_DEFAULT_BUF_SIZE",
    "RTE_ETHER_ADDR_LEN",
    "RTE_ETHER_HDR_LEN",
    "RTE_ETHER_CRC_LEN",
    "RTE_ETHER_MTU",
    "RTE_ETHER_MAX_LEN",
    "RTE_ETH_NAME_MAX_LEN",
    "RTE_DEV_NAME_MAX_LEN",
    "RTE_MEMPOOL_NAMESIZE",
    "RTE_ETH_LINK_UP",
    "RTE_ETH_LINK_DOWN",
    "RTE_ETH_LINK_FULL_DUPLEX",
    "SOCKET_ID_ANY",
    "LCORE_ID_ANY",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/shim.h");
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    // Link flags: the shared DPDK libraries (`-lrte_*`), emitted as cargo metadata by the
    // pkg-config crate. PMDs are plugins that EAL dlopen()s from its default plugin directory,
    // so nothing else needs linking.
    let lib = match pkg_config::Config::new()
        .atleast_version("22.11")
        .cargo_metadata(true)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => panic!(
            "dpdk-sys: `pkg-config libdpdk` failed ({e}); install DPDK 22.11 development files \
             (Debian: apt-get install libdpdk-dev pkg-config)"
        ),
    };

    // Compile flags, verbatim: besides -I they carry `-include rte_config.h` and `-march=corei7`,
    // which the pkg-config crate does not expose.
    let cflags = pkg_config_cflags();

    // intel-ipsec-mb (feature `ipsec-mb`): real wrappers if the header compiles, else stubs.
    let ipsec_mb = env::var_os("CARGO_FEATURE_IPSEC_MB").is_some();
    let have_ipsec_mb = ipsec_mb && probe_ipsec_mb();
    if ipsec_mb && !have_ipsec_mb {
        println!(
            "cargo:warning=dpdk-sys: intel-ipsec-mb.h not found; the ipsec-mb AEAD backend is \
             built as a stub (Debian: apt-get install libipsec-mb-dev)"
        );
    }

    // The C shim.
    let mut build = cc::Build::new();
    build.file("src/shim.c").opt_level(3).warnings(false);
    if ipsec_mb {
        build.define("DPDK_SYS_IPSEC_MB", None);
    }
    if have_ipsec_mb {
        build.define("DPDK_SYS_HAVE_IPSEC_MB", None);
    }
    for inc in &lib.include_paths {
        build.include(inc);
    }
    for f in &cflags {
        if !f.starts_with("-I") {
            build.flag(f);
        }
    }
    build.compile("dpdk_sys_shim");
    println!("cargo:rustc-check-cfg=cfg(dpdk_sys_have_ipsec_mb)");
    if have_ipsec_mb {
        // After the shim archive, which needs it.
        println!("cargo:rustc-link-lib=IPSec_MB");
        println!("cargo:rustc-cfg=dpdk_sys_have_ipsec_mb");
    }

    // Bindings.
    let mut builder = bindgen::Builder::default()
        .header("src/shim.h")
        .clang_args(&cflags)
        .clang_args(ipsec_mb.then_some("-DDPDK_SYS_IPSEC_MB"))
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .allowlist_recursively(true)
        .derive_default(true)
        .derive_debug(false)
        .layout_tests(true)
        .generate_comments(false)
        .prepend_enum_name(true)
        .default_enum_style(bindgen::EnumVariation::Consts);
    for f in FUNCTIONS {
        builder = builder.allowlist_function(f);
    }
    for t in TYPES {
        builder = builder.allowlist_type(t);
    }
    for v in VARS {
        builder = builder.allowlist_var(v);
    }
    let bindings = builder
        .generate()
        .unwrap_or_else(|e| panic!("dpdk-sys: bindgen over src/shim.h failed: {e}"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("dpdk-sys: cannot write bindings.rs");
}

/// Whether `#include <intel-ipsec-mb.h>` compiles (the probe archive is not linked).
fn probe_ipsec_mb() -> bool {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let src = out.join("imb_probe.c");
    std::fs::write(
        &src,
        "#include <intel-ipsec-mb.h>\nint dpdk_sys_imb_probe(void) { return IMB_VERSION_NUM; }\n",
    )
    .expect("dpdk-sys: cannot write imb_probe.c");
    cc::Build::new()
        .file(&src)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .warnings(false)
        .try_compile("dpdk_sys_imb_probe")
        .is_ok()
}

/// `pkg-config --cflags libdpdk`, split on whitespace (`-include rte_config.h` stays two
/// arguments in order).
fn pkg_config_cflags() -> Vec<String> {
    let pc = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_owned());
    let out = Command::new(&pc)
        .args(["--cflags", "libdpdk"])
        .output()
        .unwrap_or_else(|e| panic!("dpdk-sys: cannot run {pc}: {e}"));
    if !out.status.success() {
        panic!(
            "dpdk-sys: `{pc} --cflags libdpdk` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
