fn main() -> std::process::ExitCode {
    coordinator_agent::runner::main()
}
