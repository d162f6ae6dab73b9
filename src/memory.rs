//! Process memory policy of a long extraction (glibc malloc only; a no-op
//! elsewhere).
//!
//! Gives: [`limit_arenas`], called once at start, and
//! [`release_free_memory`], called after each store commit.
//! Why: every bulk-load commit runs on a fresh thread and allocates and
//! frees tens of MiB (sort buffers, hash maps, SST writers) next to ONNX
//! Runtime's per-batch buffers. With glibc's default of up to 8 arenas a
//! core, those frees leave holes in many arenas that are never handed back,
//! so peak RSS crept up with the number of chunks though nothing is kept
//! (measured in `bench/RESULTS.md`, step 10).

/// Caps glibc at two malloc arenas (one a core on the 2-core target),
/// unless `MALLOC_ARENA_MAX` is set (glibc reads it itself).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator tuning; called before any
        // thread of ours starts.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Returns freed heap pages of every arena to the operating system.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory malloc holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
