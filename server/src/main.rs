fn main() -> std::process::ExitCode {
    tack_server::cli::main()
}
