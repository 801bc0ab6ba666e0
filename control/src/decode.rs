//! `macsecctl mka decode`: decode every EAPOL-MKA frame of a capture with every parameter set,
//! verify its ICV with the ICK of a given CAK/CKN, and unwrap any distributed SAK (and CAK) with
//! the KEK. Keys are printed only when asked (`***` otherwise); the CAK never is.

use crate::pcap::{for_each_frame, PcapToolError};
use mka::kdf::{Cak, Ckn, Ick, Kek};
use mka::pdu::*;
use mka::ppk::PpkKeyIdTlv;
use mka::Ki;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// What to decode with and how to print.
pub struct DecodeOptions {
    pub cak: Cak,
    pub ckn: Ckn,
    /// Print unwrapped SAKs and CAKs in hex (otherwise `***`).
    pub show_keys: bool,
    /// One JSON object per MKPDU per line instead of the readable dump.
    pub json: bool,
}

impl DecodeOptions {
    /// Parses the CAK and CKN given in hex. Messages never contain the key.
    pub fn from_hex(cak: &str, ckn: &str, show_keys: bool, json: bool) -> Result<Self, PcapToolError> {
        let cak = Cak::from_hex(cak).map_err(|e| PcapToolError::Usage(format!("--cak: {e}")))?;
        let ckn = Ckn::from_hex(ckn).map_err(|e| PcapToolError::Usage(format!("--ckn: {e}")))?;
        Ok(DecodeOptions {
            cak,
            ckn,
            show_keys,
            json,
        })
    }
}

/// What a run saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeSummary {
    /// Frames in the capture.
    pub frames: u64,
    /// EAPOL-MKA frames (EtherType 88-8E, packet type 5), parsed or not.
    pub mkpdus: u64,
    /// EAPOL frames of other packet types (EAP, Start, Logoff, ...), skipped.
    pub other_eapol: u64,
    /// MKPDUs that did not parse, failed the ICV, carried an unknown Algorithm Agility, or
    /// carried a key that did not unwrap.
    pub failures: u64,
}

/// The outcome of unwrapping a distributed key.
enum Unwrapped {
    Key(zeroize::Zeroizing<Vec<u8>>),
    Failed(String),
}

struct Ctx<'a> {
    opts: &'a DecodeOptions,
    ick: Ick,
    kek: Kek,
}

impl Ctx<'_> {
    fn key_text(&self, k: &[u8]) -> String {
        if self.opts.show_keys {
            hex::encode(k)
        } else {
            "***".into()
        }
    }
}

/// Decodes every frame of `input`, writing one record per EAPOL-MKA frame to `out`.
pub fn decode_capture(
    opts: &DecodeOptions,
    input: &Path,
    out: &mut dyn Write,
) -> Result<DecodeSummary, PcapToolError> {
    let ctx = Ctx {
        opts,
        ick: Ick::derive(&opts.cak, &opts.ckn),
        kek: Kek::derive(&opts.cak, &opts.ckn),
    };
    let mut sum = DecodeSummary::default();
    let io = |error| PcapToolError::Io {
        path: "<stdout>".into(),
        error,
    };
    let mut first: Option<std::time::Duration> = None;
    for_each_frame(input, |frame| {
        sum.frames += 1;
        let n = sum.frames;
        // JSON carries the capture's timestamp; the dump the time since the first frame.
        let t0 = *first.get_or_insert(frame.timestamp);
        let t = if opts.json {
            frame.timestamp.as_secs_f64()
        } else {
            frame.timestamp.saturating_sub(t0).as_secs_f64()
        };
        let record = match MkaFrameRepr::parse(&frame.data) {
            Err(MkpduError::NotEapol { .. }) => return Ok(()),
            Err(MkpduError::NotMka { .. }) => {
                sum.other_eapol += 1;
                return Ok(());
            }
            Err(e) => {
                sum.mkpdus += 1;
                sum.failures += 1;
                let icv_valid = verify_frame_icv(&frame.data, &ctx.ick).ok();
                render_error(opts.json, n, t, &e, icv_valid)
            }
            Ok(f) => {
                sum.mkpdus += 1;
                let icv_valid = verify_frame_icv(&frame.data, &ctx.ick).unwrap_or(false);
                let (text, ok) = render(&ctx, n, t, &f, icv_valid);
                if !ok {
                    sum.failures += 1;
                }
                text
            }
        };
        out.write_all(record.as_bytes()).map_err(io)
    })?;
    Ok(sum)
}

fn render_error(json: bool, n: u64, t: f64, e: &MkpduError, icv_valid: Option<bool>) -> String {
    if json {
        format!(
            "{}\n",
            json!({ "frame": n, "time": t, "error": e.to_string(), "reason": e.reason(), "icv_valid": icv_valid.unwrap_or(false) })
        )
    } else {
        format!("frame {n}  t=+{t:.6}  malformed MKPDU: {e} [{}]\n\n", e.reason())
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn capability_text(c: MacsecCapability) -> &'static str {
    match c {
        MacsecCapability::NotImplemented => "not implemented",
        MacsecCapability::IntegrityOnly => "integrity only",
        MacsecCapability::ConfidentialityNoOffset => "integrity and confidentiality, offset 0",
        MacsecCapability::ConfidentialityWithOffset => "integrity and confidentiality, offsets 0/30/50",
    }
}

fn offset_text(o: ConfidentialityOffset) -> &'static str {
    match o {
        ConfidentialityOffset::NotConfidential => "not confidential",
        ConfidentialityOffset::Offset0 => "0",
        ConfidentialityOffset::Offset30 => "30",
        ConfidentialityOffset::Offset50 => "50",
    }
}

fn suite_text(id: Option<u64>) -> String {
    match id {
        None => "GCM-AES-128 (default form, no identifier)".into(),
        Some(id) => match cipher_suite_from_id(id) {
            Some(cs) => format!("{cs} ({id:016x})"),
            None => format!("unknown cipher suite {id:016x}"),
        },
    }
}

fn key_use_json(k: Option<KeyUse>) -> Value {
    match k {
        None => Value::Null,
        Some(k) => {
            json!({ "mi": k.ki.mi.to_string(), "kn": k.ki.kn, "an": k.an, "tx": k.tx, "rx": k.rx, "lowest_pn": k.lowest_pn })
        }
    }
}

/// Renders one parsed MKPDU; returns the text and whether it counts as good.
fn render(ctx: &Ctx, n: u64, t: f64, f: &MkaFrameRepr, icv_valid: bool) -> (String, bool) {
    let b = &f.mkpdu.basic;
    let agility_ok = b.algorithm_agility == ALGORITHM_AGILITY;
    let ckn_match = b.ckn == ctx.opts.ckn;
    let mut ok = icv_valid && agility_ok;
    let mut sets_json = Vec::new();
    let mut text = String::new();
    let mut first_sak: Option<String> = None;
    // PPK mode: the key ID the Distributed SAK's KEK' was mixed with (docs/ppk-mka.md).
    let announced = f.mkpdu.sets.iter().filter_map(|s| match s {
        ParamSet::Announcement(a) => Some(a.tlvs.iter()),
        _ => None,
    });
    let ppk_tlv = PpkKeyIdTlv::find(announced.flatten()).and_then(Result::ok);
    for s in &f.mkpdu.sets {
        let _ = write!(text, "  {} (type {})", s.name(), s.set_type());
        let mut j = json!({ "type": s.set_type(), "name": s.name() });
        match s {
            ParamSet::LivePeerList(l) | ParamSet::PotentialPeerList(l) => {
                let _ = writeln!(
                    text,
                    ": {} peer(s), octet 2 (key server SSCI) {}",
                    l.peers.len(),
                    l.key_server_ssci
                );
                for p in &l.peers {
                    let _ = writeln!(text, "    MI {}  MN {}", p.mi, p.mn);
                }
                j["key_server_ssci"] = json!(l.key_server_ssci);
                j["peers"] = l
                    .peers
                    .iter()
                    .map(|p| json!({ "mi": p.mi.to_string(), "mn": p.mn }))
                    .collect();
            }
            ParamSet::SakUse(u) => {
                let _ = writeln!(
                    text,
                    ": plain tx {}, plain rx {}, delay protect {}{}",
                    yes(u.plain_tx),
                    yes(u.plain_rx),
                    yes(u.delay_protect),
                    if u.keys.is_none() {
                        ", empty (MACsec not in use)"
                    } else {
                        ""
                    }
                );
                for (name, k) in [("latest", u.latest()), ("old", u.old())] {
                    if let Some(k) = k {
                        let _ = writeln!(
                            text,
                            "    {name:<6} KI {}  AN {}  tx {}  rx {}  lowest PN {}",
                            k.ki,
                            k.an,
                            yes(k.tx),
                            yes(k.rx),
                            k.lowest_pn
                        );
                    }
                }
                j["plain_tx"] = json!(u.plain_tx);
                j["plain_rx"] = json!(u.plain_rx);
                j["delay_protect"] = json!(u.delay_protect);
                j["latest"] = key_use_json(u.latest());
                j["old"] = key_use_json(u.old());
                if let Some(m) = u.most_recent() {
                    let _ = writeln!(text, "    most recent key: {}", m.ki);
                }
            }
            ParamSet::DistributedSak(d) => {
                j["an"] = json!(d.an);
                j["confidentiality_offset"] = json!(d.conf_offset.bits());
                match &d.key {
                    None => {
                        let _ = writeln!(text, ": AN {}, empty (MACsec not to be used)", d.an);
                    }
                    Some(k) => {
                        let unwrapped = match ctx.kek.unwrap_sak(&k.wrapped) {
                            Ok(sak) => Unwrapped::Key(zeroize::Zeroizing::new(sak.as_bytes().to_vec())),
                            Err(e) => Unwrapped::Failed(e.to_string()),
                        };
                        let _ = writeln!(
                            text,
                            ": AN {}, confidentiality offset {}, KN {} (KI {}), {}",
                            d.an,
                            offset_text(d.conf_offset),
                            k.kn,
                            Ki::new(b.mi, k.kn),
                            suite_text(k.cipher_suite_id)
                        );
                        let _ = writeln!(text, "    wrapped {}", hex::encode(&k.wrapped));
                        j["kn"] = json!(k.kn);
                        j["ki"] = json!(Ki::new(b.mi, k.kn).to_string());
                        j["cipher_suite_id"] = k
                            .cipher_suite_id
                            .map_or(Value::Null, |id| json!(format!("{id:016x}")));
                        j["cipher_suite"] = d.cipher_suite().map_or(Value::Null, |c| json!(c.name()));
                        j["wrapped_sak"] = json!(hex::encode(&k.wrapped));
                        match unwrapped {
                            Unwrapped::Key(sak) => {
                                let shown = ctx.key_text(&sak);
                                let _ = writeln!(text, "    SAK {shown} (unwrapped with the KEK)");
                                j["sak"] = json!(shown);
                                j["unwrap"] = json!("ok");
                                if ctx.opts.show_keys && first_sak.is_none() {
                                    first_sak = Some(shown);
                                }
                            }
                            Unwrapped::Failed(_) if ppk_tlv.as_ref().is_some_and(|t| t.kn == k.kn) => {
                                let id = ppk_tlv.as_ref().map(|t| t.key_id.to_string()).unwrap_or_default();
                                let _ = writeln!(text, "    SAK not unwrapped: wrapped with KEK' mixed with the PPK of key ID {id} (PPK mode)");
                                j["unwrap"] = json!("ppk");
                                j["ppk_key_id"] = json!(id);
                            }
                            Unwrapped::Failed(e) => {
                                ok = false;
                                let _ = writeln!(text, "    SAK not unwrapped: {e}");
                                j["unwrap"] = json!(e);
                            }
                        }
                    }
                }
            }
            ParamSet::DistributedCak(c) => {
                let _ = writeln!(text, ": CKN {}", c.ckn);
                j["ckn"] = json!(c.ckn.to_string());
                j["wrapped_cak"] = json!(hex::encode(&c.wrapped_cak));
                match ctx.kek.unwrap_cak(&c.wrapped_cak) {
                    Ok(cak) => {
                        let shown = ctx.key_text(cak.as_bytes());
                        let _ = writeln!(text, "    CAK {shown} (unwrapped with the KEK)");
                        j["cak"] = json!(shown);
                        j["unwrap"] = json!("ok");
                    }
                    Err(e) => {
                        ok = false;
                        let _ = writeln!(text, "    CAK not unwrapped: {e}");
                        j["unwrap"] = json!(e.to_string());
                    }
                }
            }
            ParamSet::Kmd(k) => {
                let _ = writeln!(text, ": {:?}", String::from_utf8_lossy(k));
                j["kmd"] = json!(String::from_utf8_lossy(k));
            }
            ParamSet::Announcement(a) => {
                let _ = writeln!(text, ": {} TLV(s)", a.tlvs.len());
                let mut tl = Vec::new();
                for tlv in &a.tlvs {
                    match tlv {
                        AnnouncementTlv::CipherSuites(v) => {
                            let _ = writeln!(text, "    TLV 112 MACsec Cipher Suites:");
                            for e in v {
                                let _ = writeln!(
                                    text,
                                    "      {}, capability {}",
                                    suite_text(Some(e.id)),
                                    e.capability.bits()
                                );
                            }
                            tl.push(json!({ "type": 112, "cipher_suites": v.iter().map(|e| json!({
                                "id": format!("{:016x}", e.id),
                                "name": cipher_suite_from_id(e.id).map(|c| c.name()),
                                "capability": e.capability.bits(),
                            })).collect::<Vec<_>>() }));
                        }
                        AnnouncementTlv::Other { .. } if PpkKeyIdTlv::from_tlv(tlv).is_some() => {
                            match PpkKeyIdTlv::from_tlv(tlv) {
                                Some(Ok(t)) => {
                                    let _ = writeln!(
                                        text,
                                        "    TLV 127 PPK Key ID: KN {}, key ID {}",
                                        t.kn, t.key_id
                                    );
                                    tl.push(json!({ "type": 127, "ppk_key_id": t.key_id.to_string(), "kn": t.kn }));
                                }
                                Some(Err(e)) => {
                                    ok = false;
                                    let _ =
                                        writeln!(text, "    TLV 127 PPK Key ID: malformed ({})", e.reason());
                                    tl.push(json!({ "type": 127, "error": e.reason() }));
                                }
                                None => {}
                            }
                        }
                        AnnouncementTlv::Other { tlv_type, value } => {
                            let _ = writeln!(text, "    TLV {tlv_type}: {}", hex::encode(value));
                            tl.push(json!({ "type": tlv_type, "value": hex::encode(value) }));
                        }
                    }
                }
                j["tlvs"] = json!(tl);
            }
            ParamSet::Xpn(x) => {
                let _ = writeln!(
                    text,
                    ": suspension time {} s, latest lowest PN MSBs {:#010x}, old lowest PN MSBs {:#010x}",
                    x.suspension_time, x.latest_lowest_pn_msb, x.old_lowest_pn_msb
                );
                j["suspension_time"] = json!(x.suspension_time);
                j["latest_lowest_pn_msb"] = json!(x.latest_lowest_pn_msb);
                j["old_lowest_pn_msb"] = json!(x.old_lowest_pn_msb);
            }
            ParamSet::Unknown(u) => {
                let _ = writeln!(
                    text,
                    ": octet 2 {:#04x}, flags {:#x}, body {}",
                    u.octet2,
                    u.flags,
                    hex::encode(&u.body)
                );
                j["octet2"] = json!(u.octet2);
                j["flags"] = json!(u.flags);
                j["body"] = json!(hex::encode(&u.body));
            }
        }
        sets_json.push(j);
    }
    let status = if ok { "ok" } else { "FAILED" };
    if ctx.opts.json {
        let mut j = json!({
            "frame": n,
            "time": t,
            "dst": f.dst.to_string(),
            "src": f.src.to_string(),
            "vlan_tags": f.vlan_tags.iter().map(|v| json!({ "tpid": v.tpid, "tci": v.tci })).collect::<Vec<_>>(),
            "eapol_version": f.eapol_version,
            "mkpdu_len": f.mkpdu.buffer_len(),
            "icv_valid": icv_valid,
            "icv": hex::encode(f.mkpdu.icv),
            "icv_indicator": f.mkpdu.icv_indicator,
            "mka_version": b.version,
            "key_server_priority": b.key_server_priority,
            "key_server": b.key_server,
            "macsec_desired": b.macsec_desired,
            "macsec_capability": b.macsec_capability.bits(),
            "sci": b.sci.to_string(),
            "mi": b.mi.to_string(),
            "mn": b.mn,
            "algorithm_agility": format!("{:08x}", b.algorithm_agility),
            "ckn": b.ckn.to_string(),
            "ckn_match": ckn_match,
            "parameter_sets": sets_json,
            "ok": ok,
        });
        if let Some(sak) = first_sak {
            j["sak"] = json!(sak);
        }
        (format!("{j}\n"), ok)
    } else {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "MKPDU frame {n}  t=+{t:.6}  {} -> {}  EAPOL v{}  {} octets  ICV {}  [{status}]",
            f.src,
            f.dst,
            f.eapol_version,
            f.mkpdu.buffer_len(),
            if icv_valid { "valid" } else { "INVALID" }
        );
        for v in &f.vlan_tags {
            let _ = writeln!(s, "  VLAN tag {:#06x} TCI {:#06x}", v.tpid, v.tci);
        }
        let _ = writeln!(
            s,
            "  Basic Parameter Set: MKA version {}, key server priority {}, key server {}, MACsec desired {}, capability {} ({})",
            b.version,
            b.key_server_priority,
            yes(b.key_server),
            yes(b.macsec_desired),
            b.macsec_capability.bits(),
            capability_text(b.macsec_capability)
        );
        let _ = writeln!(
            s,
            "    SCI {}  MI {}  MN {}  algorithm agility {:08x}{}",
            b.sci,
            b.mi,
            b.mn,
            b.algorithm_agility,
            if agility_ok { "" } else { " (UNKNOWN)" }
        );
        let _ = writeln!(
            s,
            "    CKN {}{}",
            b.ckn,
            if ckn_match { "" } else { " (not the --ckn given)" }
        );
        s.push_str(&text);
        let _ = writeln!(
            s,
            "  ICV {}{}: {}\n",
            hex::encode(f.mkpdu.icv),
            if f.mkpdu.icv_indicator {
                " (in an ICV Indicator)"
            } else {
                ""
            },
            if icv_valid { "valid" } else { "INVALID" }
        );
        (s, ok)
    }
}
