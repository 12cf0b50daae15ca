// SPDX-License-Identifier: GPL-2.0

//! `module!` with `params:`, on every tree this project supports.
//!
//! `module!` takes `authors:` and `params:` since 7.1 (rust/kernel/
//! module_param.rs); 6.12's takes a single `author:` and no parameters.
//! [`module_with_params!`] takes 7.3's syntax and, where the tree's macro
//! has parameters (Kbuild passes `--cfg module_params_macro`), hands it over
//! untouched. Elsewhere it gives the older `module!` what it understands and
//! emits the rest itself, as `module_param(name, bool, 0)` does in C: a
//! `struct kernel_param` in the `__param` section, which the module loader
//! parses before `init` runs, and the `parmtype`/`parm` modinfo strings that
//! `modinfo` shows. Either way the module reads a parameter as
//! `module_parameters::NAME.value()`.
//!
//! The fallback covers what the modules here need, and no more: `bool`
//! parameters, one author, a loadable module (not built in), permissions 0
//! (no sysfs file, so a parameter never changes after load).

#[cfg(module_params_macro)]
macro_rules! module_with_params {
    ($($fields:tt)*) => {
        ::kernel::prelude::module! { $($fields)* }
    };
}

// Every field is matched as `tt`: a `literal` or `ident` fragment would
// reach 6.12's hand-written `module!` parser wrapped in an invisible group.
#[cfg(not(module_params_macro))]
macro_rules! module_with_params {
    (
        type: $type:tt,
        name: $name:tt,
        authors: [$author:tt],
        description: $description:tt,
        license: $license:tt,
        params: {
            $($param:ident: bool {
                default: $default:tt,
                description: $param_description:tt,
            },)*
        },
    ) => {
        ::kernel::prelude::module! {
            type: $type,
            name: $name,
            author: $author,
            description: $description,
            license: $license,
        }

        mod module_parameters {
            $(
                #[allow(non_upper_case_globals)]
                pub(crate) static $param: $crate::module_params::BoolParam =
                    $crate::module_params::BoolParam::new($default);

                const _: () = {
                    use $crate::module_params::{modinfo, KernelParam};

                    #[link_section = "__param"]
                    #[used]
                    static PARAM: KernelParam = KernelParam::new(
                        concat!(stringify!($param), "\0"),
                        &$param,
                    );

                    const PARMTYPE: &str = concat!("parmtype=", stringify!($param), ":bool\0");
                    #[link_section = ".modinfo"]
                    #[used]
                    static MODINFO_PARMTYPE: [u8; PARMTYPE.len()] = modinfo(PARMTYPE);

                    const PARM: &str =
                        concat!("parm=", stringify!($param), ":", $param_description, "\0");
                    #[link_section = ".modinfo"]
                    #[used]
                    static MODINFO_PARM: [u8; PARM.len()] = modinfo(PARM);
                };
            )*
        }
    };
}

// The benchmark module has no parameters: it uses none of this.
#[cfg(not(module_params_macro))]
#[allow(unused_imports)]
pub(crate) use fallback::*;

#[cfg(not(module_params_macro))]
#[allow(dead_code)]
mod fallback {
    use core::cell::UnsafeCell;
    use kernel::bindings;

    /// A `bool` module parameter, as C's `param_ops_bool` reads and writes
    /// it: one byte, 0 or 1.
    #[repr(transparent)]
    pub(crate) struct BoolParam(UnsafeCell<bool>);

    // SAFETY: the loader writes a parameter (through `param_ops_bool`, with
    // 0 or 1) only while it parses the arguments, before `init` runs and
    // before anything else can see the module; with permissions 0 there is
    // no sysfs file to write it later. After that it is only read.
    unsafe impl Sync for BoolParam {}

    impl BoolParam {
        pub(crate) const fn new(default: bool) -> Self {
            Self(UnsafeCell::new(default))
        }

        /// The value given at load time, or the default.
        pub(crate) fn value(&self) -> bool {
            // SAFETY: no write happens once `init` can run (see `Sync`).
            unsafe { *self.0.get() }
        }
    }

    /// `struct kernel_param`, made `Sync` to sit in a `static`.
    #[repr(transparent)]
    pub(crate) struct KernelParam(bindings::kernel_param);

    // SAFETY: only the module loader reads it, and nothing writes it.
    unsafe impl Sync for KernelParam {}

    impl KernelParam {
        /// The entry `module_param(name, bool, 0)` emits for `value`;
        /// `name` ends in a NUL.
        pub(crate) const fn new(name: &'static str, value: &'static BoolParam) -> Self {
            Self(bindings::kernel_param {
                name: name.as_ptr().cast(),
                // Taking the address of an extern static is safe (Rust 1.82);
                // the loader fills `__this_module` in.
                mod_: core::ptr::addr_of_mut!(bindings::__this_module),
                ops: core::ptr::addr_of!(bindings::param_ops_bool),
                perm: 0,
                level: -1,
                flags: 0,
                __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                    arg: value.0.get().cast(),
                },
            })
        }
    }

    /// A modinfo string (`key=value\0`) as the bytes `.modinfo` holds.
    pub(crate) const fn modinfo<const N: usize>(string: &str) -> [u8; N] {
        let bytes = string.as_bytes();
        let mut out = [0; N];
        let mut i = 0;
        while i < N {
            out[i] = bytes[i];
            i += 1;
        }
        out
    }
}
