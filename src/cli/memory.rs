//! How fleet uses glibc's allocator on large fleets; nothing elsewhere (another allocator
//! manages its memory its own way).

/// Keeps every allocation of 128 KiB or more in its own mapping, returned to the system when
/// freed. glibc's default raises that threshold to the size of each large block freed, so
/// after the first LIST page (a few MiB of JSON) the next pages' buffers land in the heap,
/// between the objects decoded from them, and leave holes the heap never gives back: on a
/// 10,000-WEC plan the peak RSS is 103 MB that way, 99–100 MB with this, at the same speed.
/// Called first thing in `main`, before any thread starts.
pub fn map_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Pads each heap's growth with 64 MiB (`M_TOP_PAD`): a thread's new heap is made writable
/// 64 MiB at once, and the main heap grows and shrinks by that much, instead of 128 KiB at a
/// time. Validating a large file allocates tens of MiB on several threads at once, and each
/// small step is an `mprotect` or `brk` that stalls the other threads' page faults: at
/// 10,000 WECs `fleet validate` takes 58 ms with small steps and 52 ms with these. Only for
/// `fleet validate`, which reads no cluster: the freed memory the pad keeps resident is 7 MB
/// more on a 10,000-WEC plan. Called in `main` before any thread starts.
pub fn grow_heaps_in_large_steps() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// Returns the pages of memory freed so far to the system. glibc keeps freed memory for
/// reuse by the thread arena that allocated it; the objects a plan read were decoded on other
/// threads than the ones that write, so without this they would stay resident all apply long.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}
