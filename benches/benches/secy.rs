//! Criterion benches of the SecY: every backend's bare AEAD seal, its kernels on batches of 1, 8
//! and 64 frames with one call (seal_batch and open_batch: the multi-buffer backend interleaves
//! them), protect and validate per cipher suite and frame size, against the backend's bare AEAD
//! seal of the same frame (AAD = DA‖SA‖SecTAG, 28 octets; text = the User Data).

#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use macsec::crypto::{Backend, OpenJob, SealJob};
use macsec::secy::{CipherSuite, Commit, Opened, Policy, RxSecY, RxStatus, Sci, Span, TxSecY};
use macsec_benches::{frame_buffer, keys, SIZES};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SCI: Sci = Sci(0x0011_2233_4455_0001);

/// Every backend compiled in (ring, rustcrypto, ipsec-mb by default) that can make keys here.
fn backends() -> impl Iterator<Item = Backend> {
    Backend::ALL.into_iter().filter(|b| b.is_available())
}

fn tx(suite: CipherSuite, backend: Backend) -> TxSecY {
    let mut tx = TxSecY::new(Policy::new(suite), SCI, backend);
    tx.install_sa(0, &keys(suite), 1).unwrap();
    tx.set_encoding_an(Some(0)).unwrap();
    tx
}

fn bench_seal(c: &mut Criterion) {
    let mut g = c.benchmark_group("seal");
    for backend in backends() {
        for bits in [128usize, 256] {
            let key = backend.new_key(&vec![7u8; bits / 8]).unwrap();
            for size in SIZES {
                // The same layout protect leaves: the frame starts 16 octets into the headroom.
                let (mut buf, span) = frame_buffer(size);
                let start = span.start - 16;
                let iv = [3u8; 12];
                let mut icv = [0u8; 16];
                g.throughput(Throughput::Bytes(size as u64));
                g.bench_with_input(
                    BenchmarkId::new(format!("{backend}-{bits}"), size),
                    &size,
                    |b, &size| {
                        b.iter(|| {
                            let (aad, text) = buf[start..start + 28 + size - 12].split_at_mut(28);
                            key.seal(&iv, aad, text, &mut icv).unwrap();
                            black_box(&icv);
                        })
                    },
                );
            }
        }
    }
    g.finish();
}

/// Batch sizes of the kernel benches: one frame, a small burst, the dataplane's full burst.
const BATCHES: [usize; 3] = [1, 8, 64];

/// The AEAD kernels as the dataplane calls them: a batch of frames of one size with one call
/// (`AeadKey::seal_batch` and `open_batch`; the multi-buffer backend interleaves them, the others
/// run them one by one), per backend, key size, batch size and frame size. Throughput in text
/// octets (the User Data, frame - 12), so `scripts/bench-crypto.sh` can give cycles per octet.
/// Opening runs over the text the last call left, so its tags mostly fail: the kernels do the
/// same work either way (the whole text is hashed and decrypted before the tag is compared).
fn bench_kernels(c: &mut Criterion) {
    for (name, seal) in [("seal_batch", true), ("open_batch", false)] {
        let mut g = c.benchmark_group(name);
        for backend in backends() {
            for bits in [128usize, 256] {
                let key = backend.new_key(&vec![7u8; bits / 8]).unwrap();
                for n in BATCHES {
                    for size in SIZES {
                        let mut bufs: Vec<(Vec<u8>, Span)> = (0..n).map(|_| frame_buffer(size)).collect();
                        let mut ok = vec![false; n];
                        g.throughput(Throughput::Bytes((n * (size - 12)) as u64));
                        g.bench_with_input(
                            BenchmarkId::new(format!("{backend}-{bits}-b{n}"), size),
                            &size,
                            |b, &size| {
                                b.iter(|| {
                                    let parts = bufs.iter_mut().map(|(buf, span)| {
                                        // The layout protect leaves: the frame starts 16 octets
                                        // into the headroom, the ICV follows the text.
                                        let start = span.start - 16;
                                        let (aad, rest) =
                                            buf[start..start + 28 + size - 12 + 16].split_at_mut(28);
                                        let (text, icv) = rest.split_at_mut(size - 12);
                                        (aad, text, <&mut [u8; 16]>::try_from(icv).unwrap())
                                    });
                                    if seal {
                                        let mut jobs: Vec<SealJob> = parts
                                            .map(|(aad, text, tag)| SealJob {
                                                iv: [3u8; 12],
                                                aad,
                                                text,
                                                tag,
                                            })
                                            .collect();
                                        key.seal_batch(&mut jobs, &mut ok);
                                    } else {
                                        let mut jobs: Vec<OpenJob> = parts
                                            .map(|(aad, text, tag)| OpenJob {
                                                iv: [3u8; 12],
                                                aad,
                                                text,
                                                tag,
                                            })
                                            .collect();
                                        key.open_batch(&mut jobs, &mut ok);
                                    }
                                    black_box(&ok);
                                })
                            },
                        );
                    }
                }
            }
        }
        g.finish();
    }
}

fn bench_protect(c: &mut Criterion) {
    let mut g = c.benchmark_group("protect");
    for backend in backends() {
        for suite in CipherSuite::ALL {
            let mut t = tx(suite, backend);
            for size in SIZES {
                let (mut buf, span) = frame_buffer(size);
                g.throughput(Throughput::Bytes(size as u64));
                // The dataplane's path: PNs reserved 32 at a time (one atomic per burst), then
                // protect_with per frame. Protecting the same buffer again costs the same: the
                // addresses move into the headroom and the User Data is sealed in place each time.
                let sa = t.encoding_sa().unwrap().clone();
                let mut block = sa.reserve(32).0;
                g.bench_with_input(
                    BenchmarkId::new(format!("{backend}/{suite}"), size),
                    &size,
                    |b, _| {
                        b.iter(|| {
                            let pn = match block.take() {
                                Some(pn) => pn,
                                None => {
                                    block = sa.reserve(32).0;
                                    block.take().unwrap()
                                }
                            };
                            black_box(t.protect_with(&sa, pn, &mut buf, span).unwrap())
                        })
                    },
                );
            }
        }
    }
    g.finish();
}

fn bench_validate(c: &mut Criterion) {
    let mut g = c.benchmark_group("validate");
    for backend in backends() {
        for suite in CipherSuite::ALL {
            let mut t = tx(suite, backend);
            let mut policy = Policy::new(suite);
            // The same frame is validated again and again: replay protection would refuse it.
            policy.replay_protect = false;
            let mut rx = RxSecY::new(policy, backend);
            rx.install_sa(SCI, 0, &keys(suite), 1).unwrap();
            for size in SIZES {
                let (mut buf, span) = frame_buffer(size);
                let out = t.protect(&mut buf, span).unwrap();
                g.throughput(Throughput::Bytes(size as u64));
                g.bench_with_input(
                    BenchmarkId::new(format!("{backend}/{suite}"), size),
                    &size,
                    |b, _| {
                        b.iter_batched_ref(
                            || buf.clone(),
                            |work| black_box(rx.validate(work, out).unwrap()),
                            BatchSize::SmallInput,
                        )
                    },
                );
            }
        }
    }
    g.finish();
}

/// Validate's second step alone ([`Commit::frame`]: the replay check and window update, the
/// counters) on bursts of 64 frames opened with consecutive PNs on one SA, committed in order as
/// the dataplane's release step commits in-order traffic: 64 such bursts (PNs 1 to 4096), then
/// the SA installed afresh (not timed) and the same bursts again.
fn bench_commit(c: &mut Criterion) {
    const BURSTS: usize = 64;
    let mut g = c.benchmark_group("commit");
    let backend = Backend::Ring;
    for suite in [CipherSuite::GcmAes128, CipherSuite::GcmAesXpn256] {
        let fresh = || {
            let mut rx = RxSecY::new(Policy::new(suite), backend);
            rx.install_sa(SCI, 0, &keys(suite), 1).unwrap();
            rx
        };
        let mut t = tx(suite, backend);
        let opener = fresh();
        let opened: Vec<Opened> = (0..64 * BURSTS)
            .map(|_| {
                let (mut buf, span) = frame_buffer(64);
                let out = t.protect(&mut buf, span).unwrap();
                opener.open(&mut buf, out)
            })
            .collect();
        // What is timed is the path of verified frames: every one commits as OK.
        let mut check = fresh();
        let mut commit = Commit::new(&check.scs, &check.policy, &mut check.counters);
        for o in &opened {
            assert_eq!(commit.frame(o).map(|v| v.status), Ok(RxStatus::Ok));
        }
        drop(commit);
        g.throughput(Throughput::Elements(64));
        g.bench_function(BenchmarkId::new(format!("{suite}"), "burst of 64"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(BURSTS);
                    let mut rx = fresh();
                    let t0 = Instant::now();
                    for burst in opened.chunks(64).take(k) {
                        let mut commit = Commit::new(&rx.scs, &rx.policy, &mut rx.counters);
                        for o in burst {
                            black_box(commit.frame(black_box(o)).is_ok());
                        }
                    }
                    total += t0.elapsed();
                    left -= k;
                }
                total
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(900))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = bench_seal, bench_kernels, bench_protect, bench_validate, bench_commit }
criterion_main!(benches);
