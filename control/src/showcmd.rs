//! The words of `macsecctl show ...` as a router reads them: every keyword may be shortened to a
//! unique prefix (`sh mac mka sess det`, `show run`), an interface may be named in any form IOS XR
//! accepts (`Hu0/0/0/1`, `HundredGigE0/0/0/1`, `hundredGigE 0/0/0/1`), and an unknown or
//! ambiguous word is refused with the choices at that point.

/// A view `show` can print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// `show macsec mka session [interface X] [detail]`.
    MkaSession { interface: Option<String>, detail: bool },
    /// `show macsec mka interface [X] [detail]`.
    MkaInterface { interface: Option<String> },
    /// `show macsec mka summary`.
    MkaSummary,
    /// `show macsec mka statistics [interface X]`.
    MkaStatistics { interface: Option<String> },
    /// `show macsec secy statistics [interface X]`.
    SecyStatistics { interface: Option<String> },
    /// `show macsec ea idb [interface X]`.
    EaIdb { interface: Option<String> },
    /// `show macsec policy [NAME]`.
    Policy { name: Option<String> },
    /// `show key chain [NAME]`.
    KeyChain { name: Option<String> },
    /// `show running-config [SECTION]`.
    RunningConfig(RunSection),
    /// `show macsec platform hardware [idb|sa ID|flow|stats|msc] [interface X] [location L]`.
    PlatformHardware {
        what: Hardware,
        interface: Option<String>,
    },
    /// `show crypto ...`: handed to the PPK tools as typed (words expanded).
    Crypto(Vec<String>),
}

/// A section of `show running-config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSection {
    All,
    MacsecPolicy(Option<String>),
    KeyChain(Option<String>),
    Interface(Option<String>),
}

/// What `show macsec platform hardware` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hardware {
    /// The link's SA handles (`idb`, also the default).
    Idb,
    /// One SA by its handle (`sa 0x80000000`), or every SA of the link.
    Sa(Option<u32>),
    /// The classification rules (`flow`).
    Flow,
    /// The per-SA and per-link counters (`stats`).
    Stats,
    /// The SecY configuration (`msc`).
    Msc,
}

/// Why the words name no view: shown to the operator as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WordError(pub String);

/// The keyword of `choices` that `word` names: itself (any case) or its unique prefix.
fn pick(word: &str, choices: &[&'static str], at: &str) -> Result<&'static str, WordError> {
    let w = word.to_ascii_lowercase();
    if let Some(c) = choices.iter().find(|c| **c == w) {
        return Ok(c);
    }
    let m: Vec<&'static str> = choices.iter().copied().filter(|c| c.starts_with(&w)).collect();
    match m.as_slice() {
        [one] => Ok(one),
        [] => Err(WordError(format!(
            "% Invalid input '{word}' after 'show{at}': expected one of: {}",
            choices.join(", ")
        ))),
        many => Err(WordError(format!(
            "% Ambiguous command '{word}' after 'show{at}': it may be {}",
            many.join(", ")
        ))),
    }
}

/// Reads the words after `show`.
struct Words<'a> {
    w: &'a [&'a str],
    i: usize,
    /// The words read so far, expanded (for messages).
    at: String,
}

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let x = self.w.get(self.i).copied();
        self.i += 1;
        x
    }

    fn peek(&self) -> Option<&'a str> {
        self.w.get(self.i).copied()
    }

    /// The next word as one of `choices` (an error when missing).
    fn keyword(&mut self, choices: &[&'static str]) -> Result<&'static str, WordError> {
        match self.next() {
            Some(w) => {
                let k = pick(w, choices, &self.at)?;
                self.at.push(' ');
                self.at.push_str(k);
                Ok(k)
            }
            None => Err(WordError(format!(
                "% Incomplete command 'show{}': expected one of: {}",
                self.at,
                choices.join(", ")
            ))),
        }
    }

    /// An interface name after `interface`: one word (`Hu0/0/0/1`) or a type and a number
    /// (`HundredGigE 0/0/0/1`); canonical form.
    fn interface(&mut self) -> Result<String, WordError> {
        let first = self.next().ok_or_else(|| {
            WordError(format!(
                "% Incomplete command 'show{} interface': name the interface",
                self.at
            ))
        })?;
        let mut name = first.to_string();
        if !first.contains(|c: char| c.is_ascii_digit()) {
            match self.next() {
                Some(n) if n.starts_with(|c: char| c.is_ascii_digit()) => name.push_str(n),
                _ => {
                    return Err(WordError(format!(
                    "% Invalid interface '{first}': expected a name such as Hu0/0/0/1 or HundredGigE0/0/0/1"
                )))
                }
            }
        }
        Ok(crate::config::canonical_interface_name(&name))
    }

    fn end(&self) -> Result<(), WordError> {
        match self.peek() {
            None => Ok(()),
            Some(w) => Err(WordError(format!(
                "% Invalid input '{w}' after 'show{}': nothing more expected",
                self.at
            ))),
        }
    }

    /// Optional trailing words among `choices` (each at most once): `interface X`, `detail`,
    /// `location L` (accepted and ignored: one node).
    fn options(&mut self, choices: &[&'static str]) -> Result<(Option<String>, bool), WordError> {
        let (mut interface, mut detail) = (None, false);
        while self.peek().is_some() {
            match self.keyword(choices)? {
                "interface" => interface = Some(self.interface()?),
                "detail" => detail = true,
                "location" => {
                    self.next();
                }
                _ => {}
            }
        }
        Ok((interface, detail))
    }
}

/// The view `words` (after `show`) name.
pub fn parse(words: &[&str]) -> Result<View, WordError> {
    let mut w = Words {
        w: words,
        i: 0,
        at: String::new(),
    };
    match w.keyword(&["macsec", "running-config", "key", "crypto"])? {
        "crypto" => {
            let mut v = vec!["crypto".to_string()];
            v.extend(w.w[w.i..].iter().map(|s| s.to_string()));
            Ok(View::Crypto(v))
        }
        "key" => {
            w.keyword(&["chain"])?;
            let name = w.next().map(String::from);
            w.end()?;
            Ok(View::KeyChain { name })
        }
        "running-config" => {
            if w.peek().is_none() {
                return Ok(View::RunningConfig(RunSection::All));
            }
            let s = match w.keyword(&["macsec-policy", "key", "interface"])? {
                "macsec-policy" => RunSection::MacsecPolicy(w.next().map(String::from)),
                "key" => {
                    w.keyword(&["chain"])?;
                    RunSection::KeyChain(w.next().map(String::from))
                }
                _ => RunSection::Interface(match w.peek() {
                    Some(_) => Some(w.interface()?),
                    None => None,
                }),
            };
            w.end()?;
            Ok(View::RunningConfig(s))
        }
        _ => match w.keyword(&["mka", "secy", "ea", "policy", "platform"])? {
            "mka" => match w.keyword(&["session", "interface", "summary", "statistics"])? {
                "session" => {
                    let (interface, detail) = w.options(&["interface", "detail"])?;
                    Ok(View::MkaSession { interface, detail })
                }
                "interface" => {
                    let interface = match w.peek() {
                        Some(x) if pick(x, &["detail"], "").is_err() => Some(w.interface()?),
                        _ => None,
                    };
                    w.options(&["detail"])?;
                    Ok(View::MkaInterface { interface })
                }
                "summary" => w.end().map(|_| View::MkaSummary),
                _ => {
                    let (interface, _) = w.options(&["interface"])?;
                    Ok(View::MkaStatistics { interface })
                }
            },
            "secy" => {
                w.keyword(&["statistics"])?;
                let (interface, _) = w.options(&["interface"])?;
                Ok(View::SecyStatistics { interface })
            }
            "ea" => {
                w.keyword(&["idb"])?;
                let (interface, _) = w.options(&["interface", "location"])?;
                Ok(View::EaIdb { interface })
            }
            "policy" => {
                let name = w.next().map(String::from);
                w.end()?;
                Ok(View::Policy { name })
            }
            _ => {
                w.keyword(&["hardware"])?;
                let what = match w.peek() {
                    None => Hardware::Idb,
                    Some(x) if pick(x, &["interface", "location"], "").is_ok() => Hardware::Idb,
                    Some(_) => match w.keyword(&["idb", "sa", "flow", "stats", "msc"])? {
                        "idb" => Hardware::Idb,
                        "sa" => match w.peek().and_then(parse_handle) {
                            Some(h) => {
                                w.next();
                                Hardware::Sa(Some(h))
                            }
                            None => Hardware::Sa(None),
                        },
                        "flow" => Hardware::Flow,
                        "stats" => Hardware::Stats,
                        _ => Hardware::Msc,
                    },
                };
                let (interface, _) = w.options(&["interface", "location"])?;
                Ok(View::PlatformHardware { what, interface })
            }
        },
    }
}

/// An SA handle as `show macsec platform hardware idb` prints it: `0x80000000` (hex) or decimal.
fn parse_handle(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The shell's first word (`show`, `commit`, `help`, `exit`, `quit`), by unique prefix.
pub fn shell_command(word: &str) -> Result<&'static str, WordError> {
    pick(word, &["show", "commit", "help", "exit", "quit"], "")
        .map_err(|e| WordError(e.0.replace("after 'show'", "at the start")))
}

/// The command paths of the interactive shell, for completion: the command's words, then after
/// ` : ` its optional words; a keyword followed by `<x>` takes a value there (not completed).
const PATHS: &[&str] = &[
    "show macsec mka session : interface <x> detail",
    "show macsec mka interface : <x> detail",
    "show macsec mka summary",
    "show macsec mka statistics : interface <x>",
    "show macsec secy statistics : interface <x>",
    "show macsec ea idb : interface <x> location <x>",
    "show macsec policy : <x>",
    "show macsec platform hardware : idb sa <x> flow stats msc interface <x> location <x>",
    "show running-config : macsec-policy <x>",
    "show running-config key : chain <x>",
    "show running-config : interface <x>",
    "show key chain : <x>",
    "show crypto sks profile all : stats",
    "show crypto sks peer all",
    "commit",
    "help",
    "exit",
];

/// Completion of the shell's line `line` (the words before the cursor): the start of the word
/// being typed and the keywords that may follow there (every prefix of a keyword typed before it
/// is taken as that keyword, as [`parse`] does; optional words may come in any order).
pub fn complete(line: &str) -> (usize, Vec<String>) {
    let start = line.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let typed: Vec<&str> = line[..start].split_whitespace().collect();
    let partial = line[start..].to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    for path in PATHS {
        let (head, tail) = path.split_once(" : ").unwrap_or((path, ""));
        let head: Vec<&str> = head.split(' ').collect();
        let tail: Vec<&str> = tail.split(' ').filter(|t| !t.is_empty()).collect();
        let mut next: Vec<&str> = Vec::new();
        if typed.len() < head.len() {
            // Still in the command's words: each typed one a prefix of its word.
            if typed
                .iter()
                .zip(&head)
                .all(|(w, h)| h.starts_with(&w.to_ascii_lowercase()))
            {
                next.push(head[typed.len()]);
            }
        } else if typed
            .iter()
            .zip(&head)
            .all(|(w, h)| h.starts_with(&w.to_ascii_lowercase()))
        {
            // Optional words: after a keyword that takes a value, that value; else any keyword.
            let mut value_next = tail.first() == Some(&"<x>");
            let mut ok = true;
            let mut used: Vec<&str> = Vec::new();
            for w in &typed[head.len()..] {
                if value_next {
                    value_next = false;
                    continue;
                }
                let lw = w.to_ascii_lowercase();
                match tail.iter().position(|t| *t != "<x>" && t.starts_with(&lw)) {
                    Some(k) => {
                        used.push(tail[k]);
                        value_next = tail.get(k + 1) == Some(&"<x>");
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && !value_next {
                next.extend(tail.iter().copied().filter(|t| *t != "<x>" && !used.contains(t)));
            }
        }
        for t in next {
            if t.starts_with(&partial) && !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
    }
    (start, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<View, WordError> {
        parse(&s.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn abbreviations_as_a_router_takes_them() {
        let detail = View::MkaSession {
            interface: None,
            detail: true,
        };
        assert_eq!(p("mac mka sess det"), Ok(detail.clone()));
        assert_eq!(p("macsec mka session detail"), Ok(detail));
        assert_eq!(p("run"), Ok(View::RunningConfig(RunSection::All)));
        assert_eq!(
            p("run macsec-p mp1"),
            Ok(View::RunningConfig(RunSection::MacsecPolicy(Some("mp1".into()))))
        );
        assert_eq!(p("MAC MKA SUM"), Ok(View::MkaSummary));
        assert_eq!(
            p("mac mka st int Te0/0/0/1"),
            Ok(View::MkaStatistics {
                interface: Some("TenGigE0/0/0/1".into())
            })
        );
        assert_eq!(
            p("mac pl h sa 0x80000000 int Fo0/0/0/1/0 loc 0/0/CPU0"),
            Ok(View::PlatformHardware {
                what: Hardware::Sa(Some(0x8000_0000)),
                interface: Some("FortyGigE0/0/0/1/0".into())
            })
        );
        assert_eq!(
            p("mac platform hardware idb location 0/0/CPU0"),
            Ok(View::PlatformHardware {
                what: Hardware::Idb,
                interface: None
            })
        );
        assert_eq!(
            p("k c kc1"),
            Ok(View::KeyChain {
                name: Some("kc1".into())
            })
        );
    }

    #[test]
    fn interface_names_in_every_form() {
        for name in [
            "Hu0/0/0/1",
            "HundredGigE0/0/0/1",
            "HundredGigE 0/0/0/1",
            "hundredgige0/0/0/1",
            "Hun0/0/0/1",
            "hu 0/0/0/1",
        ] {
            assert_eq!(
                p(&format!("macsec mka session interface {name} detail")),
                Ok(View::MkaSession {
                    interface: Some("HundredGigE0/0/0/1".into()),
                    detail: true
                }),
                "{name}"
            );
        }
        for (short, full) in [
            ("Te0/0/0/1", "TenGigE0/0/0/1"),
            ("Gi0/1/0/1", "GigabitEthernet0/1/0/1"),
            ("TF0/0/0/2", "TwentyFiveGigE0/0/0/2"),
            ("Fo0/0/0/1/0", "FortyGigE0/0/0/1/0"),
            ("FH0/0/0/3", "FourHundredGigE0/0/0/3"),
            ("BE10", "Bundle-Ether10"),
        ] {
            assert_eq!(
                p(&format!("macsec ea idb interface {short}")),
                Ok(View::EaIdb {
                    interface: Some(full.into())
                })
            );
            assert_eq!(crate::config::short_interface_name(full), short);
        }
    }

    #[test]
    fn unknown_and_ambiguous_words_list_the_choices() {
        let e = p("macsec mka s").unwrap_err().0;
        assert_eq!(
            e,
            "% Ambiguous command 's' after 'show macsec mka': it may be session, summary, statistics"
        );
        let e = p("macsec foo").unwrap_err().0;
        assert_eq!(
            e,
            "% Invalid input 'foo' after 'show macsec': expected one of: mka, secy, ea, policy, platform"
        );
        let e = p("macsec").unwrap_err().0;
        assert!(
            e.starts_with("% Incomplete command 'show macsec': expected one of: mka"),
            "{e}"
        );
        let e = p("macsec mka summary extra").unwrap_err().0;
        assert!(e.contains("'extra'"), "{e}");
        let e = p("macsec mka session interface").unwrap_err().0;
        assert!(e.contains("name the interface"), "{e}");
        let e = p("macsec mka session interface HundredGigE").unwrap_err().0;
        assert!(e.contains("Invalid interface"), "{e}");
        assert!(p("").is_err());
        // Any bytes: an error, never a panic.
        for junk in ["\u{0}", "ü", "macsec mka session interface ü", "- -- ---", "0x"] {
            let _ = p(junk);
        }
    }

    #[test]
    fn completion_follows_the_words_typed() {
        let c = |l: &str| complete(l).1;
        assert_eq!(c(""), ["show", "commit", "help", "exit"]);
        assert_eq!(c("sh"), ["show"]);
        assert_eq!(c("show "), ["macsec", "running-config", "key", "crypto"]);
        assert_eq!(c("sh mac mka s"), ["session", "summary", "statistics"]);
        assert_eq!(c("sh mac mka sess "), ["interface", "detail"]);
        assert_eq!(c("sh mac mka sess int Hu0/0/0/1 "), ["detail"]);
        assert!(c("sh mac mka sess int ").is_empty(), "a value: not completed");
        assert_eq!(c("show run "), ["macsec-policy", "key", "interface"]);
        assert_eq!(c("show run key "), ["chain"]);
        assert_eq!(
            c("sh mac mka "),
            ["session", "interface", "summary", "statistics"]
        );
        assert_eq!(c("sh mac mka int Hu0/0/0/1 "), ["detail"]);
        assert_eq!(
            c("show macsec platform hardware "),
            ["idb", "sa", "flow", "stats", "msc", "interface", "location"]
        );
        assert!(c("show bogus ").is_empty());
        assert_eq!(complete("sh mac mka su").0, 11);
    }
}
