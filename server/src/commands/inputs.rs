//! What a command may read and write besides its words.
//!
//! `tack ctl` runs on the user's own machine: its files and its standard input are the user's.
//! `ssh host …` runs the same command tree inside the server, where no argument may name a file
//! or a device of the server's, and `-` means what the client piped into the exec channel. Every
//! file and stdin access of the command tree goes through here, so a new `--file` option is safe
//! over SSH by construction.

use std::io::Read;
use std::path::Path;

/// The largest file `tack ctl` reads for one argument (an import, a key, a description).
const MAX_LOCAL_FILE: u64 = 256 * 1024 * 1024;

/// Where a command runs, and so what `--file PATH` and `-` mean.
pub enum CommandIo {
    /// `tack ctl` on the caller's machine.
    Local,
    /// `ssh host COMMAND`: `stdin` is what the client sent on the exec channel, if the command
    /// asked for it.
    Remote { stdin: Option<String> },
}

impl CommandIo {
    /// The text of the file an argument names.
    pub fn read_file(&self, path: &Path) -> Result<String, String> {
        match self {
            CommandIo::Local => read_bounded(path),
            CommandIo::Remote { .. } => Err(format!(
                "over ssh, a command cannot read files ({} would be read on the server); pipe the file in and pass - instead, e.g. `ssh HOST key add - < key.pub`, or use `tack ctl` on your machine",
                path.display()
            )),
        }
    }

    /// Writes `text` into the file an argument names.
    pub fn write_file(&self, path: &Path, text: &str) -> Result<(), String> {
        match self {
            CommandIo::Local => std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
            CommandIo::Remote { .. } => Err(format!(
                "over ssh, a command cannot write files ({} would be written on the server); leave out the file and redirect standard output, e.g. `ssh HOST export > tack.json`",
                path.display()
            )),
        }
    }

    /// The text given as `-`: standard input.
    pub fn stdin(&self) -> Result<String, String> {
        match self {
            CommandIo::Local => {
                let mut text = String::new();
                std::io::stdin()
                    .take(MAX_LOCAL_FILE)
                    .read_to_string(&mut text)
                    .map_err(|e| format!("cannot read standard input: {e}"))?;
                Ok(text)
            }
            CommandIo::Remote { stdin: Some(text) } => Ok(text.clone()),
            CommandIo::Remote { stdin: None } => {
                Err("this command read no standard input; pipe the text in: `echo hi | ssh HOST comment add KEY -`".into())
            }
        }
    }

    /// Text that may be given inline or as `-` (read from standard input).
    pub fn text(&self, value: String) -> Result<String, String> {
        if value == "-" {
            self.stdin()
        } else {
            Ok(value)
        }
    }
}

fn read_bounded(path: &Path) -> Result<String, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_LOCAL_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_LOCAL_FILE {
        return Err(format!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_LOCAL_FILE / (1024 * 1024)
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_commands_never_touch_server_files() {
        let remote = CommandIo::Remote { stdin: None };
        let refused = remote.read_file(Path::new("/etc/hostname")).unwrap_err();
        assert!(refused.contains("over ssh"), "{refused}");
        let missing = remote.read_file(Path::new("/no/such/file")).unwrap_err();
        assert_eq!(
            refused.replace("/etc/hostname", "X"),
            missing.replace("/no/such/file", "X"),
            "the answer must not depend on whether the file exists"
        );
        assert!(remote.write_file(Path::new("/tmp/x"), "y").is_err());
        assert!(remote.stdin().is_err());
        let piped = CommandIo::Remote {
            stdin: Some("from the pipe".into()),
        };
        assert_eq!(piped.text("-".into()).unwrap(), "from the pipe");
        assert_eq!(piped.text("inline".into()).unwrap(), "inline");
    }
}
