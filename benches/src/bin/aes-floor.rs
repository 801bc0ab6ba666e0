//! `aes-floor`: the floor under any AES-GCM of MACsec frames on this core, for the benchmark
//! scripts to print beside intel-ipsec-mb's rate (see `macsec::crypto::mbgcm::floor`).
//!
//! Usage: `aes-floor [--key-bits 128|256] [--sizes 64,512,1500,9000]`
//!
//! stdout, one TSV line per frame size (octets, DA to the end of the user data; its text is the
//! size less the 12 octets of addresses, and E_K(J0) is one more block): the size, the code path
//! (the best this CPU has, no better than `MACSEC_MB_PATH`), ns a frame for the AES rounds alone,
//! ns a frame with four carry-less multiplies per register beside them (a reference for GHASH's
//! share, see the module), and the Mops that the latter allows.
//! Exit status 2 on bad arguments, 3 when this CPU has no AES-NI (or is not x86_64).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut bits = 128;
    let mut sizes: Vec<usize> = macsec_benches::SIZES.to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next();
        match (a.as_str(), v.as_deref()) {
            ("--key-bits", Some("128")) => bits = 128,
            ("--key-bits", Some("256")) => bits = 256,
            ("--sizes", Some(v)) => match v.split(',').map(str::parse).collect::<Result<Vec<usize>, _>>() {
                Ok(s) if s.iter().all(|&n| (12..=65535).contains(&n)) => sizes = s,
                _ => {
                    return usage(&format!(
                        "--sizes {v}: want sizes of 12 to 65535 octets, comma-separated"
                    ))
                }
            },
            ("--key-bits", v) => {
                return usage(&format!(
                    "--key-bits {}: want 128 or 256",
                    v.unwrap_or("(missing)")
                ));
            }
            ("--sizes", None) => return usage("--sizes: want a list of sizes"),
            _ => return usage(&format!("unexpected argument {a:?}")),
        }
    }
    run(bits, &sizes)
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("aes-floor: {msg}\nusage: aes-floor [--key-bits 128|256] [--sizes 64,512,1500,9000]");
    ExitCode::from(2)
}

#[cfg(target_arch = "x86_64")]
fn run(bits: usize, sizes: &[usize]) -> ExitCode {
    use macsec::crypto::mbgcm::{floor, Path};
    let Some(path) = Path::best() else {
        eprintln!("aes-floor: this CPU has no AES-NI + PCLMULQDQ");
        return ExitCode::from(3);
    };
    let rounds = if bits == 256 { 14 } else { 10 };
    let (Some(aes), Some(both)) = (
        floor::ns_per_block(path, rounds, false),
        floor::ns_per_block(path, rounds, true),
    ) else {
        eprintln!("aes-floor: the {} path did not run", path.name());
        return ExitCode::from(3);
    };
    for &size in sizes {
        let blocks = (size - 12).div_ceil(16) + 1;
        let (a, b) = (aes * blocks as f64, both * blocks as f64);
        println!("{size}\t{}\t{a:.2}\t{b:.2}\t{:.2}", path.name(), 1000.0 / b);
    }
    ExitCode::SUCCESS
}

#[cfg(not(target_arch = "x86_64"))]
fn run(_bits: usize, _sizes: &[usize]) -> ExitCode {
    eprintln!("aes-floor: only x86_64 is measured");
    ExitCode::from(3)
}
