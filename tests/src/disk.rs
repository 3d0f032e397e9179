//! Small disks that fill up, and files with flipped bytes: the faults a store must survive
//! without losing an acknowledged write or hanging. Mounting needs root (CI runs as root); a test
//! that cannot mount fails and says so.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a fixed size, mounted for one test and unmounted when dropped.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(megabytes: u64) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "these tests mount a small tmpfs and need root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn free_bytes(&self) -> u64 {
        fs4::available_space(self.path()).unwrap()
    }

    /// Fills the disk until only about `leave` bytes are free; returns the filler file.
    pub fn fill_leaving(&self, leave: u64) -> PathBuf {
        let filler = self.path().join("filler");
        let size = self.free_bytes().saturating_sub(leave);
        let file = std::fs::File::create(&filler).unwrap();
        // tmpfs allocates on write, not on set_len: write real bytes.
        use std::io::Write;
        let mut writer = std::io::BufWriter::new(file);
        let chunk = vec![0xa5u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if writer.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n as u64;
        }
        let _ = writer.flush();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Overwrites `count` bytes of `path` at `offset` with their complement.
pub fn flip_bytes(path: &Path, offset: u64, count: usize) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut bytes = vec![0u8; count];
    let read = file.read_at(&mut bytes, offset).unwrap();
    for b in &mut bytes[..read] {
        *b = !*b;
    }
    file.write_all_at(&bytes[..read], offset).unwrap();
}
