// SPDX-License-Identifier: GPL-2.0

//! The kernel's C that the modules need and that the `kernel` crate of 6.12
//! and 7.3 has no abstraction for, in one place: each raw binding behind a
//! safe function whose conditions are checked, or stated, here. The rest of
//! the modules use these, the `kernel` crate and `core`, and declare no
//! kernel C (hvc.rs declares the module's own, kvm_hcall.c).
//!
//! Where bindgen sees the C, its declarations are used (`bindings::`);
//! the `extern` block declares only what the bindings of one of the two
//! trees leave out, as the kernel's own headers declare it.

use core::ffi::{c_int, c_void};
use kernel::bindings;

unsafe extern "C" {
    /// include/linux/arm-smccc.h; exported GPL. Takes no argument and only
    /// reads what PSCI's probe set at boot.
    safe fn arm_smccc_1_1_get_conduit() -> c_int;

    /// include/linux/arm-smccc.h; exported GPL. As above.
    safe fn arm_smccc_get_version() -> u32;

    /// `is_pkvm_initialized()`, exported by the testbed's trees: reads the
    /// static key that pKVM flips only once it has deprivileged the host.
    /// Callable from any context.
    #[cfg(kvm_pkvm_initialized)]
    safe fn kvm_pkvm_initialized() -> bool;

    /// include/linux/namei.h, which the bindings of 6.12 leave out.
    /// Exported. `path` is a `struct path`, passed untyped: through its
    /// fields it holds a zero-sized `struct lock_class_key`, which rustc's
    /// improper_ctypes lint rejects in a prototype (rustc 1.85).
    #[cfg(not(kvm_pkvm_initialized))]
    fn kern_path(
        name: *const core::ffi::c_char,
        flags: core::ffi::c_uint,
        path: *mut c_void,
    ) -> c_int;

    /// include/linux/cpu.h; exported GPL. Functions only with
    /// `CONFIG_HOTPLUG_CPU`: elsewhere they are empty inlines.
    #[cfg(CONFIG_HOTPLUG_CPU)]
    fn cpus_read_lock();
    #[cfg(CONFIG_HOTPLUG_CPU)]
    fn cpus_read_unlock();
}

/// `enum arm_smccc_conduit` and `ARM_SMCCC_VERSION_1_0`
/// (include/linux/arm-smccc.h).
const SMCCC_CONDUIT_NONE: c_int = 0;
const SMCCC_CONDUIT_SMC: c_int = 1;
const SMCCC_VERSION_1_0: u32 = 0x1_0000;

/// How the kernel makes its own SMCCC calls, as PSCI's probe found it (the
/// device tree's or ACPI's "method").
#[derive(PartialEq, Eq)]
pub(crate) enum SmcccConduit {
    Smc,
    /// The kernel does not tell: SMCCC v1.0 firmware (QEMU's, older
    /// TF-A), or no PSCI at all (the kernel's defaults, conduit NONE and
    /// version 1.0).
    UnknownV1_0,
    /// HVC: another hypervisor serves the kernel.
    Other,
}

/// The conduit of the kernel's own SMCCC calls.
pub(crate) fn smccc_conduit() -> SmcccConduit {
    match (arm_smccc_1_1_get_conduit(), arm_smccc_get_version()) {
        (SMCCC_CONDUIT_SMC, _) => SmcccConduit::Smc,
        (SMCCC_CONDUIT_NONE, SMCCC_VERSION_1_0) => SmcccConduit::UnknownV1_0,
        _ => SmcccConduit::Other,
    }
}

/// Whether the boot enabled pKVM's protected mode: the CPU capability
/// `ARM64_KVM_PROTECTED_MODE`, which follows `kvm-arm.mode=protected`.
pub(crate) fn protected_mode_capability() -> bool {
    let cap = bindings::ARM64_KVM_PROTECTED_MODE as usize;
    let bits = core::mem::size_of::<core::ffi::c_ulong>() * 8;
    // SAFETY: system_cpucaps is finalised before modules can load and is
    // never written afterwards; the index is below ARM64_NCAPS.
    let word = unsafe { (*core::ptr::addr_of!(bindings::system_cpucaps))[cap / bits] };
    word & (1 << (cap % bits)) != 0
}

/// Whether pKVM has deprivileged the host (the testbed's trees only).
#[cfg(kvm_pkvm_initialized)]
pub(crate) fn pkvm_initialized() -> bool {
    kvm_pkvm_initialized()
}

/// Whether `name` resolves to an existing file, links followed.
#[cfg(not(kvm_pkvm_initialized))]
pub(crate) fn path_exists(name: &core::ffi::CStr) -> bool {
    /// `LOOKUP_FOLLOW` (include/linux/namei.h), which bindgen does not see.
    const LOOKUP_FOLLOW: core::ffi::c_uint = 1;

    let mut path = core::mem::MaybeUninit::<bindings::path>::uninit();
    // SAFETY: the name is NUL-terminated; kern_path() writes `path` and
    // takes references on it only when it returns 0.
    // 7.x's clippy configuration wants `as_char_ptr()` for the kernel's
    // unsigned `char`; kern_path() is declared above with core's `c_char`,
    // which is unsigned on arm64 too and is what `as_ptr()` gives.
    #[allow(clippy::disallowed_methods)]
    let found = unsafe { kern_path(name.as_ptr(), LOOKUP_FOLLOW, path.as_mut_ptr().cast()) };
    if found != 0 {
        return false;
    }
    // SAFETY: the successful kern_path() filled `path`; its references
    // are dropped once, here.
    unsafe { bindings::path_put(path.as_ptr()) };
    true
}

/// CPU hotplug held off while this lives, so that the CPUs that ran a
/// function can be compared with the CPUs counted online. Without
/// `CONFIG_HOTPLUG_CPU` no CPU comes or goes once modules can load.
pub(crate) struct HotplugLock {
    /// Not `Send`: the task that took the lock releases it, as with the
    /// kernel crate's lock guards.
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl HotplugLock {
    /// Takes the CPU hotplug lock for reading; sleeps. Only module init
    /// calls it, in process context.
    pub(crate) fn new() -> Self {
        #[cfg(CONFIG_HOTPLUG_CPU)]
        {
            // SAFETY: callers run in process context, where the hotplug
            // lock may be taken; `drop` releases it.
            unsafe { cpus_read_lock() };
        }
        Self {
            _not_send: core::marker::PhantomData,
        }
    }

    /// `num_online_cpus()`, which cannot change while the lock is held.
    pub(crate) fn online_cpus(&self) -> u32 {
        // SAFETY: `__num_online_cpus` is a static that lives as long as the
        // kernel, aligned, and written only atomically: this volatile read
        // is C's `num_online_cpus()`, an inline `atomic_read()`.
        let online =
            unsafe { core::ptr::addr_of!(bindings::__num_online_cpus.counter).read_volatile() };
        u32::try_from(online).unwrap_or(0)
    }

    /// Runs `func(info)` on every online CPU at once, with interrupts off
    /// (in IPI context on the others, in this task on this CPU), and
    /// returns once every CPU has finished with it. Process context only,
    /// interrupts on, as for the lock.
    ///
    /// # Safety
    ///
    /// `func` must be safe to run with interrupts off, in IPI context, with
    /// `info`, on every CPU at once.
    pub(crate) unsafe fn on_each_online_cpu(
        &self,
        func: unsafe extern "C" fn(*mut c_void),
        info: *mut c_void,
    ) {
        // SAFETY: the caller vouches for `func` with `info`; with wait =
        // true the call returns after every CPU has finished with them.
        unsafe {
            bindings::on_each_cpu_cond_mask(
                None,
                Some(func),
                info,
                true,
                core::ptr::addr_of!(bindings::__cpu_online_mask),
            )
        };
    }
}

impl Drop for HotplugLock {
    fn drop(&mut self) {
        #[cfg(CONFIG_HOTPLUG_CPU)]
        {
            // SAFETY: taken by `new`.
            unsafe { cpus_read_unlock() };
        }
    }
}

/// Marks the kernel as having run a test module (`TAINT_TEST`), as
/// tools/testing/selftests/kselftest_module.h does.
pub(crate) fn taint_test() {
    // SAFETY: add_taint() may be called from any context.
    unsafe { bindings::add_taint(bindings::TAINT_TEST, bindings::lockdep_ok_LOCKDEP_STILL_OK) };
}

// What CPUs running a function in IPI context count together. 7.x's kernel
// crate has the LKMM's atomics (`kernel::sync::atomic`, since 6.18), which
// in-tree Rust uses; 6.12's has none, and there core's stand in, with the
// same names and calls. Relaxed either way: the counts are read only after
// every CPU has finished (`on_each_online_cpu()` waits for them), and
// nothing is ordered by them.
#[cfg(kernel_sync_atomic)]
pub(crate) use kernel::sync::atomic::ordering::Relaxed;
#[cfg(kernel_sync_atomic)]
pub(crate) type AtomicU32 = kernel::sync::atomic::Atomic<u32>;
#[cfg(kernel_sync_atomic)]
pub(crate) type AtomicU64 = kernel::sync::atomic::Atomic<u64>;
#[cfg(not(kernel_sync_atomic))]
pub(crate) use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
