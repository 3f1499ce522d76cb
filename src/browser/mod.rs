//! Browser adapters: the thin shell that executes what the core (`logic/`) decides, with fetch,
//! Web Storage, Web Locks, `BroadcastChannel`, timers and page events. No decisions live here.

pub mod client;
pub mod http;
pub mod lock;
pub mod page;
pub mod storage;
pub mod tabs;

use std::future::Future;
use std::pin::Pin;

/// A task for [`spawn`]: boxed, so that every task shares one type.
pub(crate) type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Runs `task` on the page's microtask queue. Every task goes through this one instantiation of
/// `spawn_local`: each distinct future type passed to it directly would add its own copy of the
/// executor glue to the wasm module.
pub(crate) fn spawn(task: Task) {
    wasm_bindgen_futures::spawn_local(task);
}
