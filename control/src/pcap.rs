//! `macsecctl pcap`: protect or validate every frame of a capture offline with the dataplane's own
//! SecY, so operators can decrypt what tshark cannot (XPN, confidentiality offset) and tests and
//! benchmarks can make and check MACsec traffic. Classic pcap is written; pcap and pcapng are read.

use macsec::crypto::Backend;
use macsec::secy::{
    CipherSuite, ConfOffset, Policy, RxSecY, RxStatus, SaKeys, Salt, Sci, SecyCounters, Span, Ssci, TxSecY,
    ValidateFrames,
};
use macsec::wire::sectag::SecTagRepr;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, Endianness};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// Headroom and tailroom around each frame: room for the SecTAG and the ICV.
const ROOM: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum PcapToolError {
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    #[error("{0}")]
    Usage(String),
}

fn fmt_err(path: &Path, msg: impl ToString) -> PcapToolError {
    PcapToolError::Format {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

/// Parses a SAK given in hex for `suite`. The message never repeats the key.
pub fn parse_sak(hex_str: &str, suite: CipherSuite) -> Result<Zeroizing<Vec<u8>>, PcapToolError> {
    let sak = Zeroizing::new(
        hex::decode(hex_str.trim()).map_err(|_| PcapToolError::Usage("--sak is not a hex string".into()))?,
    );
    if sak.len() != suite.key_len() {
        return Err(PcapToolError::Usage(format!(
            "--sak has {} octets; {} needs {}",
            sak.len(),
            suite,
            suite.key_len()
        )));
    }
    Ok(sak)
}

/// A command-line number that is neither decimal nor `0x` hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a number")]
pub struct NotANumber(pub String);

/// Parses a number given in decimal or with a 0x prefix in hex.
pub fn parse_u64(s: &str) -> Result<u64, NotANumber> {
    let s = s.trim();
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| NotANumber(s.to_string()))
}

/// Key material common to both directions.
pub struct KeyOptions {
    pub cipher_suite: CipherSuite,
    pub sak: Zeroizing<Vec<u8>>,
    pub ssci: Option<Ssci>,
    pub salt: Option<Salt>,
    pub backend: Backend,
}

impl KeyOptions {
    fn keys(&self) -> Result<SaKeys, PcapToolError> {
        if self.cipher_suite.is_xpn() {
            let (Some(ssci), Some(salt)) = (self.ssci, self.salt) else {
                return Err(PcapToolError::Usage(format!(
                    "{} needs --ssci and --salt",
                    self.cipher_suite
                )));
            };
            Ok(SaKeys::xpn(&self.sak, ssci, salt))
        } else {
            Ok(SaKeys::new(&self.sak))
        }
    }
}

pub struct ProtectOptions {
    pub key: KeyOptions,
    pub sci: Sci,
    pub an: u8,
    pub pn: u64,
    pub conf_offset: ConfOffset,
    pub integrity_only: bool,
    pub no_sci: bool,
    pub es: bool,
    pub scb: bool,
}

pub struct ValidateOptions {
    pub key: KeyOptions,
    pub sci: Option<Sci>,
    pub conf_offset: ConfOffset,
    pub lowest_pn: u64,
    pub replay_window: u32,
    pub validate_frames: ValidateFrames,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub frames_in: u64,
    pub frames_out: u64,
    pub counters: SecyCounters,
    /// Frames not protected, or not validated as InPktsOK.
    pub failures: u64,
}

/// One frame of a capture.
pub struct CapFrame {
    pub timestamp: Duration,
    pub data: Vec<u8>,
}

/// Reads every Ethernet frame of a pcap or pcapng file and hands it to `f`.
pub fn for_each_frame(
    path: &Path,
    mut f: impl FnMut(CapFrame) -> Result<(), PcapToolError>,
) -> Result<(), PcapToolError> {
    let io = |error| PcapToolError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic)
        .map_err(|_| fmt_err(path, "not a pcap or pcapng file (too short)"))?;
    let file = std::io::Cursor::new(magic).chain(file);
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut r = PcapNgReader::new(file).map_err(|e| fmt_err(path, e))?;
        while let Some(block) = r.next_block() {
            let (iface, timestamp, data) = match block.map_err(|e| fmt_err(path, e))? {
                Block::EnhancedPacket(p) => (p.interface_id as usize, p.timestamp, p.data.into_owned()),
                Block::SimplePacket(p) => (0, Duration::ZERO, p.data.into_owned()),
                Block::Packet(p) => (p.interface_id as usize, Duration::ZERO, p.data.into_owned()),
                _ => continue,
            };
            let link = r.interfaces().get(iface).map(|i| i.linktype);
            if link != Some(DataLink::ETHERNET) {
                return Err(fmt_err(
                    path,
                    format!("interface {iface} is not Ethernet ({link:?})"),
                ));
            }
            f(CapFrame { timestamp, data })?;
        }
    } else {
        let mut r = PcapReader::new(file).map_err(|e| fmt_err(path, e))?;
        if r.header().datalink != DataLink::ETHERNET {
            return Err(fmt_err(
                path,
                format!("link type {:?} is not Ethernet", r.header().datalink),
            ));
        }
        while let Some(p) = r.next_packet() {
            let p = p.map_err(|e| fmt_err(path, e))?;
            f(CapFrame {
                timestamp: p.timestamp,
                data: p.data.into_owned(),
            })?;
        }
    }
    Ok(())
}

/// A classic pcap (Ethernet, microsecond timestamps) being written.
pub struct CaptureWriter {
    path: PathBuf,
    w: PcapWriter<BufWriter<File>>,
}

impl CaptureWriter {
    pub fn create(path: &Path) -> Result<Self, PcapToolError> {
        let file = File::create(path).map_err(|error| PcapToolError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let header = PcapHeader {
            endianness: Endianness::Little,
            ..PcapHeader::default()
        };
        let w = PcapWriter::with_header(BufWriter::new(file), header).map_err(|e| fmt_err(path, e))?;
        Ok(CaptureWriter {
            path: path.to_path_buf(),
            w,
        })
    }

    pub fn write(&mut self, timestamp: Duration, data: &[u8]) -> Result<(), PcapToolError> {
        let pkt = PcapPacket::new(timestamp, data.len() as u32, data);
        self.w.write_packet(&pkt).map_err(|e| fmt_err(&self.path, e))?;
        Ok(())
    }

    pub fn finish(self) -> Result<(), PcapToolError> {
        use std::io::Write;
        let path = self.path;
        self.w
            .into_writer()
            .flush()
            .map_err(|error| PcapToolError::Io { path, error })
    }
}

fn framed(data: &[u8]) -> (Vec<u8>, Span) {
    let mut buf = vec![0u8; ROOM + data.len() + ROOM];
    buf[ROOM..ROOM + data.len()].copy_from_slice(data);
    (buf, Span::new(ROOM, data.len()))
}

/// Protects every frame of `input` into `output`, PNs counting up from `opts.pn`.
pub fn protect(opts: &ProtectOptions, input: &Path, output: &Path) -> Result<Report, PcapToolError> {
    let suite = opts.key.cipher_suite;
    if opts.an > 3 {
        return Err(PcapToolError::Usage(format!("--an {} is not 0..=3", opts.an)));
    }
    if opts.pn == 0 || opts.pn > suite.max_pn() {
        return Err(PcapToolError::Usage(format!(
            "--pn {} is out of range 1..={:#x} for {suite}",
            opts.pn,
            suite.max_pn()
        )));
    }
    if opts.es && opts.scb {
        return Err(PcapToolError::Usage("--es and --scb are exclusive".into()));
    }
    let mut policy = Policy::new(suite);
    policy.conf_offset = opts.conf_offset;
    policy.confidentiality = !opts.integrity_only;
    policy.include_sci = !opts.no_sci;
    policy.use_es = opts.es;
    policy.use_scb = opts.scb;
    let mut tx = TxSecY::new(policy, opts.sci, opts.key.backend);
    let sa = tx
        .install_sa(opts.an, &opts.key.keys()?, opts.pn)
        .map_err(|e| PcapToolError::Usage(e.to_string()))?;
    tx.set_encoding_an(Some(opts.an))
        .map_err(|e| PcapToolError::Usage(e.to_string()))?;
    let mut out = CaptureWriter::create(output)?;
    let mut report = Report::default();
    for_each_frame(input, |frame| {
        report.frames_in += 1;
        let (mut buf, span) = framed(&frame.data);
        let (mut block, _) = sa.reserve(1);
        let result = match block.take() {
            Some(pn) => tx.protect_with(&sa, pn, &mut buf, span),
            None => Err(macsec::secy::TxError::PnExhausted),
        };
        match result {
            Ok(s) => {
                out.write(frame.timestamp, &buf[s.start..s.end()])?;
                report.frames_out += 1;
            }
            Err(_) => report.failures += 1,
        }
        Ok(())
    })?;
    out.finish()?;
    report.counters = tx.counters;
    Ok(report)
}

/// Validates every frame of `input`; the recovered plaintext frames go to `output`.
pub fn validate(opts: &ValidateOptions, input: &Path, output: &Path) -> Result<Report, PcapToolError> {
    let keys = opts.key.keys()?;
    let mut policy = Policy::new(opts.key.cipher_suite);
    policy.conf_offset = opts.conf_offset;
    policy.replay_window = opts.replay_window;
    policy.validate_frames = opts.validate_frames;
    let mut rx = RxSecY::new(policy, opts.key.backend);
    let install = |rx: &mut RxSecY, sci: Sci| -> Result<(), PcapToolError> {
        for an in 0..4 {
            rx.install_sa(sci, an, &keys, opts.lowest_pn)
                .map_err(|e| PcapToolError::Usage(e.to_string()))?;
        }
        Ok(())
    };
    if let Some(sci) = opts.sci {
        install(&mut rx, sci)?;
    }
    let mut out = CaptureWriter::create(output)?;
    let mut report = Report::default();
    for_each_frame(input, |frame| {
        report.frames_in += 1;
        if opts.sci.is_none() {
            // Learn the SC of each explicit (or ES-derived) SCI the capture carries.
            if let Ok((tag, _)) = SecTagRepr::parse_mpdu(&frame.data, macsec::crypto::ICV_LEN) {
                if let Some(sci) = rx.frame_sci(&frame.data, &tag) {
                    if rx.sc(sci).is_none() && (tag.sci.is_some() || tag.tci.es()) {
                        install(&mut rx, sci)?;
                    }
                }
            }
        }
        let (mut buf, span) = framed(&frame.data);
        match rx.validate(&mut buf, span) {
            Ok(v) => {
                out.write(frame.timestamp, &buf[v.span.start..v.span.end()])?;
                report.frames_out += 1;
                if v.status != RxStatus::Ok {
                    report.failures += 1;
                }
            }
            Err(_) => report.failures += 1,
        }
        Ok(())
    })?;
    out.finish()?;
    report.counters = rx.counters;
    Ok(report)
}

/// The counters as the tool prints them: one `Name: value` line each, in the standard's order.
pub fn render_counters(c: &SecyCounters, only: &[&str]) -> String {
    let mut s = String::new();
    for (name, v) in c.iter() {
        if only.iter().any(|p| name.starts_with(p)) {
            s.push_str(&format!("  {name:<20} {v}\n"));
        }
    }
    s
}
