//! The real `tack` command line, built inside this package so its end-to-end tests can start it
//! as a separate process (`CARGO_BIN_EXE_tack-e2e`). Same allocator as `tack`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tack_server::cli::main()
}
