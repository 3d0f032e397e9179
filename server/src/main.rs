// mimalloc returns freed memory to the system far better than glibc's malloc does under
// many threads allocating and freeing each other's buffers (measured with bench-core).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tack_server::cli::main()
}
