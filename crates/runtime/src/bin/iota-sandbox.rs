//! A dedicated sandbox worker binary: what the supervisor starts when the host's own binary
//! cannot serve as a worker (the engine's own tests start this one).

fn main() {
    runtime::worker_main()
}
