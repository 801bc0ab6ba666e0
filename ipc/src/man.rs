//! The binaries' manual pages, from their clap definitions (one place for each option: its
//! `--help` text is its man page text). Each binary of the appliance (`macsec-dataplane`,
//! `macsecd`, `macsecctl`) calls [`generate_if_asked`] first thing in `main`: run as
//! `BINARY --generate-man DIR`, it writes `DIR/BINARY.8` (and `DIR/BINARY-SUB[-SUB...].8` for each
//! subcommand) and exits; `scripts/package.sh` does that for the Debian package. The flag is not
//! in the binaries' `--help`: it is a build step, not an operator option.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::ExitCode;

/// The manual section of every page: system administration commands and daemons.
pub const SECTION: &str = "8";

/// The flag; alone with its directory as the command line (`BINARY --generate-man DIR`).
pub const FLAG: &str = "--generate-man";

/// When the command line is `BINARY --generate-man DIR`: writes the pages of `cmd` into `DIR`
/// (created if missing) and returns the exit code (0, or 2 with the error on stderr). Otherwise
/// None: the binary goes on.
pub fn generate_if_asked(cmd: clap::Command) -> Option<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let [_, flag, dir] = args.as_slice() else {
        return None;
    };
    if flag != FLAG {
        return None;
    }
    let name = cmd.get_name().to_string();
    Some(match write_pages(cmd, Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: error: man pages in {}: {e}", Path::new(dir).display());
            ExitCode::from(2)
        }
    })
}

/// Writes the page of `cmd` and of each (visible) subcommand, recursively, into `dir`.
pub fn write_pages(cmd: clap::Command, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = cmd;
    cmd.build();
    // Every page's footer names the program and its version (a subcommand has none of its own).
    let source = format!("{} {}", cmd.get_name(), cmd.get_version().unwrap_or_default());
    write_tree(&cmd, cmd.get_name(), source.trim_end(), dir)
}

fn write_tree(cmd: &clap::Command, name: &str, source: &str, dir: &Path) -> io::Result<()> {
    // A subcommand's page is named after its path (`macsecctl-show`), as git's are: a built
    // command's display name.
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name)
        .section(SECTION)
        .source(source)
        .render(&mut out)?;
    std::fs::write(dir.join(format!("{name}.{SECTION}")), out)?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_tree(sub, &format!("{name}-{}", sub.get_name()), source, dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_per_command_and_subcommand_with_the_options_help() {
        let cmd = clap::Command::new("tool")
            .version("1.2.3")
            .about("A tool")
            .arg(
                clap::Arg::new("config")
                    .long("config")
                    .help("The configuration file"),
            )
            .subcommand(
                clap::Command::new("show")
                    .about("Shows things")
                    .subcommand(clap::Command::new("all").about("Everything")),
            )
            .subcommand(clap::Command::new("secret").hide(true));
        let dir = tempfile::tempdir().unwrap();
        write_pages(cmd, dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["tool-show-all.8", "tool-show.8", "tool.8"]);
        let page = std::fs::read_to_string(dir.path().join("tool.8")).unwrap();
        assert!(page.contains(".TH tool 8"), "{page}");
        assert!(page.contains("The configuration file"), "{page}");
        let sub = std::fs::read_to_string(dir.path().join("tool-show.8")).unwrap();
        assert!(sub.contains(".TH tool-show 8"), "{sub}");
        assert!(sub.contains("\"tool 1.2.3\""), "{sub}");
    }
}
