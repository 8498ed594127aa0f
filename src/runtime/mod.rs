//! THE RUNTIME: what runs beside the program on the public API — the panic hook that
//! dumps the ring when a thread panics. (The sweeper that samples health and expires
//! events is the read side's own thread, `read::sweeper`; exporters are in
//! `crate::exporter` and `crate::integrations`; all share `crate::control`.)

pub(crate) mod follower;
pub(crate) mod panic_hook;
