//! The multi-buffer AES-GCM (every code path this CPU has) against ring, on fuzzed batches: the
//! input chooses the key (128 or 256), and cuts the rest into frames (IV, AAD and text lengths);
//! each path's batch seal must give ring's ciphertext and tag frame by frame, its batch open must
//! verify and decrypt them, and a frame with one flipped bit must be the only one refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use macsec::crypto::mbgcm::{MbGcmKey, OpenJob, Path, SealJob};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};

/// A frame: IV, AAD, text.
type Frame = ([u8; 12], Vec<u8>, Vec<u8>);

fn frames(mut d: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while d.len() >= 14 && out.len() < 80 {
        let mut iv = [0u8; 12];
        iv.copy_from_slice(&d[..12]);
        let aad_len = (d[12] as usize) % 97;
        // Text lengths up to about 2 KiB, and now and then a jumbo one.
        let text_len = if d[13] == 0xff {
            9000
        } else {
            (d[13] as usize) * 7 % 2048
        };
        d = &d[14..];
        let take = |d: &mut &[u8], n: usize| -> Vec<u8> {
            let v: Vec<u8> = (0..n)
                .map(|i| d.get(i % d.len().max(1)).copied().unwrap_or(i as u8))
                .collect();
            *d = &d[n.min(d.len())..];
            v
        };
        let aad = take(&mut d, aad_len);
        let text = take(&mut d, text_len);
        out.push((iv, aad, text));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 34 {
        return;
    }
    let key_len = if data[0] & 1 == 0 { 16 } else { 32 };
    let key = &data[1..1 + key_len];
    let flip = data[1 + key_len] as usize;
    let batch = frames(&data[2 + key_len..]);
    if batch.is_empty() {
        return;
    }
    let alg = if key_len == 16 { &AES_128_GCM } else { &AES_256_GCM };
    let ring = LessSafeKey::new(UnboundKey::new(alg, key).expect("key length"));
    let want: Vec<(Vec<u8>, [u8; 16])> = batch
        .iter()
        .map(|(iv, aad, text)| {
            let mut ct = text.clone();
            let tag = ring
                .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), &mut ct)
                .expect("seal");
            (ct, tag.as_ref().try_into().expect("16"))
        })
        .collect();
    for path in [Path::AesNi, Path::Vaes256, Path::Vaes512] {
        let Some(k) = MbGcmKey::with_path(key, path) else {
            continue;
        };
        let mut texts: Vec<Vec<u8>> = batch.iter().map(|(_, _, t)| t.clone()).collect();
        let mut tags = vec![[0u8; 16]; batch.len()];
        let mut jobs: Vec<SealJob> = batch
            .iter()
            .zip(texts.iter_mut().zip(tags.iter_mut()))
            .map(|((iv, aad, _), (text, tag))| SealJob {
                iv: *iv,
                aad,
                text,
                tag,
            })
            .collect();
        k.seal_batch(&mut jobs);
        drop(jobs);
        for (i, (ct, tag)) in want.iter().enumerate() {
            assert!(
                texts[i] == *ct && tags[i] == *tag,
                "{path:?}: frame {i} differs from ring"
            );
        }
        // Open it back, with one bit of one frame flipped.
        let victim = flip % batch.len();
        let bit = flip / batch.len();
        let target = bit % 3;
        let mut aads: Vec<Vec<u8>> = batch.iter().map(|(_, a, _)| a.clone()).collect();
        let flipped = match target {
            0 if !texts[victim].is_empty() => {
                let n = texts[victim].len();
                texts[victim][bit % n] ^= 1;
                true
            }
            1 if !aads[victim].is_empty() => {
                let n = aads[victim].len();
                aads[victim][bit % n] ^= 0x80;
                true
            }
            _ => {
                tags[victim][bit % 16] ^= 4;
                true
            }
        };
        let mut jobs: Vec<OpenJob> = batch
            .iter()
            .zip(aads.iter())
            .zip(texts.iter_mut().zip(tags.iter()))
            .map(|(((iv, _, _), aad), (text, tag))| OpenJob {
                iv: *iv,
                aad,
                text,
                tag,
            })
            .collect();
        let mut ok = vec![false; batch.len()];
        k.open_batch(&mut jobs, &mut ok);
        drop(jobs);
        for (i, (_, _, plain)) in batch.iter().enumerate() {
            if i == victim && flipped {
                assert!(!ok[i], "{path:?}: a tampered frame {i} verified");
            } else {
                assert!(ok[i], "{path:?}: frame {i} refused");
                assert!(texts[i] == *plain, "{path:?}: frame {i} decrypted wrong");
            }
        }
    }
});
