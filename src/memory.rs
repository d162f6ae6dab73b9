//! Process memory policy: the allocator every kgx binary uses, and glibc
//! malloc's tuning for what C and C++ allocate (RocksDB, ONNX Runtime,
//! SQLite).
//!
//! Gives: the global allocator (mimalloc, declared here so that the `kgx`
//! binary, the benchmarks and the test binaries all allocate alike, with
//! its arenas committed on demand: see [`COMMIT_ARENAS_ON_DEMAND`]),
//! [`tune_malloc`] (glibc), called once at start, and
//! [`release_free_memory`], called after each store commit.
//! Why mimalloc: a store commit makes and frees millions of small objects
//! (each quad's strings, the bulk loader's keys and hash maps) on threads
//! that live for one commit; under glibc, malloc and free were ~10% of a
//! store-only run's CPU samples and mimalloc writes 1.3x the sentences a
//! second (`cargo bench --bench store_only`, bench/RESULTS.md).
//! Why glibc is still tuned: every commit's RocksDB side allocates and
//! frees tens of MiB next to ONNX Runtime's per-batch buffers; with glibc's
//! defaults those frees leave holes in many arenas that are never handed
//! back, so peak RSS crept up with the number of chunks though nothing is
//! kept (`bench/RESULTS.md`, steps 10, 11 and 23).

#[global_allocator]
static ALLOCATOR: MimallocOwningForeignFrees = MimallocOwningForeignFrees;

/// mimalloc, except that memory mimalloc does not own is handed to C's
/// `free`: a dependency may take ownership of a C `malloc` block as a Rust
/// value (Oxigraph 0.5 wraps every RocksDB error message, `strdup`ed by
/// RocksDB, in a `CString::from_raw`), and freeing that with `mi_free`
/// crashed kgx after it printed a store error (tests/cli.rs
/// `full_disk_gives_a_store_error_and_keeps_what_was_stored`,
/// `unusable_store_directory_gives_a_store_error`). Ownership is a page-map
/// lookup (`mi_is_in_heap_region`).
pub struct MimallocOwningForeignFrees;

fn owned_by_mimalloc(ptr: *mut u8) -> bool {
    // SAFETY: a read-only lookup of mimalloc's page map, valid for any pointer.
    unsafe { libmimalloc_sys::mi_is_in_heap_region(ptr.cast()) }
}

// SAFETY: every block is allocated by mimalloc, except foreign ones a
// dependency hands over, which go back to the C allocator that made them.
unsafe impl std::alloc::GlobalAlloc for MimallocOwningForeignFrees {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if owned_by_mimalloc(ptr) {
            unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
        } else {
            unsafe { libc::free(ptr.cast()) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        if owned_by_mimalloc(ptr) {
            return unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) };
        }
        // A foreign block moves into mimalloc's memory.
        let Ok(new_layout) = std::alloc::Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let moved = unsafe { mimalloc::MiMalloc.alloc(new_layout) };
        if !moved.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                libc::free(ptr.cast());
            }
        }
        moved
    }
}

/// `mi_option_arena_eager_commit` in mimalloc v3's `mi_option_e` (the
/// header of the pinned libmimalloc-sys).
#[cfg(target_os = "linux")]
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Runs before `main` and before Rust allocates anything (a constructor of
/// the executable, like mimalloc's own): on Linux mimalloc commits each
/// arena it reserves at once (overcommit), which measured ~60 MiB more peak
/// RSS than glibc on 600 GAP documents and was no faster; arenas committed
/// on demand are set here, unless `MIMALLOC_ARENA_EAGER_COMMIT` says
/// otherwise (`=2`, mimalloc's default: the store-only bench ran ~8% faster
/// with it, within this VM's noise; bench/RESULTS.md). Options must be set
/// before the first arena is reserved: from `main` it is too late.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static COMMIT_ARENAS_ON_DEMAND: extern "C" fn() = commit_arenas_on_demand;

#[cfg(target_os = "linux")]
extern "C" fn commit_arenas_on_demand() {
    // SAFETY: getenv reads the environment without allocating (no Rust
    // allocation may come first); mi_option_set only changes an option.
    unsafe {
        if libc::getenv(c"MIMALLOC_ARENA_EAGER_COMMIT".as_ptr()).is_null() {
            libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        }
    }
}

/// Caps glibc (what C and C++ allocate) at two malloc arenas (one a core
/// on the 2-core target) and fixes the size from which allocations get pages of their own at 1 MiB,
/// unless `MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_` are set (glibc reads
/// those itself). glibc's own threshold starts at 128 KiB and rises to the
/// size of each large block freed (up to 32 MiB): after a commit frees its
/// hash tables, blocks of several MiB came from the heap, where they stayed.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator tuning; called before any
        // thread of ours starts.
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            }
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_block_c_allocated_and_freed_as_rust_goes_back_to_c() {
        // What Oxigraph does with a RocksDB error message.
        for text in [c"IO error: No space left on device", c"x"] {
            // SAFETY: strdup gives a C malloc block that CString::from_raw then owns.
            let owned = unsafe { std::ffi::CString::from_raw(libc::strdup(text.as_ptr())) };
            let mut grown = owned.into_string().unwrap();
            grown.push_str(" (grown: realloc moves it)");
            drop(grown);
        }
        let rust = String::from("a block Rust allocated");
        assert!(owned_by_mimalloc(rust.as_ptr().cast_mut()));
    }

    #[test]
    fn mimallocs_arenas_are_committed_on_demand_before_main() {
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_some() {
            return; // the environment chose
        }
        // SAFETY: reads an option.
        let eager = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT) };
        assert_eq!(eager, 0, "the constructor did not run (or the option's number moved)");
    }
}
