//! The `descent` binary.
fn main() {
    eprintln!("descent: the trainer is being built");
    std::process::exit(1);
}
